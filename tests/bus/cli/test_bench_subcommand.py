"""`onestop bench <what>` runs each benchmark of bench/ (imported only when run, so the
import contracts cannot see the table: this test does); and the references the store's
benchmark measures its loads against."""

from __future__ import annotations

import asyncio
from importlib import import_module
from uuid import uuid4

import nats
from eventsourcing.application import Application

from adapters.natsserver import free_port
from bench.event_store import Counter, select_times, server_send_times
from bus.cli.bench import BENCHMARKS


def test_every_benchmark_named_is_a_module_of_bench_with_a_main():
    assert sorted(BENCHMARKS) == ["audit", "bus", "feeds", "store", "views"]
    for module in BENCHMARKS.values():
        assert module.startswith("bench.")
        assert callable(import_module(module).main), module


# The references `onestop bench store` prints beside the loads.

def test_the_servers_sending_of_each_aggregate_is_timed_on_a_plain_socket(nats_url,
                                                                          unique_name):
    stream = unique_name("SENT")
    sizes = {3: uuid4(), 40: uuid4()}

    async def write() -> None:
        connection = await nats.connect(nats_url)
        try:
            await connection.jetstream().add_stream(name=stream, subjects=[f"{stream}.>"],
                                                    allow_direct=True)
            for size, aggregate_id in sizes.items():
                for number in range(size):
                    await connection.jetstream().publish(f"{stream}.events.{aggregate_id}",
                                                         b"{}", headers={"n": str(number)})
        finally:
            await connection.close()

    asyncio.run(write())
    timings = server_send_times(nats_url, stream, sizes, repeats=3)
    assert timings is not None and sorted(timings) == [3, 40]
    assert all(milliseconds > 0 for milliseconds in timings.values())


def test_no_server_to_connect_to_gives_no_sending_times():
    assert server_send_times(f"nats://127.0.0.1:{free_port()}", "S", {1: uuid4()}, 1) is None


def test_a_recorders_select_is_timed_from_a_new_application(tmp_path):
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
           "SQLITE_DBNAME": str(tmp_path / "select.db")}
    app = Application(env=env)
    counter = Counter()
    for _ in range(9):
        counter.increment()
    app.save(counter)
    app.close()
    timings = select_times(env, {10: counter.id}, repeats=2)  # asserts that it found 10
    assert list(timings) == [10] and timings[10] > 0


def test_the_feeds_benchmark_sends_the_same_messages_three_ways(capsys):
    assert import_module("bench.feed_backlog").main(["--events", "600"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line[:38].strip(): line[38:].split() for line in lines[2:]}
    assert list(rows) == ["onestop feeds, atomic batches", "reference: the same, one at a time",
                          "raw JetStream, atomic batches"]
    counts = {row[0] for row in rows.values()}
    assert len(counts) == 1 and int(counts.pop().replace(",", "")) > 600  # several feeds each
    assert rows["raw JetStream, atomic batches"][-1] == "100%"
