"""argparse for people at a terminal: a bad argument gets one line, not the usage block."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_BAD_ARGUMENT = 2  # argparse's own


class OneLineParser(argparse.ArgumentParser):
    """Says what is wrong and where to read more, in one line on stderr; exit 2. Its
    subcommands' parsers are of the same kind (argparse makes them of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_ARGUMENT)
