"""Rebuilding views from the log without downtime.

Each projection gets a fresh generation (new, empty tables) that is filled from the start of
the log in large batches while the active generation keeps answering queries and keeps
following the log. When the new generation has caught up, it is switched in: atomically, and
only if it is at least as far as the one it replaces, so no query ever sees the view go back.
While the log keeps growing the rebuild chases it; the switch is refused until it is there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nats.aio.client import Client

from adapters.jetstream.log import StreamLog
from adapters.views.base import ViewStore
from adapters.views.errors import GenerationBehind
from adapters.views.follower import read_batch
from projections.logged import Logged
from projections.view import Projection

BATCH = 10_000  # events per transaction: large batches are what make a rebuild fast
MAX_SWITCH_ATTEMPTS = 50


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
                  batch_size: int = BATCH) -> dict[str, int]:
    """Rebuilds `projections` into new generations and switches to them; returns them."""
    log = StreamLog(connection, event_stream, request_timeout=30)
    await log.start()
    subject = f"{event_stream}.events.>"
    generations = {p.name: await asyncio.to_thread(store.start_generation, p.name)
                   for p in projections}
    started, applied, position = time.monotonic(), 0, 0
    switched: set[str] = set()
    try:
        pending = asyncio.ensure_future(read_batch(log, subject, position, batch_size))
        attempts = 0
        while len(switched) < len(projections):
            batch = await pending
            if batch:
                # Read the next batch while this one is applied.
                pending = asyncio.ensure_future(
                    read_batch(log, subject, batch[-1].position, batch_size))
                await asyncio.to_thread(_apply, store, projections, generations, batch)
                applied += len(batch)
                position = batch[-1].position
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
            pending = asyncio.ensure_future(read_batch(log, subject, position, batch_size))
        pending.cancel()
    except BaseException:
        for projection in projections:
            if projection.name not in switched:
                await asyncio.to_thread(_abandon, store, projection.name,
                                        generations[projection.name])
        raise
    return generations


def _apply(store: ViewStore, projections: Sequence[Projection], generations: dict[str, int],
           batch: list[Logged]) -> None:
    for projection in projections:
        store.apply_batch(projection, batch, generation=generations[projection.name])


def _abandon(store: ViewStore, name: str, generation: int) -> None:
    try:
        store.abandon_generation(name, generation)
    except Exception:  # noqa: BLE001 - already switched in, or already gone
        pass


async def _head(log: StreamLog, subject: str, at_least: int) -> int:
    last = await log.last(subject)
    return max(at_least, last.sequence if last else 0)
