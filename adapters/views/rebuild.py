"""Rebuilding views from the log without downtime.

Each projection gets a fresh generation (new, empty tables) that is filled from the start of
the log in large batches while the active generation keeps answering queries and keeps
following the log. When the new generation has caught up, it is switched in: atomically, and
only if it is at least as far as the one it replaces, so no query ever sees the view go back.
While the log keeps growing the rebuild chases it; the switch is refused until it is there.

A long rebuild applies its batches in a worker process of its own, with its own connection to
the store, while this process reads the next batch from the log: reading (nats-py) and
applying (the projections and the database) each take most of a CPU, and one process can use
only one. Each batch is still applied in one transaction with its tracking position. A short
rebuild is not worth starting a process for: it applies on a thread here.

The log is read through an ephemeral pull consumer (`adapters.jetstream.reader`), one pull
a batch, rather than with the batched direct gets a follower uses: those carry four `Nats-`
headers on every message, which nats-py parses, while a consumer delivers each event with its
own headers only and its stream sequence in the reply subject. A pull, not a push consumer, so the log is read no faster than
the views are applied; each pull asks with `no_wait`, so it ends at the log's head as it is at
that moment.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from nats.aio.client import Client

from adapters.jetstream.log import StreamLog
from adapters.jetstream.reader import StreamReader
from adapters.views.base import ViewStore
from adapters.views.errors import GenerationBehind, ProjectionFailed
from adapters.views.follower import Row, logged_from_row, row_of_headers
from projections.view import Projection

BATCH = 25_000  # events per transaction: large batches are what make a rebuild fast
MAX_SWITCH_ATTEMPTS = 50
# The first batches are smaller, growing to `batch_size`: the views start applying at once
# instead of waiting for a whole large batch to be read.
FIRST_BATCH = 2_000
# From this many events in the log, a worker process pays for its start (about a second).
WORKER_FROM_EVENTS = 50_000
# A rebuild allocates millions of objects that live until its end (the documents it keeps):
# at Python's default threshold the collector would walk them again and again.
GC_THRESHOLD = (100_000, 50, 100)


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
                  batch_size: int = BATCH, worker: bool | None = None) -> dict[str, int]:
    """Rebuilds `projections` into new generations and switches to them; returns them.

    `worker`: apply in a worker process (None: when the log holds `WORKER_FROM_EVENTS`)."""
    log = StreamLog(connection, event_stream, request_timeout=30)
    await log.start()
    subject = f"{event_stream}.events.>"
    generations = {p.name: await asyncio.to_thread(store.start_generation, p.name)
                   for p in projections}
    started, applied, position = time.monotonic(), 0, 0
    switched: set[str] = set()
    if worker is None:
        worker = await _head(log, subject, 0) >= WORKER_FROM_EVENTS
    applier = (WorkerApplier(store, projections, generations) if worker
               else ThreadApplier(store, projections, generations))
    consumer = StreamReader(connection, event_stream, timeout=30, subject=subject)
    try:
        await consumer.start(after=position)
        with applier, _fewer_collections():
            size = min(FIRST_BATCH, batch_size)
            pending = asyncio.ensure_future(read_rows(consumer, size))
            attempts = 0
            while len(switched) < len(projections):
                rows = await pending
                if rows:
                    # Read the next batch while this one is applied.
                    size = min(size * 4, batch_size)
                    pending = asyncio.ensure_future(read_rows(consumer, size))
                    await applier.apply(rows)
                    applied += len(rows)
                    position = rows[-1][0]
                    head = await _head(log, subject, position)
                    on_progress(Progress(position, head, applied, time.monotonic() - started))
                    continue
                # Caught up with the log as it was a moment ago: try to switch each view.
                attempts += 1
                for projection in projections:
                    if projection.name in switched:
                        continue
                    try:
                        await asyncio.to_thread(store.switch, projection.name,
                                                generations[projection.name])
                        switched.add(projection.name)
                    except GenerationBehind:
                        if attempts >= MAX_SWITCH_ATTEMPTS:
                            raise
                pending = asyncio.ensure_future(read_rows(consumer, size))
            pending.cancel()
    except BaseException:
        for projection in projections:
            if projection.name not in switched:
                await asyncio.to_thread(_abandon, store, projection.name,
                                        generations[projection.name])
        raise
    finally:
        await consumer.close()
    return generations


async def read_rows(reader: StreamReader, limit: int) -> list[Row]:
    """The next events as rows (decoded later, in the applier): at most `limit`."""
    return [row_of_headers(message.sequence, message.headers, message.body)
            for message in await reader.read(limit)]


@contextmanager
def _fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(before, GC_THRESHOLD)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


class ThreadApplier:
    def __init__(self, store: ViewStore, projections: Sequence[Projection],
                 generations: dict[str, int]) -> None:
        self.store, self.projections, self.generations = store, projections, generations

    def __enter__(self) -> ThreadApplier:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    async def apply(self, rows: list[Row]) -> None:
        await asyncio.to_thread(_apply, self.store, self.projections, self.generations, rows)


def _apply(store: ViewStore, projections: Sequence[Projection], generations: dict[str, int],
           rows: list[Row]) -> None:
    batch = [logged_from_row(row) for row in rows]
    for projection in projections:
        store.apply_batch(projection, batch, generation=generations[projection.name])


class WorkerApplier:
    """Applies each batch in a worker process that opens the store again (stores pickle as
    how to open them) and keeps its documents cached from one batch to the next."""

    def __init__(self, store: ViewStore, projections: Sequence[Projection],
                 generations: dict[str, int]) -> None:
        context = multiprocessing.get_context("spawn")  # this process runs threads and loops
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_work, name="onestop-rebuild", daemon=True,
                                        args=(theirs, store, list(projections), generations))
        self._theirs = theirs

    def __enter__(self) -> WorkerApplier:
        self._process.start()
        self._theirs.close()
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._connection.send(None)
        except OSError:
            pass  # it is gone already
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._connection.close()

    async def apply(self, rows: list[Row]) -> None:
        await asyncio.to_thread(self._apply, rows)

    def _apply(self, rows: list[Row]) -> None:
        self._connection.send(rows)
        try:
            answer = self._connection.recv()
        except EOFError:
            raise RuntimeError(f"the rebuild worker died (exit code "
                               f"{self._process.exitcode})") from None
        if answer[0] == "failed":
            _, name, generation, failure = answer
            raise ProjectionFailed(name, generation, failure)
        if answer[0] == "error":
            raise answer[1]


def _work(connection, store: ViewStore, projections: list[Projection],
          generations: dict[str, int]) -> None:
    gc.freeze()  # what importing made lives as long as the process
    gc.set_threshold(*GC_THRESHOLD)
    store.open(projections)
    try:
        while (rows := connection.recv()) is not None:
            try:
                _apply(store, projections, generations, rows)
                connection.send(("applied",))
            except ProjectionFailed as failed:
                connection.send(("failed", failed.name, failed.generation, failed.failure))
            except Exception as error:  # noqa: BLE001 - handed to the rebuild, raised there
                connection.send(("error", RuntimeError(
                    f"the rebuild worker failed: "
                    f"{''.join(traceback.format_exception(error)).strip()}")))
    finally:
        store.close()


def _abandon(store: ViewStore, name: str, generation: int) -> None:
    try:
        store.abandon_generation(name, generation)
    except Exception:  # noqa: BLE001 - already switched in, or already gone
        pass


async def _head(log: StreamLog, subject: str, at_least: int) -> int:
    last = await log.last(subject)
    return max(at_least, last.sequence if last else 0)
