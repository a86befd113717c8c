"""Keeping the views up to date: read the event log in batches, apply each batch to every view.

The read cursor is never kept in memory between rounds: each round starts just after the
lowest position the store has recorded for a running projection. So a restart, a crash
half-way, a rebuild switched in by another process, or a failure cleared by an operator all
come down to the same thing: read from where the store says, and let the store skip what a
projection has already applied (it does, event by event, in the same transaction that
advances its position).

A projection that cannot apply an event stops, alone: its failure is in the store (and in
the log of this process), the others go on, and it resumes from the same event once an
operator has cleared the failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import aclosing

from nats.aio.client import Client

from adapters.integrity.seal import PASSED_OVER, Seal
from adapters.jetstream.log import StreamLog
from adapters.jetstream.recent import RecentMessages
from adapters.tasks import stopped
from adapters.views.failures import GenerationError, ProjectionFailed, ProjectionStopped
from adapters.views.log_rows import logged
from adapters.views.rebuild import rebuild
from adapters.views.view_store import ViewStore
from projections.logged import Logged
from projections.view import Projection

log = logging.getLogger(__name__)

BATCH = 2000  # events per transaction when catching up; live batches are what has arrived
# From this many events in the log, an empty view is rebuilt rather than followed from the
# start (as `onestop replay` would, in worker processes).
EMPTY_VIEW_REBUILT_FROM = 50_000
POLL_SECONDS = 1.0  # a safety net: new events also ring the doorbell (a core subscription)
# After the doorbell: let a few more events arrive, so that under load one round (a status
# read, a log read, one transaction per view) serves many events instead of one or two.
GATHER_SECONDS = 0.02
# Not longer under load: measured with `onestop bench bus`, gathering for 0.1 s while
# commands poured in saved a tenth of the followers' CPU per case.submit, and left the views
# up to a second behind the last reply, against a tenth of a second without.


async def read_batch(log_: StreamLog, subject: str, after: int, limit: int) -> list[Logged]:
    batch: list[Logged] = []
    async with aclosing(log_.read(subject, after + 1, page=limit)) as messages:
        async for stored in messages:
            if stored.foreign:
                PASSED_OVER.note("views", log_.stream, stored.sequence, stored.subject)
                continue
            try:
                batch.append(logged(stored))
            except (KeyError, ValueError):
                # Not an event the service wrote (no aggregate, version or topic): no view
                # can apply it, and a view that stopped on it would stop for good.
                log.warning("views: the message at position %s of the log is not an event "
                            "of onestop's; every view passes over it", stored.sequence)
                continue
            if len(batch) >= limit:
                break
    return batch


class ViewFollower:
    def __init__(self, connection: Client, event_stream: str, store: ViewStore,
                 projections: Sequence[Projection], doorbell: str | None = None,
                 rebuild_from: int = EMPTY_VIEW_REBUILT_FROM, seal: Seal | None = None,
                 recent: RecentMessages | None = None) -> None:
        self.connection = connection
        self.event_stream = event_stream
        self.subject = f"{event_stream}.events.>"
        # Rung when the log has grown. By default every event rings it; a service that
        # announces its writes on a subject of its own spares this process every event.
        self.doorbell = doorbell or self.subject
        self.log = StreamLog(connection, event_stream, request_timeout=10, seal=seal,
                             recent=recent)
        self.seal = seal
        self.store = store
        self.projections = list(projections)
        self._doorbell = asyncio.Event()
        self._advanced = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._subscription = None
        self.positions: dict[str, int] = {}
        # Views whose active generation an older version of their projection built: never
        # followed with this code (its documents have another shape), but rebuilt, once.
        self._outdated: set[str] = set()
        self._rebuilding: asyncio.Task | None = None
        # An empty view over a log this long is rebuilt (worker processes, large batches)
        # rather than followed from its start, a batch at a time in this process: a new
        # data directory beside an old log, or views moved to another store.
        self.rebuild_from = rebuild_from
        self._empty_checked = False

    async def start(self) -> None:
        await self.log.start()
        await asyncio.to_thread(self.store.open, self.projections)
        self._subscription = await self.connection.subscribe(self.doorbell, cb=self._ring)
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.unsubscribe()
        for task in (self._task, self._rebuilding):
            await stopped(task)

    async def _ring(self, _message: object) -> None:
        self._doorbell.set()

    def position_of(self, projection: str) -> int:
        return self.positions.get(projection, 0)

    async def wait_for(self, projection: str, position: int, timeout: float) -> bool:
        """Until `projection` has applied the log up to `position`; False on timeout."""
        if self.position_of(projection) < position:
            self._doorbell.set()  # someone has written that far: look now
        async with self._advanced:
            try:
                await asyncio.wait_for(self._advanced.wait_for(
                    lambda: self.position_of(projection) >= position), timeout)
            except TimeoutError:
                return False
        return True

    async def _follow(self) -> None:
        while True:
            # Cleared before the round looks, not after: a ring while it reads is for events
            # it may not have seen, and is kept for the next round. Cleared after, the last
            # ring of a burst was lost, and its events waited for the poll, a second later.
            self._doorbell.clear()
            try:
                caught_up = await self.catch_up_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the log or the store away for a moment: try again soon
                log.exception("views: following the log failed; trying again")
                caught_up = True
            if caught_up:
                # asyncio.timeout, not wait_for: on Python 3.11, a wait_for cancelled just as
                # its wait ends can leave the task waiting on, and stopping then hangs.
                try:
                    async with asyncio.timeout(POLL_SECONDS):
                        await self._doorbell.wait()
                    await asyncio.sleep(GATHER_SECONDS)
                except TimeoutError:
                    pass

    async def catch_up_once(self, limit: int = BATCH) -> bool:
        """Reads one batch after the lowest running position and applies it to every running
        projection; True when there was nothing more to read."""
        running = await asyncio.to_thread(self._running_positions)
        if not self._empty_checked:
            self._empty_checked = True
            await self._rebuild_if_empty(running)
        await self._publish_positions(running)
        self._rebuild_outdated()
        if not running:
            return True
        after = min(running.values())
        batch = await read_batch(self.log, self.subject, after, limit)
        if not batch:
            return True
        await asyncio.to_thread(self._apply, batch, running)
        await self._publish_positions(self.positions)
        return len(batch) < limit

    def _running_positions(self) -> dict[str, int]:
        running = {}
        for status in self.store.status():
            if status.active and status.needs_rebuild:
                self._outdated.add(status.name)
            elif status.active and status.failure is None and status.name not in self._outdated:
                running[status.name] = status.position
            if status.active:
                self.positions[status.name] = status.position
        return running

    def _apply(self, batch: list[Logged], running: dict[str, int]) -> None:
        for projection in self.projections:
            if projection.name not in running:
                continue
            try:
                self.positions[projection.name] = self.store.apply_batch(projection, batch)
            except ProjectionFailed as failed:
                log.error("views: %s stopped: %s", projection.name, failed)
            except ProjectionStopped:
                pass  # stopped by an earlier failure, or by another process
            except GenerationError:
                pass  # a rebuild switched generations under this batch: next round, afresh

    async def _rebuild_if_empty(self, running: dict[str, int]) -> None:
        """At the start: views that have applied nothing, over a long log, are rebuilt."""
        empty = [name for name, position in running.items() if position == 0]
        if not empty:
            return
        last = await self.log.last(self.subject)
        if last is not None and last.sequence >= self.rebuild_from:
            self._outdated.update(empty)
            for name in empty:
                del running[name]

    @property
    def rebuilding(self) -> asyncio.Task | None:
        """The rebuild of outdated views, when one was started (done once it ended)."""
        return self._rebuilding

    def _rebuild_outdated(self) -> None:
        """Rebuilds, in the background, the views an older projection built; they answer
        from their old generation until the new one is switched in."""
        if self._rebuilding is not None and not (self._rebuilding.done() and
                                                 not self._rebuilding.exception()):
            return  # one runs; or one failed, and `onestop replay` is the way on
        outdated = [p for p in self.projections if p.name in self._outdated]
        if outdated:
            self._rebuilding = asyncio.get_running_loop().create_task(self._rebuild(outdated))

    async def _rebuild(self, projections: list[Projection]) -> None:
        names = ", ".join(projection.name for projection in projections)
        log.warning("views: %s are empty or were built by an older version of their "
                    "projection: rebuilding them from the log", names)
        try:
            await rebuild(self.connection, self.event_stream, self.store, projections,
                          seal=self.seal)
            log.warning("views: %s rebuilt and switched in", names)
            self._outdated -= {projection.name for projection in projections}
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - loud, and left to `onestop replay`
            log.exception("views: rebuilding %s failed; they stay as they were until "
                          "`onestop replay` rebuilds them", names)

    async def _publish_positions(self, positions: dict[str, int]) -> None:
        self.positions.update(positions)
        async with self._advanced:
            self._advanced.notify_all()
