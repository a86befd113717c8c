"""`onestop bench <what>`: benchmarks that print figures beside a reference measured in the
same run. Each benchmark is a module with `main(argv)`; the rest of the line is its own."""

from __future__ import annotations

import argparse
from importlib import import_module

HELP = "measure throughput and latency beside a reference measured in the same run"
BENCHMARKS = {
    "store": "bench.event_store",
    "bus": "bench.command_path",
    "views": "bench.view_queries",
    "audit": "bench.chain_verify",
    "feeds": "bench.feed_backlog",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    parser.add_argument("options", nargs=argparse.REMAINDER,
                        help="options of that benchmark (see `onestop bench store --help`)")


def run(args: argparse.Namespace) -> int:
    # Imported when run, not with the command line: the benchmarks import most of the
    # project, which made every `onestop` start a third of a second slower.
    return import_module(BENCHMARKS[args.benchmark]).main(args.options)
