"""The event store on one stream: the write algorithm and the reads, shared by all recorders.

Optimistic concurrency is the server's: each aggregate's first message in a write carries
`Nats-Expected-Last-Subject-Sequence` (the stream sequence of that aggregate's last event).
We keep the last sequence and version we have seen per subject as a hint. A stale hint is
harmless: the server refuses the write, we read the subject's real last event, and either it
already holds our version (a conflict, or our own earlier write whose ack was lost) or the
hint is refreshed and the write is sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)

from adapters.jetstream import cloudevents as ce
from adapters.jetstream.bridge import NatsBridge
from adapters.jetstream.log import (
    TRANSIENT_ERRORS,
    Busy,
    Conflict,
    Outgoing,
    Rejected,
    Stored,
    StreamLog,
)
from adapters.jetstream.subjects import StreamSubjects

MAX_BATCH = 1000  # the server's default limit on messages in one atomic batch
MAX_CONFLICT_ROUNDS = 20


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


@dataclass
class _Write:
    """One insert: its messages in order, and which of them are events."""

    messages: list[Outgoing]
    event_count: int
    # subject -> lowest position written to it in this insert (version or tracking id)
    first_position: dict[str, int]
    # subject -> message id of the last message written to it in this insert
    last_message_id: dict[str, str]


class EventStore:
    def __init__(self, bridge: NatsBridge, subjects: StreamSubjects, *, source: str,
                 originator_id_type: str, request_timeout: float, write_timeout: float) -> None:
        self.bridge = bridge
        self.subjects = subjects
        self.source = source
        self.uuid_ids = originator_id_type == "uuid"
        self.write_timeout = write_timeout
        self.log = StreamLog(bridge.connection, subjects.stream if subjects.kind == "events"
                             else f"{subjects.stream}_SNAPSHOTS",
                             request_timeout=request_timeout)
        self.positions = Positions()
        # (sequence, version) points inside aggregates, learnt from snapshots, so that loading
        # "events after the snapshot" starts there instead of at the subject's first event.
        self.landmarks = Positions()
        # For a snapshot store: the event store whose sequences its snapshots point into.
        self.events_companion: EventStore | None = None
        self._call(self.log.start)

    # The synchronous face.

    def insert(self, events: Sequence[StoredEvent], tracking: Tracking | None = None) -> list[int]:
        if not events and tracking is None:
            return []
        write = self._prepare(events, tracking)
        return self._call(lambda: self._insert(write), retry=False)  # retries inside

    def select_events(self, originator_id: UUID | str, *, gt: int | None, lte: int | None,
                      desc: bool, limit: int | None) -> list[StoredEvent]:
        subject = self.subjects.for_aggregate(originator_id)
        return self._call(
            lambda: self._select_events(subject, originator_id, gt, lte, desc, limit)
        )

    def select_notifications(self, start: int | None, limit: int, stop: int | None,
                             topics: Sequence[str], inclusive_of_start: bool) -> list[Notification]:
        first = 1 if start is None else (start if inclusive_of_start else start + 1)
        return self._call(
            lambda: self._select_notifications(first, limit, stop, frozenset(topics))
        )

    def max_notification_id(self) -> int | None:
        last = self._call(lambda: self.log.last(self.subjects.all_events))
        return None if last is None else last.sequence

    def max_tracking_id(self, application_name: str) -> int | None:
        subject = self.subjects.for_tracking(application_name)
        last = self._call(lambda: self._refresh(subject))
        return None if last is None else int(last.headers[ce.TRACKING_ID])

    def notification(self, stored: Stored) -> Notification:
        return Notification(
            id=stored.sequence,
            originator_id=self._originator_id(stored),
            originator_version=int(stored.headers[ce.VERSION]),
            topic=ce.decode_header_value(stored.headers[ce.TOPIC]),
            state=stored.body,
        )

    def _call(self, operation, *, retry: bool = True):
        """Run `operation()` on the loop; reads are retried while the server is away
        (restarting, electing a leader) until the write timeout has passed."""
        deadline = time.monotonic() + self.write_timeout
        delay = 0.05
        while True:
            try:
                return self._run_once(operation())
            except _TransientFailure as failure:
                if not retry or time.monotonic() + delay > deadline:
                    raise OperationalError(
                        f"NATS did not answer in time: {failure.__cause__!r}"
                    ) from failure.__cause__
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _run_once(self, coroutine):
        try:
            return self.bridge.run(coroutine)
        except (IntegrityError, OperationalError, ProgrammingError, DatabaseError):
            raise
        except TRANSIENT_ERRORS as error:
            raise _TransientFailure from error
        except Rejected as error:
            raise DatabaseError(f"NATS refused the request: {error}") from error
        except Exception as error:
            raise DatabaseError(f"{type(error).__name__}: {error}") from error

    # Preparing a write.

    def _prepare(self, events: Sequence[StoredEvent], tracking: Tracking | None) -> _Write:
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
            messages.append(Outgoing(subject, headers, event.state))
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
            messages.append(Outgoing(subject, headers, b""))
            first_position[subject] = tracking.notification_id
            last_message_id[subject] = message_id
        return _Write(messages, len(events), first_position, last_message_id)

    def _event_sequence_of(self, snapshot: StoredEvent) -> int | None:
        """Where, in the event stream, the version a snapshot was taken at is stored."""
        if self.events_companion is None:
            return None
        subject = self.events_companion.subjects.for_aggregate(snapshot.originator_id)
        known = self.events_companion.positions.peek(subject)
        if known is not None and known.position == snapshot.originator_version:
            return known.sequence
        return None

    def _learn_landmark(self, stored: Stored, originator_id: UUID | str) -> None:
        if self.events_companion is not None and ce.EVENT_SEQUENCE in stored.headers:
            self.events_companion.landmarks.saw(
                self.events_companion.subjects.for_aggregate(originator_id),
                int(stored.headers[ce.EVENT_SEQUENCE]), _position(stored),
            )

    def _first_sequence_after(self, subject: str, gt: int | None) -> int:
        start = 1
        if gt is not None:
            for hint in (self.landmarks.get(subject), self.positions.get(subject)):
                if hint is not None and hint.position <= gt:
                    start = max(start, hint.sequence + 1)
        return start

    # Writing, on the loop.

    async def _insert(self, write: _Write) -> list[int]:
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

    def _position_known_taken(self, write: _Write) -> bool:
        for subject, position in write.first_position.items():
            known = self.positions.get(subject)
            if known is not None and known.position >= position:
                return True
        return False

    def _with_expectations(self, write: _Write) -> list[Outgoing]:
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

    def _remember(self, write: _Write, sequences: list[int]) -> None:
        for message, sequence in zip(write.messages, sequences):
            position = message.headers.get(ce.VERSION) or message.headers.get(ce.TRACKING_ID)
            self.positions.saw(message.subject, sequence, int(position))

    async def _resolve_conflict(self, write: _Write, maybe_stored: bool) -> list[int] | None:
        """After a refused write: the sequences if it is in fact stored (a retry after a lost
        ack), None if the hints were stale and it should be sent again, else IntegrityError."""
        for subject, first_position in write.first_position.items():
            last = await self._refresh(subject)
            if last is None:
                continue
            if maybe_stored and last.headers.get(ce.MSG_ID) == write.last_message_id[subject]:
                return await self._sequences_of_stored(write, last)
            if _position(last) >= first_position:
                earlier = await self._find_own(subject, write) if maybe_stored else None
                if earlier is not None:
                    return await self._sequences_of_stored(write, earlier)
                what = "tracking id" if ce.TRACKING_ID in last.headers else "version"
                raise IntegrityError(
                    f"{what} {first_position} is already taken on {subject} "
                    f"(last recorded: {_position(last)})"
                )
        return None

    async def _find_own(self, subject: str, write: _Write) -> Stored | None:
        """Our last message on `subject`, if it was stored before others wrote after it."""
        wanted = write.last_message_id[subject]
        async with aclosing(self.log.read(subject, 1)) as messages:
            async for stored in messages:
                if stored.headers.get(ce.MSG_ID) == wanted:
                    return stored
        return None

    async def _sequences_of_stored(self, write: _Write, stored: Stored) -> list[int]:
        # A write's messages get consecutive sequences; find where ours ended.
        index = max(i for i, m in enumerate(write.messages)
                    if m.headers[ce.MSG_ID] == stored.headers.get(ce.MSG_ID))
        first = stored.sequence - index
        sequences = list(range(first, first + len(write.messages)))
        self._remember(write, sequences)
        return sequences

    async def _refresh(self, subject: str) -> Stored | None:
        last = await self.log.last(subject)
        if last is None:
            self.positions.forget(subject)
        else:
            self.positions.saw(subject, last.sequence, _position(last))
        return last

    # Reading, on the loop.

    async def _select_events(self, subject: str, originator_id: UUID | str, gt: int | None,
                             lte: int | None, desc: bool, limit: int | None) -> list[StoredEvent]:
        if desc and limit == 1 and lte is None:
            last = await self._refresh(subject)
            if last is None or (gt is not None and _position(last) <= gt):
                return []
            self._learn_landmark(last, originator_id)
            return [self._stored_event(last, originator_id)]
        events: list[StoredEvent] = []
        last_seen: Stored | None = None
        start = self._first_sequence_after(subject, gt)
        async with aclosing(self.log.read(subject, start)) as messages:
            async for stored in messages:
                last_seen = stored
                version = int(stored.headers[ce.VERSION])
                if gt is not None and version <= gt:
                    continue
                if lte is not None and version > lte:
                    break
                self._learn_landmark(stored, originator_id)
                events.append(self._stored_event(stored, originator_id))
                if not desc and limit is not None and len(events) >= limit:
                    break
        if last_seen is not None:
            self.positions.saw(subject, last_seen.sequence, _position(last_seen))
        if desc:
            events.reverse()
            if limit is not None:
                events = events[:limit]
        return events

    async def _select_notifications(self, first: int, limit: int, stop: int | None,
                                    topics: frozenset[str]) -> list[Notification]:
        notifications: list[Notification] = []
        if limit <= 0:
            return notifications
        page = min(limit, 1000) if not topics else 1000
        reading = self.log.read(self.subjects.all_events, first, page=page, stop=stop)
        async with aclosing(reading) as messages:
            async for stored in messages:
                notification = self.notification(stored)
                if topics and notification.topic not in topics:
                    continue
                notifications.append(notification)
                if len(notifications) >= limit:
                    break
        return notifications

    def _stored_event(self, stored: Stored, originator_id: UUID | str) -> StoredEvent:
        return StoredEvent(
            originator_id=originator_id,
            originator_version=int(stored.headers[ce.VERSION]),
            topic=ce.decode_header_value(stored.headers[ce.TOPIC]),
            state=stored.body,
        )

    def _originator_id(self, stored: Stored) -> UUID | str:
        text = ce.decode_header_value(stored.headers["ce-subject"])
        return UUID(text) if self.uuid_ids else text


class _TransientFailure(Exception):
    pass


def _position(stored: Stored) -> int:
    value = stored.headers.get(ce.VERSION) or stored.headers.get(ce.TRACKING_ID)
    return int(value)
