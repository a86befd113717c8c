"""A long rebuild runs in worker processes, a group of views each: the same views as on a
thread; a view that fails there fails the rebuild; and the log is read on a raw connection
where one can be had, through nats-py where not."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys

import nats
import pytest

from adapters.jetstream.stream_reader import StreamReader
from adapters.jetstream.wire import WireReader, WireUnavailable
from adapters.views import ProjectionFailed, open_view_store
from adapters.views.rebuild import (
    balanced_groups,
    open_reader,
    read_rows,
    rebuild,
)
from adapters.views.rebuild_worker import apply_rows
from domain.application import OneStop
from projections import ALL_PROJECTIONS
from projections.logged import Logged
from projections.view import Projection, Table, Views, handles
from tests.domain.scenario import run_case_scenario
from tests.views_support import documents


def write_cases(url: str, stream: str, count: int) -> None:
    app = OneStop(env={"PERSISTENCE_MODULE": "adapters.jetstream", "NATS_URL": url,
                       "NATS_STREAM": stream,
                       "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder"})
    try:
        for _ in range(count):
            run_case_scenario(app)
    finally:
        app.close()


def rebuilt(url: str, stream: str, directory, worker: bool,
            workers: int | None = None) -> dict[str, list[str]]:
    store = open_view_store("", directory)
    store.open(ALL_PROJECTIONS)

    async def run() -> None:
        connection = await nats.connect(url)
        try:
            # Small batches, so the worker applies many and keeps documents between them.
            await rebuild(connection, stream, store, ALL_PROJECTIONS, batch_size=7,
                          worker=worker, workers=workers)
        finally:
            await connection.close()

    try:
        asyncio.run(run())
        return documents(store)
    finally:
        store.close()


def test_a_rebuild_in_a_worker_process_gives_the_same_views_as_on_a_thread(
        nats_url, unique_name, tmp_path):
    stream = unique_name()
    write_cases(nats_url, stream, 3)

    on_a_thread = rebuilt(nats_url, stream, tmp_path / "thread", worker=False)
    in_a_worker = rebuilt(nats_url, stream, tmp_path / "worker", worker=True)

    assert in_a_worker == on_a_thread
    assert sum(len(docs) for docs in on_a_thread.values()) > 20


def test_more_workers_than_cpus_give_the_same_views_too(nats_url, unique_name, tmp_path):
    stream = unique_name()
    write_cases(nats_url, stream, 2)

    on_a_thread = rebuilt(nats_url, stream, tmp_path / "thread", worker=False)
    in_three = rebuilt(nats_url, stream, tmp_path / "three", worker=True, workers=3)

    assert in_three == on_a_thread


class Poisoned(Projection):
    """Cannot apply a rating: a view with a bug that a rebuild finds."""

    name = "poisoned"
    tables = (Table("poisoned_counts"),)

    @handles("case.submitted", "case.rated")
    def _count(self, event: Logged, views: Views) -> None:
        if event.topic == "case.rated":
            raise ValueError("no idea what a rating is")
        count = views.get("poisoned_counts", "all") or {"n": 0}
        count["n"] += 1
        views.put("poisoned_counts", "all", count)


def rebuild_in_workers(url: str, stream: str, store, projections) -> None:
    async def run() -> None:
        connection = await nats.connect(url)
        try:
            await rebuild(connection, stream, store, projections, batch_size=7, worker=True)
        finally:
            await connection.close()

    asyncio.run(run())


def test_a_view_that_fails_in_a_worker_fails_the_rebuild_and_the_old_views_answer(
        nats_url, unique_name, tmp_path):
    stream = unique_name()
    write_cases(nats_url, stream, 1)
    projections = [*ALL_PROJECTIONS, Poisoned()]
    store = open_view_store("", tmp_path)
    store.open(projections)

    try:
        with pytest.raises(ProjectionFailed) as failed:
            rebuild_in_workers(nats_url, stream, store, projections)
        assert failed.value.name == "poisoned"
        assert failed.value.failure.topic == "case.rated"
        # The failed view answers from its old generation, its new one is gone; a view of
        # the other worker may have been switched in already (it was complete), and then
        # its old generation is gone. Every view has one generation, the active one.
        statuses = store.status()
        assert [(s.generation, s.active) for s in statuses if s.name == "poisoned"] == [
            (1, True)]
        assert sorted(s.name for s in statuses) == sorted(p.name for p in projections)
        assert all(s.active for s in statuses)
    finally:
        store.close()


def test_groups_are_balanced_by_what_each_view_costs():
    groups = balanced_groups(ALL_PROJECTIONS, 2)
    costs = [sum(projection.rebuild_cost for projection in group) for group in groups]
    # The two costliest views apart, and no group heavier than half the whole by more than
    # the cost of one of the small views.
    assert {"audit", "cases"} not in [{p.name for p in group} & {"audit", "cases"}
                                      for group in groups]
    assert max(costs) - sum(costs) / 2 <= sorted(p.rebuild_cost for p in ALL_PROJECTIONS)[3]
    assert [p.name for p in groups[0]] == [p.name for p in ALL_PROJECTIONS if p in groups[0]]
    assert len(balanced_groups(ALL_PROJECTIONS[:1], 4)) == 1  # never an empty group
    assert sum(map(len, balanced_groups(ALL_PROJECTIONS, 3))) == len(ALL_PROJECTIONS)


def test_the_log_is_read_through_nats_py_where_the_raw_connection_cannot_be(
        nats_url, unique_name, monkeypatch):
    stream = unique_name()
    write_cases(nats_url, stream, 1)

    async def rows(wire_works: bool) -> tuple[type, list]:
        if not wire_works:
            async def unavailable(self, after: int = 0) -> None:
                raise WireUnavailable("tls required")
            monkeypatch.setattr(WireReader, "start", unavailable)
        connection = await nats.connect(nats_url)
        try:
            reader = await open_reader(connection, stream)
            try:
                return type(reader), await read_rows(reader, 1000)
            finally:
                await reader.close()
        finally:
            await connection.close()

    wire_type, wire_rows = asyncio.run(rows(wire_works=True))
    fallback_type, fallback_rows = asyncio.run(rows(wire_works=False))
    assert (wire_type, fallback_type) == (WireReader, StreamReader)
    assert fallback_rows == wire_rows and len(wire_rows) > 10


def test_applying_a_rebuild_makes_no_reference_cycles(nats_url, unique_name, tmp_path):
    # The workers never collect cycles (`rebuild_worker.work`): a cycle made per event would
    # be memory that a long rebuild never gets back.
    stream = unique_name()
    write_cases(nats_url, stream, 2)

    async def read_all() -> list:
        connection = await nats.connect(nats_url)
        try:
            reader = await open_reader(connection, stream)
            try:
                return await read_rows(reader, 10_000)
            finally:
                await reader.close()
        finally:
            await connection.close()

    rows = asyncio.run(read_all())
    store = open_view_store("", tmp_path)
    store.open(ALL_PROJECTIONS)
    generations = {p.name: store.start_generation(p.name) for p in ALL_PROJECTIONS}
    gc.collect()
    gc.disable()
    try:
        for start in range(0, len(rows), 7):  # batches: documents kept from one to the next
            apply_rows(store, ALL_PROJECTIONS, generations, rows[start:start + 7])
        assert gc.collect() == 0
    finally:
        gc.enable()
        store.close()
    assert len(rows) > 20


def test_a_worker_imports_neither_the_domain_nor_the_nats_client():
    # It starts while the rebuild makes its tables only if it imports little.
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, adapters.views.rebuild_worker, projections; "
                               "print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert "adapters.views.rebuild_worker" in imported
    assert [name for name in imported if name.split(".")[0] in ("domain", "nats", "bus",
                                                                "faststream", "pydantic")] == []


class Fatal(Projection):
    """Ends the process that applies a rating: a worker that dies (out of memory, killed)."""

    name = "fatal"
    tables = (Table("fatal_counts"),)

    @handles("case.rated")
    def _end(self, event: Logged, views: Views) -> None:
        os._exit(3)


def test_a_worker_that_dies_fails_the_rebuild_with_its_exit_code(
        nats_url, unique_name, tmp_path):
    stream = unique_name()
    write_cases(nats_url, stream, 1)
    projections = [*ALL_PROJECTIONS, Fatal()]
    store = open_view_store("", tmp_path)
    store.open(projections)

    try:
        with pytest.raises(RuntimeError, match=r"rebuild worker onestop-rebuild-\d died "
                                               r"\(exit code 3\)"):
            rebuild_in_workers(nats_url, stream, store, projections)
        fatal = [(s.generation, s.active) for s in store.status() if s.name == "fatal"]
        assert fatal == [(1, True)]  # its new generation abandoned, the old one answers
    finally:
        store.close()
