"""`python -m bus.cli`: the `onestop` console script, for a tree that was never installed."""

import sys

from bus.cli.main import main

sys.exit(main())
