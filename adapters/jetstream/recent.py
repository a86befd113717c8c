"""What the readers of one log in a process read last, kept for the others.

The log's followers (the views, the feeds, the checkpointer) each read every message the
commands write, one moment after another. Each read had each message sent by the server,
parsed with its headers and its seal checked, three times over. Shared, measured with
`onestop bench bus`: the service's CPU per command (its followers included) went from 0.41
to 0.33 ms for a registration and from 0.52 to 0.42 for a submission, the server's from
0.19 to 0.16. A `StreamLog` given a `RecentMessages` keeps
the pages it reads from the server here; a reader that comes after takes them from here, and
asks the server only for what came after.

What is kept is a run of the log on a subject filter: every message on the filter from its
first sequence through its last is held, in order, so a reader starting anywhere in the run
misses nothing. A run on the whole stream (`<stream>.>`, the checkpointer's) also serves a
narrower filter (`<stream>.events.>`, the views' and the feeds'). A read always ends by
asking the server whether more has come: what is kept only spares sending and checking the
same messages again.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.jetstream.log import Stored

CAPACITY = 4096  # messages kept of each run: a few seconds of commands at full speed


@dataclass
class _Run:
    first: int  # every message on the filter from here...
    through: int  # ...through here is in `messages`
    messages: list[Stored] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)


class RecentMessages:
    def __init__(self, stream: str, capacity: int = CAPACITY) -> None:
        self.stream = stream
        self.capacity = capacity
        self.everything = f"{stream}.>"
        self._runs: dict[str, _Run] = {}
        self._fetching: asyncio.Lock | None = None

    @property
    def fetching(self) -> asyncio.Lock:
        """Held while a page is fetched from the server: a reader that comes meanwhile
        waits for it, and finds it here, instead of asking for the same page."""
        if self._fetching is None:
            self._fetching = asyncio.Lock()
        return self._fetching

    def take(self, subject: str, sequence: int,
             stop: int | None = None) -> tuple[list[Stored], int] | None:
        """The messages kept on `subject` from `sequence`, up to `stop`, and the last
        sequence they cover (read on from the one after it); None if none is kept there."""
        for filter_ in (subject, self.everything):
            run = self._runs.get(filter_)
            if run is None or not run.first <= sequence <= run.through:
                continue
            through = run.through if stop is None else min(run.through, stop)
            start = bisect_left(run.sequences, sequence)
            end = bisect_left(run.sequences, through + 1, lo=start)
            found = run.messages[start:end]
            if filter_ != subject:
                found = [stored for stored in found if matches(stored.subject, subject)]
            return found, through
        return None

    def keep(self, subject: str, sequence: int, page: Sequence[Stored]) -> None:
        """A page read from the server: the messages on `subject` from `sequence` on, in
        order, through the last of them."""
        if not page:
            return
        run = self._runs.get(subject)
        last = page[-1].sequence
        if run is not None and run.first <= sequence <= run.through + 1:
            for stored in page:
                if stored.sequence > run.through:
                    run.messages.append(stored)
                    run.sequences.append(stored.sequence)
            run.through = max(run.through, last)
        elif run is None or sequence > run.through:  # none yet, or a later part of the log
            run = self._runs[subject] = _Run(sequence, last, list(page),
                                             [stored.sequence for stored in page])
        else:
            return  # an earlier part of the log, read by one catching up: not kept
        if len(run.messages) > self.capacity:
            dropped = len(run.messages) - self.capacity
            run.first = run.sequences[dropped - 1] + 1
            del run.messages[:dropped], run.sequences[:dropped]


def matches(subject: str, filter_: str) -> bool:
    """Whether a NATS subject is on a subject filter (`*` one token, `>` the rest)."""
    tokens, wanted = subject.split("."), filter_.split(".")
    for number, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > number
        if number >= len(tokens) or (token != "*" and token != tokens[number]):
            return False
    return len(tokens) == len(wanted)
