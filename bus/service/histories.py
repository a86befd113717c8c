"""Aggregates' events as the queries read them from the log, kept for the next query.

A page of the audit trail reads, for each change it lists, its aggregate's events from the
first up to that change (what the change did is told against what came before); a case as it
stood, or as a department could see it, reads the case's events. Pages and cases overlap:
a case's ten changes are on ten pages. The log is append-only, so what was read of an
aggregate up to a position is what the log holds up to there for good: it is kept (the
aggregates read last, up to `capacity` events in all), and a later read asks the log only
for what came after. Measured with `onestop bench views`: a page of audit.changes read some
300 events from the log, each through nats-py at some 25 µs.

Messages that are not the service's (foreign: no valid seal) are passed over, and noted once,
as every reader of the log does; the position read up to counts them, so they are not read
again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from adapters.integrity.seal import PASSED_OVER
from adapters.jetstream.log import StreamLog
from adapters.views.log_rows import logged
from projections.logged import Logged

CAPACITY = 100_000  # events kept in all
PAGE = 500  # events asked of the log at a time


@dataclass
class _History:
    read_to: int = 0  # every message on the aggregate's subject up to here has been read
    events: list[Logged] = field(default_factory=list)


class AggregateHistories:
    def __init__(self, log: StreamLog, capacity: int = CAPACITY) -> None:
        self.log = log
        self.capacity = capacity
        self._kept: OrderedDict[str, _History] = OrderedDict()
        self._count = 0  # events kept

    async def events(self, aggregate_id: Any, stop: int | None = None,
                     enough: Callable[[list[Logged]], bool] | None = None,
                     page: int = PAGE, needed: int | None = None) -> list[Logged]:
        """The aggregate's events from its first, up to position `stop` (None: its last);
        or as many as are `enough` for the asker, who needs none of the later ones (a case
        as it stood at its third version), read from the log `page` at a time: the server
        sends a whole page, and each message of it costs (some 50 µs). With `needed`: the
        events up to there at least, and whatever else the page that reached it held (up to
        `stop`), which cost no further request."""
        key = str(aggregate_id)
        history = self._kept.pop(key, None) or _History()
        self._count -= len(history.events)
        try:
            if enough is not None and history.events and enough(history.events):
                return list(history.events)
            target = stop if needed is None else needed
            if target is None or history.read_to < target:
                await self._read_after(key, history, stop, enough, page, needed)
        finally:
            self._keep(key, history)
        if stop is None or stop >= history.read_to:
            return list(history.events)
        return [event for event in history.events if event.position <= stop]

    async def _read_after(self, key: str, history: _History, stop: int | None,
                          enough: Callable[[list[Logged]], bool] | None, page: int,
                          needed: int | None = None) -> None:
        subject = f"{self.log.stream}.events.{key}"
        async with aclosing(self.log.pages(subject, history.read_to + 1, stop=stop,
                                           page=page)) as pages:
            async for messages, more in pages:
                for stored in messages:
                    if stored.foreign:
                        PASSED_OVER.note("queries", self.log.stream, stored.sequence,
                                         stored.subject)
                    else:
                        history.events.append(logged(stored))
                    history.read_to = stored.sequence
                    if enough is not None and history.events and enough(history.events):
                        return  # read up to here only: the next read goes on from here
                if not more:
                    break
                if needed is not None and history.read_to >= needed:
                    return  # this page went past what was needed: no further request
        if stop is not None:
            # Read up to `stop`: nothing more on the subject there, whatever was last.
            history.read_to = max(history.read_to, stop)

    def _keep(self, key: str, history: _History) -> None:
        replaced = self._kept.pop(key, None)  # by a read of the same aggregate meanwhile
        if replaced is not None:
            self._count -= len(replaced.events)
        self._kept[key] = history
        self._count += len(history.events)
        while self._count > self.capacity and len(self._kept) > 1:
            _, oldest = self._kept.popitem(last=False)
            self._count -= len(oldest.events)


class Kept:
    """What was made from the log, by key, up to `capacity` of them: the least recently
    used go first. What the log holds does not change, so neither does what is kept."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any | None:
        value = self._kept.get(key)
        if value is not None:
            self._kept.move_to_end(key)
        return value

    def keep(self, key: Any, value: Any) -> None:
        self._kept[key] = value
        self._kept.move_to_end(key)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)
