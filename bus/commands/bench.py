"""`onestop bench <what>`: benchmarks that print figures beside a reference measured in the
same run. Each benchmark is a module with `main(argv)`; the rest of the line is its own."""

from __future__ import annotations

import argparse

HELP = "measure throughput and latency beside a reference measured in the same run"
BENCHMARKS = {
    "store": "adapters.bench.store",
    "bus": "bus.bench_commands",
    "views": "bus.bench_views",
    "audit": "bus.bench_audit",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    parser.add_argument("options", nargs=argparse.REMAINDER,
                        help="options of that benchmark (see `onestop bench store --help`)")


def run(args: argparse.Namespace) -> int:
    from importlib import import_module

    return import_module(BENCHMARKS[args.benchmark]).main(args.options)
