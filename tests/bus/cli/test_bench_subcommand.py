"""`onestop bench <what>` runs each benchmark of bench/ (imported only when run, so the
import contracts cannot see the table: this test does)."""

from __future__ import annotations

from importlib import import_module

from bus.cli.bench import BENCHMARKS


def test_every_benchmark_named_is_a_module_of_bench_with_a_main():
    assert sorted(BENCHMARKS) == ["audit", "bus", "store", "views"]
    for module in BENCHMARKS.values():
        assert module.startswith("bench.")
        assert callable(import_module(module).main), module
