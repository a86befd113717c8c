"""`onestop bench <what>`: benchmarks that print figures beside a reference measured in the
same run. Each benchmark is a module with `main(argv)`; the rest of the line is its own."""

from __future__ import annotations

import argparse

from bench import chain_verify, command_path, event_store, view_queries

HELP = "measure throughput and latency beside a reference measured in the same run"
BENCHMARKS = {
    "store": event_store,
    "bus": command_path,
    "views": view_queries,
    "audit": chain_verify,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    parser.add_argument("options", nargs=argparse.REMAINDER,
                        help="options of that benchmark (see `onestop bench store --help`)")


def run(args: argparse.Namespace) -> int:
    return BENCHMARKS[args.benchmark].main(args.options)
