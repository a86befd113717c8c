"""Rebuilding views from the log without downtime.

Each projection gets a fresh generation (new, empty tables) that is filled from the start of
the log in large batches while the active generation keeps answering queries and keeps
following the log. When the new generation has caught up, it is switched in: atomically, and
only if it is at least as far as the one it replaces, so no query ever sees the view go back.
While the log keeps growing the rebuild chases it; the switch is refused until it is there.

A long rebuild splits the views into groups, one per CPU, each rebuilt by a worker process of
its own that reads the log itself and switches its views in: folding events into views is
Python, and one process can use one CPU only. The groups are balanced by what each projection
costs to apply (`Projection.rebuild_cost`); the audit trail, the largest view, is a group on
its own on two CPUs. The workers write the same store: each batch is still applied in one
transaction with its tracking position, folded before the transaction (`ViewStore`), so
SQLite's one writer at a time queues their writes only. A short rebuild is not worth starting
a process for: it runs here, applying on a thread while the next batch is read.

The log is read through an ephemeral pull consumer, one pull a batch, on a raw connection of
the rebuild's own (`adapters.jetstream.wire`; through nats-py where that cannot connect),
rather than with the batched direct gets a follower uses: those carry four `Nats-` headers
on every message, while a consumer delivers each event with its own headers only and its
stream sequence in the reply subject. A pull, not a push consumer, so the log is read no
faster than the views are applied; each pull asks with `no_wait`, so it ends at the log's
head as it is at that moment.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client

from adapters.jetstream.log import StreamLog
from adapters.jetstream.reader import StreamReader
from adapters.jetstream.wire import WireReader, WireUnavailable
from adapters.views.base import ViewStore
from adapters.views.errors import GenerationBehind, ProjectionFailed
from adapters.views.follower import Row, logged_from_row, row_of_headers
from projections.view import Projection

logger = logging.getLogger(__name__)

BATCH = 25_000  # events per transaction: large batches are what make a rebuild fast
MAX_SWITCH_ATTEMPTS = 50
# The first batches are smaller, growing to `batch_size`: the views start applying at once
# instead of waiting for a whole large batch to be read.
FIRST_BATCH = 2_000
# From this many events in the log, worker processes pay for their start (about a second).
WORKER_FROM_EVENTS = 50_000
# A rebuild allocates millions of objects that live until its end (the documents it keeps):
# at Python's default threshold the collector would walk them again and again.
GC_THRESHOLD = (100_000, 50, 100)
# Documents a worker keeps between batches, per projection: all of them, so that no batch
# reads the database and every batch is folded outside the write transaction.
WORKER_CACHE_LIMIT = 5_000_000


@dataclass
class Progress:
    position: int  # the last event applied to every new generation
    head: int  # the last event in the log when last looked
    events: int  # events applied so far
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def remaining_seconds(self) -> float | None:
        return (self.head - self.position) / self.rate if self.rate else None


async def rebuild(connection: Client, event_stream: str, store: ViewStore,
                  projections: Sequence[Projection],
                  on_progress: Callable[[Progress], None] = lambda _: None,
                  batch_size: int = BATCH, worker: bool | None = None,
                  workers: int | None = None) -> dict[str, int]:
    """Rebuilds `projections` into new generations and switches to them; returns them.

    `worker`: rebuild in worker processes (None: when the log holds `WORKER_FROM_EVENTS`);
    `workers`: how many (None: one per CPU, at most one per projection)."""
    log = StreamLog(connection, event_stream, request_timeout=30)
    await log.start()
    generations = {p.name: await asyncio.to_thread(store.start_generation, p.name)
                   for p in projections}
    if worker is None:
        worker = await _head(log, event_stream, 0) >= WORKER_FROM_EVENTS
    recipe = connection_recipe(connection) if worker else None
    started = time.monotonic()
    switched: set[str] = set()

    def report(position: int, head: int, applied: int) -> None:
        on_progress(Progress(position, head, applied, time.monotonic() - started))

    try:
        if recipe is None:
            await rebuild_group(connection, event_stream, store, projections, generations,
                                batch_size, report, switched.add)
        else:
            groups = balanced_groups(projections, workers or os.cpu_count() or 1)
            await _in_workers(recipe, event_stream, store, groups, generations, batch_size,
                              report, switched.add)
    except BaseException:
        for projection in projections:
            if projection.name not in switched:
                await asyncio.to_thread(_abandon, store, projection.name,
                                        generations[projection.name])
        raise
    return generations


async def rebuild_group(connection: Client, event_stream: str, store: ViewStore,
                        projections: Sequence[Projection], generations: dict[str, int],
                        batch_size: int, on_batch: Callable[[int, int, int], None],
                        on_switched: Callable[[str], None]) -> None:
    """Fills the new generations of `projections` from the log, chasing its head, and
    switches each in once it has caught up."""
    log = StreamLog(connection, event_stream, request_timeout=30)
    await log.start()
    reader = await open_reader(connection, event_stream)
    switched: set[str] = set()
    applied, attempts = 0, 0
    try:
        with _fewer_collections():
            size = min(FIRST_BATCH, batch_size)
            pending = asyncio.ensure_future(read_rows(reader, size))
            while len(switched) < len(projections):
                rows = await pending
                if rows:
                    # Read the next batch while this one is applied (its SQL lets go of
                    # the interpreter).
                    size = min(size * 4, batch_size)
                    pending = asyncio.ensure_future(read_rows(reader, size))
                    await asyncio.to_thread(_apply, store, projections, generations, rows)
                    applied += len(rows)
                    position = rows[-1][0]
                    on_batch(position, await _head(log, event_stream, position), applied)
                    continue
                # Caught up with the log as it was a moment ago: try to switch each view.
                attempts += 1
                for projection in projections:
                    if projection.name in switched:
                        continue
                    try:
                        await asyncio.to_thread(store.switch, projection.name,
                                                generations[projection.name])
                    except GenerationBehind:
                        if attempts >= MAX_SWITCH_ATTEMPTS:
                            raise
                        continue
                    switched.add(projection.name)
                    on_switched(projection.name)
                pending = asyncio.ensure_future(read_rows(reader, size))
            pending.cancel()
    finally:
        await reader.close()


async def open_reader(connection: Client, event_stream: str) -> WireReader | StreamReader:
    """A reader of every event from the start: on a raw connection of its own where it can
    (a fifth of nats-py's CPU an event), through nats-py where it cannot (TLS, nkeys)."""
    subject = f"{event_stream}.events.>"
    wire = WireReader(connection, event_stream, timeout=30, subject=subject)
    try:
        await wire.start(after=0)
        return wire
    except WireUnavailable as why:
        logger.info("rebuild: reading the log through nats-py (%s)", why)
    reader = StreamReader(connection, event_stream, timeout=30, subject=subject)
    await reader.start(after=0)
    return reader


async def read_rows(reader: WireReader | StreamReader, limit: int) -> list[Row]:
    """The next events as rows (decoded later, in the applier): at most `limit`."""
    if isinstance(reader, WireReader):
        return await reader.read_rows(limit)
    return [row_of_headers(message.sequence, message.headers, message.body)
            for message in await reader.read(limit)]


def _apply(store: ViewStore, projections: Sequence[Projection], generations: dict[str, int],
           rows: list[Row]) -> None:
    batch = [logged_from_row(row) for row in rows]
    for projection in projections:
        store.apply_batch(projection, batch, generation=generations[projection.name])


@contextmanager
def _fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(before, GC_THRESHOLD)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def balanced_groups(projections: Sequence[Projection], count: int) -> list[list[Projection]]:
    """At most `count` groups of about the same cost: the costliest projection first, each
    into the cheapest group so far. Groups keep the projections' own order."""
    count = max(1, min(count, len(projections)))
    groups: list[list[Projection]] = [[] for _ in range(count)]
    costs = [0.0] * count
    for projection in sorted(projections, key=lambda p: -p.rebuild_cost):
        cheapest = costs.index(min(costs))
        groups[cheapest].append(projection)
        costs[cheapest] += projection.rebuild_cost
    order = {projection.name: n for n, projection in enumerate(projections)}
    return [sorted(group, key=lambda p: order[p.name]) for group in groups if group]


# Worker processes.

def connection_recipe(connection: Client) -> dict[str, Any] | None:
    """How a worker process connects as `connection` did (URL, user and password or token,
    inbox prefix); None when that cannot be handed to another process (TLS contexts,
    credentials files, nkeys, callbacks): the rebuild then runs in this process."""
    options, server = connection.options, connection.connected_url
    if server is None or server.scheme != "nats" or options.get("tls") is not None or any(
            getattr(connection, name, None) for name in (
                "_user_credentials", "_nkeys_seed", "_nkeys_seed_str", "_signature_cb",
                "_user_jwt_cb")):
        return None
    return {"servers": [server.geturl()], "user": options.get("user"),
            "password": options.get("password"), "token": options.get("token"),
            "inbox_prefix": bytes(connection._inbox_prefix).decode(),
            "name": "onestop-rebuild"}


async def _in_workers(recipe: dict[str, Any], event_stream: str, store: ViewStore,
                      groups: list[list[Projection]], generations: dict[str, int],
                      batch_size: int, on_batch: Callable[[int, int, int], None],
                      on_switched: Callable[[str], None]) -> None:
    """Runs a worker process per group; reports the progress of the slowest."""
    context = multiprocessing.get_context("spawn")  # this process runs threads and loops
    workers = []
    for number, group in enumerate(groups):
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_work, name=f"onestop-rebuild-{number + 1}", daemon=True,
            args=(theirs, recipe, event_stream, store, group,
                  {p.name: generations[p.name] for p in group}, batch_size))
        workers.append((process, ours, theirs))
    progress: list[tuple[int, int, int] | None] = [None] * len(groups)

    async def follow(number: int, process, connection) -> None:
        while True:
            try:
                message = await asyncio.to_thread(connection.recv)
            except EOFError:
                await asyncio.to_thread(process.join, 5)
                raise RuntimeError(f"rebuild worker {process.name} died (exit code "
                                   f"{process.exitcode})") from None
            kind = message[0]
            if kind == "batch":
                progress[number] = message[1:]
                if all(progress):
                    on_batch(min(p[0] for p in progress), max(p[1] for p in progress),
                             min(p[2] for p in progress))
            elif kind == "switched":
                on_switched(message[1])
            elif kind == "done":
                return
            elif kind == "failed":
                _, name, generation, failure = message
                raise ProjectionFailed(name, generation, failure)
            else:
                raise RuntimeError(f"rebuild worker {process.name} failed: {message[1]}")

    try:
        for process, _ours, theirs in workers:
            process.start()
            theirs.close()
        tasks = [asyncio.ensure_future(follow(number, process, ours))
                 for number, (process, ours, _theirs) in enumerate(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
    finally:
        for process, ours, _theirs in workers:
            if process.pid is not None:  # started
                if process.is_alive():
                    process.kill()  # a failed or cancelled rebuild: the others stop too
                await asyncio.to_thread(process.join)
            ours.close()


def _work(connection, recipe: dict[str, Any], event_stream: str, store: ViewStore,
          projections: list[Projection], generations: dict[str, int], batch_size: int) -> None:
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the rebuild
    gc.freeze()  # what importing made lives as long as the process
    store.cache_limit = WORKER_CACHE_LIMIT
    try:
        store.open(projections)
        asyncio.run(_work_on(connection, recipe, event_stream, store, projections,
                             generations, batch_size))
        connection.send(("done",))
    except ProjectionFailed as failed:
        connection.send(("failed", failed.name, failed.generation, failed.failure))
    except Exception as error:  # noqa: BLE001 - handed to the rebuild, raised there
        connection.send(("error", "".join(traceback.format_exception(error)).strip()))
    finally:
        store.close()


async def _work_on(connection, recipe: dict[str, Any], event_stream: str, store: ViewStore,
                   projections: list[Projection], generations: dict[str, int],
                   batch_size: int) -> None:
    nats_connection = await nats.connect(**recipe, allow_reconnect=False)
    try:
        await rebuild_group(
            nats_connection, event_stream, store, projections, generations, batch_size,
            lambda position, head, applied: connection.send(
                ("batch", position, head, applied)),
            lambda name: connection.send(("switched", name)))
    finally:
        await nats_connection.close()


def _abandon(store: ViewStore, name: str, generation: int) -> None:
    try:
        store.abandon_generation(name, generation)
    except Exception:  # noqa: BLE001 - already switched in, or already gone
        pass


async def _head(log: StreamLog, event_stream: str, at_least: int) -> int:
    last = await log.last(f"{event_stream}.events.>")
    return max(at_least, last.sequence if last else 0)
