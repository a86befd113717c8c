"""`onestop asyncapi [--output FILE]`: the published contract of the bus, as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "print the AsyncAPI 3 document of every subject on the bus (or write it to a file)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the document to FILE instead of printing it")


def run(args: argparse.Namespace) -> int:
    # Imported here: building the document loads the domain, which `onestop up --help` needn't.
    from bus.contract.asyncapi import build, render

    text = render(build())
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"onestop: wrote {args.output}", file=sys.stderr)
    return 0
