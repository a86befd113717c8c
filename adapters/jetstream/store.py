"""The event store on one stream, shared by all recorders of a factory: the synchronous face
the library calls, and the reads. Writes are the Writer's (`writer.py`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Sequence
from contextlib import aclosing
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

from adapters.integrity.seal import PASSED_OVER, Seal, SealKeyError
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.bridge import NatsBridge
from adapters.jetstream.log import TRANSIENT_ERRORS, Rejected, Stored, StreamLog
from adapters.jetstream.onloop import NeedsIO, current_capture
from adapters.jetstream.positions import Positions, position_of, refresh
from adapters.jetstream.stream_subjects import StreamSubjects
from adapters.jetstream.writer import Write, Writer


@dataclass(frozen=True)
class CommandWrite:
    """What a command wrote, as the log shows it: its request's digest, its last event."""

    digest: str
    last_sequence: int


class EventStore:
    def __init__(self, bridge: NatsBridge, subjects: StreamSubjects, *, source: str,
                 originator_id_type: str, request_timeout: float, write_timeout: float,
                 seal: Seal | None = None) -> None:
        self.bridge = bridge
        self.subjects = subjects
        self.source = source
        self.uuid_ids = originator_id_type == "uuid"
        self.write_timeout = write_timeout
        self.log = StreamLog(bridge.connection, subjects.stream if subjects.kind == "events"
                             else f"{subjects.stream}_SNAPSHOTS",
                             request_timeout=request_timeout, seal=seal)
        self.positions = Positions()
        # (sequence, version) points inside aggregates, learnt from snapshots, so that loading
        # "events after the snapshot" starts there instead of at the subject's first event.
        self.landmarks = Positions()
        self.writer = Writer(self.log, subjects, self.positions, source=source,
                             write_timeout=write_timeout)
        # For a snapshot store: the event store whose sequences its snapshots point into.
        self.events_companion: EventStore | None = None
        self._call(self.log.start)

    def point_snapshots_into(self, events: EventStore) -> None:
        self.events_companion = events
        self.writer.events_companion = (events.subjects, events.positions)

    # The synchronous face.

    def insert(self, events: Sequence[StoredEvent], tracking: Tracking | None = None) -> list[int]:
        if not events and tracking is None:
            return []
        write = self.writer.prepare(events, tracking)
        capture = current_capture()
        if capture is not None:  # deciding on the loop: written by `write_now` afterwards
            capture.writes.append((self, write))
            return []
        return self._call(lambda: self.writer.insert(write), retry=False)  # retries inside

    async def write_now(self, write: Write) -> list[int]:
        """`insert` for a caller already on the loop thread, with the same errors."""
        try:
            return await self.writer.insert(write)
        except (IntegrityError, OperationalError, ProgrammingError, DatabaseError):
            raise
        except TRANSIENT_ERRORS as error:
            raise OperationalError(f"NATS did not answer in time: {error!r}") from error
        except Rejected as error:
            raise DatabaseError(f"NATS refused the request: {error}") from error

    def select_events(self, originator_id: UUID | str, *, gt: int | None, lte: int | None,
                      desc: bool, limit: int | None) -> list[StoredEvent]:
        subject = self.subjects.for_aggregate(originator_id)
        capture = current_capture()
        if capture is not None:  # deciding on the loop: read there, then decided again
            key = (id(self), subject, gt, lte, desc, limit)
            if key in capture.reads:
                return list(capture.reads[key])
            raise NeedsIO(key, lambda: self._select_events(subject, originator_id, gt, lte,
                                                           desc, limit))
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
        last = self._call(lambda: refresh(self.log, self.positions, subject))
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
        if current_capture() is not None:
            raise NeedsIO  # a read while deciding on the loop thread, which must not block
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
        except (IntegrityError, OperationalError, ProgrammingError, DatabaseError,
                SealKeyError):
            raise
        except TRANSIENT_ERRORS as error:
            raise _TransientFailure from error
        except Rejected as error:
            raise DatabaseError(f"NATS refused the request: {error}") from error
        except Exception as error:
            raise DatabaseError(f"{type(error).__name__}: {error}") from error

    # Reading, on the loop.

    async def write_of_command(self, command_id: str, originator_id: UUID | str
                               ) -> CommandWrite | None:
        """The events `command_id` wrote, found from one aggregate it wrote to; None if it
        wrote none there, or wrote them before events named their command."""
        name = ce.command_header_value(command_id)
        found = None
        async with aclosing(self.log.read(self.subjects.for_aggregate(originator_id))) as events:
            async for stored in events:
                if stored.headers.get(ce.COMMAND) == name and not stored.foreign:
                    found = stored
                    break
        if found is None or ce.COMMAND_DIGEST not in found.headers:
            return None
        # One write is contiguous in the log: its other events, if any, follow this one.
        last = found.sequence
        async with aclosing(self.log.read(self.subjects.all_events, last + 1, page=16)) as later:
            async for stored in later:
                if stored.headers.get(ce.COMMAND) != name or stored.foreign:
                    break
                last = stored.sequence
        return CommandWrite(found.headers[ce.COMMAND_DIGEST], last)

    def _learn_landmark(self, stored: Stored, originator_id: UUID | str) -> None:
        if self.events_companion is not None and ce.EVENT_SEQUENCE in stored.headers:
            self.events_companion.landmarks.saw(
                self.events_companion.subjects.for_aggregate(originator_id),
                int(stored.headers[ce.EVENT_SEQUENCE]), position_of(stored),
            )

    def _first_sequence_after(self, subject: str, gt: int | None) -> int:
        start = 1
        if gt is not None:
            for hint in (self.landmarks.get(subject), self.positions.get(subject)):
                if hint is not None and hint.position <= gt:
                    start = max(start, hint.sequence + 1)
        return start

    async def _select_events(self, subject: str, originator_id: UUID | str, gt: int | None,
                             lte: int | None, desc: bool, limit: int | None) -> list[StoredEvent]:
        if desc and limit == 1 and lte is None:
            last = await refresh(self.log, self.positions, subject)
            if last is None or (gt is not None and position_of(last) <= gt):
                return []
            self._learn_landmark(last, originator_id)
            return [self._stored_event(last, originator_id)]
        events: list[StoredEvent] = []
        last_seen: Stored | None = None
        last_sequence = 0  # of any message on the subject, ours or foreign
        start = self._first_sequence_after(subject, gt)
        async with aclosing(self.log.read(subject, start)) as messages:
            async for stored in messages:
                last_sequence = stored.sequence
                if stored.foreign:
                    PASSED_OVER.note("event store", self.log.stream, stored.sequence, subject)
                    continue
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
        if last_seen is not None and last_sequence == last_seen.sequence:
            self.positions.saw(subject, last_seen.sequence, position_of(last_seen))
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
                if stored.foreign:
                    PASSED_OVER.note("event store", self.log.stream, stored.sequence,
                                     stored.subject)
                    continue
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
