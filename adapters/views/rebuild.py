"""Rebuilding views from the log without downtime.

Each projection gets a fresh generation (new, empty tables) that is filled from the start of
the log in large batches while the active generation keeps answering queries and keeps
following the log. When the new generation has caught up, it is switched in: atomically, and
only if it is at least as far as the one it replaces, so no query ever sees the view go back.
While the log keeps growing the rebuild chases it; the switch is refused until it is there.

A long rebuild applies its batches in worker processes, one per CPU, each with a group of
views balanced by what they cost to apply (`Projection.rebuild_cost`): folding events into
views is Python, and one process can use one CPU only. This process reads the log once,
hands every batch to every worker (as `marshal` bytes: the rows are plain tuples) and reads
the next while they apply (`rebuild_worker.py` is what a worker runs).
The workers write the same store. Each keeps its new generations' documents in memory and
writes only the rows of write-only tables batch by batch; once caught up, it writes every
document once, with the position, and makes the indexes (`ViewStore.apply_deferred`, `flush`):
a large batch had rewritten most documents the batches before it wrote. A short rebuild is not
worth starting processes for: it applies on a thread here, the same way.

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
import gc
import logging
import marshal
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

from nats.aio.client import Client

from adapters.children import Child, start_worker
from adapters.integrity.seal import PASSED_OVER, Seal, SealedStream
from adapters.jetstream.log import StreamLog
from adapters.jetstream.stream_reader import StreamReader
from adapters.jetstream.wire import WireReader, WireUnavailable
from adapters.views.failures import GenerationBehind, ProjectionFailed
from adapters.views.log_rows import row_of_headers
from adapters.views.rebuild_worker import APPLY, FINISH, apply_rows, finish
from adapters.views.rows import Row
from adapters.views.view_store import ViewStore
from projections.logged import current_versions
from projections.view import Projection

logger = logging.getLogger(__name__)

BATCH = 25_000  # events per transaction: large batches are what make a rebuild fast
MAX_SWITCH_ATTEMPTS = 50
FIRST_BATCH = 2_000  # the first batch; each next one four times as large, up to `batch_size`
# From this many events in the log, worker processes pay for their start (a tenth of a second
# or so): every view over 20,000 events took 0.52 s in workers, 0.71 s on a thread; over
# 4,000, 0.18 s and 0.16 s.
WORKER_FROM_EVENTS = 10_000
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
                  batch_size: int = BATCH, worker: bool | None = None,
                  workers: int | None = None, seal: Seal | None = None) -> dict[str, int]:
    """Rebuilds `projections` into new generations and switches to them; returns them.

    `worker`: apply in worker processes (None: when the log holds `WORKER_FROM_EVENTS`);
    `workers`: how many (None: one per CPU, at most one per projection); `seal`: the
    services' seal key, to pass over the messages they did not write (seal.py)."""
    log = StreamLog(connection, event_stream, request_timeout=30, seal=seal)
    await log.start()
    if worker is None:
        worker = await _head(log, event_stream, 0) >= WORKER_FROM_EVENTS
    applier = (WorkerApplier(store, balanced_groups(projections, workers or os.cpu_count()
                                                    or 1))
               if worker else ThreadApplier(store, projections))
    started = time.monotonic()
    generations: dict[str, int] = {}
    switched: set[str] = set()
    feed = _LogFeed(connection, event_stream, min(FIRST_BATCH, batch_size), batch_size,
                    log.sealed)
    try:
        with applier, _fewer_collections():
            # The workers start (each a new interpreter importing the projections), the
            # tables are made and the first batch is read (`feed`), all at once: each in
            # turn had taken a twentieth of a rebuild of 200,000 events.
            await _all(applier.start(), _start_generations(store, projections, generations))
            applier.begin(generations)
            attempts = 0
            while len(switched) < len(projections):
                rows = await feed.next()
                if rows:
                    position, applied = await applier.apply(rows)
                    head = await _head(log, event_stream, rows[-1][0])
                    on_progress(Progress(position, head, applied, time.monotonic() - started))
                    continue
                # Caught up with the log as it was a moment ago: once every view has applied
                # all it was given (and the first time, written its documents and made its
                # indexes), try to switch each.
                if attempts == 0:
                    await applier.finish()
                position, applied = await applier.drain()
                on_progress(Progress(position, position, applied, time.monotonic() - started))
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
                feed.read_on()
    except BaseException:
        for name, generation in generations.items():
            if name not in switched:
                await asyncio.to_thread(_abandon, store, name, generation)
        raise
    finally:
        await feed.close()
    return {projection.name: generations[projection.name] for projection in projections}


class _LogFeed:
    """The log, read a batch ahead of the views: the next batch is read while one is
    applied. Opened, and its first batch read, from the moment it is made."""

    def __init__(self, connection: Client, event_stream: str, first: int,
                 largest: int, sealed: SealedStream | None = None) -> None:
        # The first batches are smaller, growing to `largest`: the views start applying at
        # once instead of waiting for a whole large batch to be read.
        self.size, self.largest = first, largest
        self.sealed = sealed
        self.reader: WireReader | StreamReader | None = None
        self._next: asyncio.Future[list[Row]] | None = asyncio.ensure_future(
            self._open_and_read(connection, event_stream))

    async def _open_and_read(self, connection: Client, event_stream: str) -> list[Row]:
        self.reader = await open_reader(connection, event_stream)
        return await read_rows(self.reader, self.size, self.sealed)

    async def next(self) -> list[Row]:
        """The next batch; empty at the log's head as it was when it was read. Unless it
        is empty, the one after it is being read when this returns."""
        assert self._next is not None, "read_on() after an empty batch"
        rows = await self._next
        self._next = None
        if rows:
            self.size = min(self.size * 4, self.largest)
            self.read_on()
        return rows

    def read_on(self) -> None:
        """Reads on from where the last batch ended (after an empty one: the log grew)."""
        self._next = asyncio.ensure_future(read_rows(self.reader, self.size, self.sealed))

    async def close(self) -> None:
        if self._next is not None and not self._next.done():
            self._next.cancel()  # the read after the last batch, or one a failure cut short
        if self._next is not None:
            await asyncio.gather(self._next, return_exceptions=True)
        if self.reader is not None:
            await self.reader.close()


async def _all(*steps: Awaitable[object]) -> None:
    """Runs `steps` together and waits for every one, raising the first failure once all
    are done: none is left running (a process starting, a table being made) meanwhile."""
    for outcome in await asyncio.gather(*steps, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


async def _start_generations(store: ViewStore, projections: Sequence[Projection],
                             generations: dict[str, int]) -> None:
    """Makes every projection's new generation, side by side (in SQLite, a file each), with
    the tables' keys and not their other indexes: those are made once the tables are full.
    Each one made is put in `generations` at once, so that it is abandoned if another fails."""
    async def start(name: str) -> None:
        generations[name] = await asyncio.to_thread(store.start_generation, name,
                                                    indexed=False)

    await _all(*(start(projection.name) for projection in projections))


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


async def read_rows(reader: WireReader | StreamReader, limit: int,
                    sealed: SealedStream | None = None) -> list[Row]:
    """The next events as rows (decoded later, in the applier): at most `limit`; with
    `sealed`, none the service did not write (an empty list is still the end of the log)."""
    while True:
        if isinstance(reader, WireReader):
            rows = await reader.read_rows(limit, sealed)
            passed_over = reader.passed_over
        else:
            rows, passed_over = [], []
            for message in await reader.read(limit):
                if sealed is not None and sealed.foreign(message.sequence, message.subject,
                                                         message.headers, message.body):
                    passed_over.append((message.sequence, message.subject))
                else:
                    rows.append(row_of_headers(message.sequence, message.headers,
                                               message.body))
        for sequence, subject in passed_over:
            PASSED_OVER.note("views", reader.stream, sequence, subject)
        if rows or not passed_over:
            return rows


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


# Appliers: on a thread here, or in worker processes.

class ThreadApplier:
    """Applies each batch on a thread of this process, before taking the next."""

    def __init__(self, store: ViewStore, projections: Sequence[Projection]) -> None:
        self.store, self.projections = store, projections
        self.generations: dict[str, int] = {}
        self.position = self.events = 0

    def begin(self, generations: dict[str, int]) -> None:
        """The generations to fill; before the first batch."""
        self.generations = generations

    def __enter__(self) -> ThreadApplier:
        return self

    async def start(self) -> None:
        pass

    def __exit__(self, *_exc: object) -> None:
        pass

    async def apply(self, rows: list[Row]) -> tuple[int, int]:
        """Applies the batch; returns the position and the number of events applied."""
        await asyncio.to_thread(apply_rows, self.store, self.projections, self.generations, rows)
        self.position, self.events = rows[-1][0], self.events + len(rows)
        return self.position, self.events

    async def finish(self) -> None:
        """Writes the documents kept in memory and makes the indexes (`finish`)."""
        await asyncio.to_thread(finish, self.store, self.projections, self.generations)

    async def drain(self) -> tuple[int, int]:
        return self.position, self.events


class WorkerApplier:
    """A worker process per group of projections: each opens the store again (stores pickle
    as how to open them), keeps its documents cached from one batch to the next, and applies
    every batch to its own projections, at its own pace: a worker waiting for SQLite's write
    lock holds up no other. Each has at most one batch waiting beside the one it applies."""

    def __init__(self, store: ViewStore, groups: list[list[Projection]]) -> None:
        self._workers = [_Worker(number, store, group) for number, group in enumerate(groups)]
        self._sent: list[tuple[int, int]] = []  # (position, events so far) of each batch
        self._versions: dict[str, int] = {}

    def __enter__(self) -> WorkerApplier:
        return self

    async def start(self) -> None:
        """Starts the workers, and learns the event classes' versions (importing the domain,
        where this process had not), on a thread: the log is read meanwhile."""
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        for worker in self._workers:
            worker.start()
        self._versions = current_versions()

    def begin(self, generations: dict[str, int]) -> None:
        """The generations to fill; before the first batch. The workers are told the event
        classes' versions too: they need not import the domain to learn them."""
        for worker in self._workers:
            worker.begin(generations, self._versions)

    def __exit__(self, *_exc: object) -> None:
        for worker in self._workers:
            worker.stop()

    async def apply(self, rows: list[Row]) -> tuple[int, int]:
        """Hands the batch to every worker; returns the position and the number of events
        every worker has applied so far (earlier batches)."""
        events = (self._sent[-1][1] if self._sent else 0) + len(rows)
        self._sent.append((rows[-1][0], events))
        message = APPLY + marshal.dumps(rows)
        await asyncio.gather(*(worker.send(message) for worker in self._workers))
        return self._applied()

    async def finish(self) -> None:
        """Has every worker write its views' documents kept in memory and make their indexes
        (`finish`) once it has applied what it was sent: a worker that is through sooner does
        not wait for the others before it begins."""
        await asyncio.gather(*(worker.send(FINISH) for worker in self._workers))

    async def drain(self) -> tuple[int, int]:
        """Waits until every worker has applied every batch it was given."""
        await asyncio.gather(*(worker.drain() for worker in self._workers))
        return self._applied()

    def _applied(self) -> tuple[int, int]:
        done = min(worker.applied for worker in self._workers)
        return self._sent[done - 1] if done else (0, 0)


class _Worker:
    """A worker process: a new interpreter running `adapters.views.rebuild_worker`, talked
    to over a socket pair (adapters/children.py)."""

    MAX_WAITING = 1  # batches sent beside the one being applied

    def __init__(self, number: int, store: ViewStore, group: list[Projection]) -> None:
        self.name = f"onestop-rebuild-{number + 1}"
        self.store, self.group = store, group
        self.child: Child | None = None
        self.connection: Connection | None = None
        self.sent = self.answered = 0  # messages
        self.applied = 0  # batches

    def start(self) -> None:
        self.child, self.connection = start_worker(self.name, "adapters.views.rebuild_worker")
        self._send_object((self.store, self.group))  # the store pickles as how to open it

    def begin(self, generations: dict[str, int], versions: dict[str, int]) -> None:
        self._send_object(({p.name: generations[p.name] for p in self.group}, versions))

    async def send(self, message: bytes) -> None:
        while self.sent - self.answered > self.MAX_WAITING:
            await self._answer()
        await asyncio.to_thread(self._send, message)
        self.sent += 1

    async def drain(self) -> None:
        while self.answered < self.sent:
            await self._answer()

    async def _answer(self) -> None:
        answer = await asyncio.to_thread(self._receive)
        if answer[0] == "failed":
            _, name, generation, failure = answer
            raise ProjectionFailed(name, generation, failure)
        if answer[0] == "error":
            raise RuntimeError(answer[1])
        self.answered += 1
        self.applied += answer[0] == "applied"

    def _send(self, message: bytes) -> None:
        try:
            self.connection.send_bytes(message)
        except OSError:
            raise RuntimeError(self._died()) from None

    def _send_object(self, value: object) -> None:
        try:
            self.connection.send(value)
        except OSError:
            raise RuntimeError(self._died()) from None

    def _receive(self) -> tuple:
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            return ("error", self._died())

    def _died(self) -> str:
        return f"rebuild worker {self.name} died (exit code {self.child.wait(5)})"

    def stop(self) -> None:
        if self.child is None:
            return  # never started
        try:
            self.connection.send_bytes(b"")  # the end: nothing more to apply
        except OSError:
            pass  # it is gone already
        if self.child.wait(30) is None:
            self.child.kill()  # cut short (a failure elsewhere, an interrupt)
        self.connection.close()


def _abandon(store: ViewStore, name: str, generation: int) -> None:
    try:
        store.abandon_generation(name, generation)
    except Exception:  # noqa: BLE001 - already switched in, or already gone
        pass


async def _head(log: StreamLog, event_stream: str, at_least: int) -> int:
    last = await log.last(f"{event_stream}.events.>")
    return max(at_least, last.sequence if last else 0)
