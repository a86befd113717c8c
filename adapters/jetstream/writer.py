"""Writing to the log: one save is one publish or one atomic batch, checked by the server.

Optimistic concurrency is the server's: each aggregate's first message in a write carries
`Nats-Expected-Last-Subject-Sequence` (the stream sequence of that aggregate's last event).
The sequences we last saw are only hints. A stale hint is harmless: the server refuses the
write, we read the subject's real last event, and either it already holds our version (a
conflict, or our own earlier write whose ack was lost) or the hint is refreshed and the write
is sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)

from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import TRANSIENT_ERRORS, Busy, Conflict, Outgoing, Stored, StreamLog
from adapters.jetstream.positions import Positions, position_of, refresh
from adapters.jetstream.stream_subjects import StreamSubjects

MAX_BATCH = 1000  # the server's default limit on messages in one atomic batch
MAX_CONFLICT_ROUNDS = 20


@dataclass
class Write:
    """One insert: its messages in order, and which of them are events."""

    messages: list[Outgoing]
    event_count: int
    # subject -> lowest position written to it in this insert (version or tracking id)
    first_position: dict[str, int]
    # subject -> message id of the last message written to it in this insert
    last_message_id: dict[str, str]


class Writer:
    def __init__(self, log: StreamLog, subjects: StreamSubjects, positions: Positions, *,
                 source: str, write_timeout: float) -> None:
        self.log = log
        self.subjects = subjects
        self.positions = positions
        self.source = source
        self.write_timeout = write_timeout
        # For a snapshot store: the subjects and hints of the event store its snapshots point
        # into, so each snapshot can say where in the event stream its version is.
        self.events_companion: tuple[StreamSubjects, Positions] | None = None

    def prepare(self, events: Sequence[StoredEvent], tracking: Tracking | None) -> Write:
        if len(events) + (tracking is not None) > MAX_BATCH:
            raise ProgrammingError(
                f"one save of {len(events)} events exceeds the {MAX_BATCH}-message atomic "
                "batch limit of the server; save the aggregates in smaller groups"
            )
        messages: list[Outgoing] = []
        first_position: dict[str, int] = {}
        last_message_id: dict[str, str] = {}
        seen: set[tuple[str, int]] = set()
        for event in events:
            subject = self.subjects.for_aggregate(event.originator_id)
            key = (subject, event.originator_version)
            if key in seen:
                raise IntegrityError(
                    f"version {event.originator_version} of {event.originator_id} "
                    "appears twice in one save"
                )
            seen.add(key)
            message_id = ce.event_id(event)
            headers = ce.event_headers(event, source=self.source, message_id=message_id)
            landmark = self._event_sequence_of(event)
            if landmark is not None:
                headers[ce.EVENT_SEQUENCE] = str(landmark)
            first_position.setdefault(subject, event.originator_version)
            last_message_id[subject] = message_id
            messages.append(self.log.sealed_message(Outgoing(subject, headers, event.state)))
        if tracking is not None:
            subject = self.subjects.for_tracking(tracking.application_name)
            message_id = ce.tracking_message_id(
                self.subjects.stream, tracking.application_name, tracking.notification_id
            )
            headers = {
                ce.MSG_ID: message_id,
                ce.TRACKING_ID: str(tracking.notification_id),
                "Onestop-Tracking-Application": ce._header_value(tracking.application_name),
            }
            messages.append(self.log.sealed_message(Outgoing(subject, headers, b"")))
            first_position[subject] = tracking.notification_id
            last_message_id[subject] = message_id
        return Write(messages, len(events), first_position, last_message_id)

    def _event_sequence_of(self, snapshot: StoredEvent) -> int | None:
        """Where, in the event stream, the version a snapshot was taken at is stored."""
        if self.events_companion is None:
            return None
        subjects, positions = self.events_companion
        subject = subjects.for_aggregate(snapshot.originator_id)
        known = positions.peek(subject)
        if known is not None and known.position == snapshot.originator_version:
            return known.sequence
        return None

    async def insert(self, write: Write) -> list[int]:
        deadline = time.monotonic() + self.write_timeout
        conflicts = 0
        delay = 0.05
        # Set once a send of this very write got no answer: from then on, finding our own
        # message ids in the stream means it was stored (a lost ack), not a conflict.
        maybe_stored = False
        while True:
            if self._position_known_taken(write):
                # Skip the doomed publish, but still tell a conflict from our own lost ack.
                stored = await self._resolve_conflict(write, maybe_stored)
                if stored is not None:
                    return stored[: write.event_count]
            messages = self._with_expectations(write)
            try:
                if len(messages) == 1:
                    sequences = [await self.log.publish(messages[0])]
                else:
                    sequences = await self.log.publish_batch(messages)
            except Conflict:
                conflicts += 1
                stored = await self._resolve_conflict(write, maybe_stored)
                if stored is not None:
                    return stored[: write.event_count]
                if conflicts >= MAX_CONFLICT_ROUNDS:
                    raise OperationalError("gave up after repeated write conflicts") from None
                continue
            except (Busy, *TRANSIENT_ERRORS) as error:
                # The write may or may not have been stored; sending it again is safe
                # because every message keeps its id (see _resolve_conflict).
                maybe_stored = maybe_stored or not isinstance(error, Busy)
                if time.monotonic() + delay > deadline:
                    raise OperationalError(
                        f"NATS did not acknowledge the write within {self.write_timeout:.0f}s: "
                        f"{error!r}"
                    ) from error
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self._remember(write, sequences)
            return sequences[: write.event_count]

    def _position_known_taken(self, write: Write) -> bool:
        for subject, position in write.first_position.items():
            known = self.positions.get(subject)
            if known is not None and known.position >= position:
                return True
        return False

    def _with_expectations(self, write: Write) -> list[Outgoing]:
        expected: dict[str, int] = {}
        for subject in write.first_position:
            known = self.positions.get(subject)
            expected[subject] = 0 if known is None else known.sequence
        messages = []
        for message in write.messages:
            if message.subject in expected:
                headers = dict(message.headers)
                headers[ce.EXPECTED_LAST_SUBJECT_SEQUENCE] = str(expected.pop(message.subject))
                message = Outgoing(message.subject, headers, message.body)
            messages.append(message)
        return messages

    def _remember(self, write: Write, sequences: list[int]) -> None:
        for message, sequence in zip(write.messages, sequences):
            position = message.headers.get(ce.VERSION) or message.headers.get(ce.TRACKING_ID)
            self.positions.saw(message.subject, sequence, int(position))

    async def _resolve_conflict(self, write: Write, maybe_stored: bool) -> list[int] | None:
        """After a refused write: the sequences if it is in fact stored (a retry after a lost
        ack), None if the hints were stale and it should be sent again, else IntegrityError."""
        for subject, first_position in write.first_position.items():
            last = await refresh(self.log, self.positions, subject)
            if last is None:
                continue
            if maybe_stored and last.headers.get(ce.MSG_ID) == write.last_message_id[subject]:
                return await self._sequences_of_stored(write, last)
            if position_of(last) >= first_position:
                earlier = await self._find_own(subject, write) if maybe_stored else None
                if earlier is not None:
                    return await self._sequences_of_stored(write, earlier)
                what = "tracking id" if ce.TRACKING_ID in last.headers else "version"
                raise IntegrityError(
                    f"{what} {first_position} is already taken on {subject} "
                    f"(last recorded: {position_of(last)})"
                )
        return None

    async def _find_own(self, subject: str, write: Write) -> Stored | None:
        """Our last message on `subject`, if it was stored before others wrote after it."""
        wanted = write.last_message_id[subject]
        async with aclosing(self.log.read(subject, 1)) as messages:
            async for stored in messages:
                if stored.headers.get(ce.MSG_ID) == wanted:
                    return stored
        return None

    async def _sequences_of_stored(self, write: Write, stored: Stored) -> list[int]:
        # A write's messages get consecutive sequences; find where ours ended.
        index = max(i for i, m in enumerate(write.messages)
                    if m.headers[ce.MSG_ID] == stored.headers.get(ce.MSG_ID))
        first = stored.sequence - index
        sequences = list(range(first, first + len(write.messages)))
        self._remember(write, sequences)
        return sequences
