"""What we last saw at the end of each subject: hints for the next write's concurrency check,
and landmarks for reads. Only ever hints: the server's own check is what guards the log."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from adapters.integrity.seal import PASSED_OVER
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import Stored, StreamLog


@dataclass(frozen=True)
class LastKnown:
    sequence: int
    position: int  # aggregate version, or tracking notification id


class Positions:
    """What we last saw at the end of each subject (a bounded LRU; only a hint)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._entries: OrderedDict[str, LastKnown] = OrderedDict()
        self._capacity = capacity

    def get(self, subject: str) -> LastKnown | None:
        entry = self._entries.get(subject)
        if entry is not None:
            self._entries.move_to_end(subject)
        return entry

    def peek(self, subject: str) -> LastKnown | None:
        """A read that does not reorder, safe from threads other than the loop's."""
        return self._entries.get(subject)

    def saw(self, subject: str, sequence: int, position: int) -> None:
        current = self._entries.get(subject)
        if current is None or sequence > current.sequence:
            self._entries[subject] = LastKnown(sequence, position)
            self._entries.move_to_end(subject)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def forget(self, subject: str) -> None:
        self._entries.pop(subject, None)


def position_of(stored: Stored) -> int:
    """The aggregate version of an event message, or the notification id of a tracking one."""
    value = stored.headers.get(ce.VERSION) or stored.headers.get(ce.TRACKING_ID)
    return int(value)


async def refresh(log: StreamLog, positions: Positions, subject: str) -> Stored | None:
    """The subject's real last message that the service wrote, remembered as the new hint.

    After a foreign message (seal.py) the hint pairs that message's sequence, which the
    server's concurrency check compares with, and the position of the last message of ours,
    which the next write continues."""
    last = await log.last(subject)
    if last is not None and last.foreign:
        PASSED_OVER.note("event store", log.stream, last.sequence, last.subject)
        sealed = await log.last_sealed(subject, before=last.sequence)
        positions.saw(subject, last.sequence, 0 if sealed is None else position_of(sealed))
        return sealed
    if last is None:
        positions.forget(subject)
    else:
        positions.saw(subject, last.sequence, position_of(last))
    return last
