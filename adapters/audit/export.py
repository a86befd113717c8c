"""Replay for auditors: the trail of a department, a case or a time range, read from the log.

Accepted changes come from the event log itself, derived exactly as the `audit` view derives
them (`projections.audit.change_of`), one entry per event; refusals and reads come from
`<stream>_AUDIT`. Both are read in their own order and merged by time (a change first on a
tie). Every event before the range is still folded: it is what "before" and a case's
involvement are made of.

A department's trail: the changes that concerned it, its own refusals and reads, what its
feed was sent and how far its consumers read it. A case's: its changes, the reads that showed
it and what was sent of it (a refusal does not name its case, nor a consumer's progress).

With `proof` (JSON Lines), each change carries the message of the log it was derived from
(subject, the headers the chain hashes, body) and the export ends with every signed
checkpoint that holds the chain hashes before and at those positions: an outsider with the
service's public key checks each change without onestop (docs/audit-chain.md,
docs/verify_export.py).
"""

from __future__ import annotations

import base64
import csv
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TextIO

import nats.js.errors
import orjson
from nats.aio.client import Client

from adapters.audit.checkpoints import Checkpoint, MalformedCheckpoint, checkpoint_subject
from adapters.audit.reading import AuditReader
from adapters.audit.trail import audit_stream
from adapters.integrity.chain import kept
from adapters.integrity.seal import PASSED_OVER, Seal
from adapters.jetstream.log import StreamLog
from adapters.jetstream.stream_subjects import StreamSubjects
from adapters.views.log_rows import logged
from adapters.views.rebuild import Progress
from projections.audit import change_of

PAGE = 1000
PROGRESS_EVERY = 1000  # events


@dataclass(frozen=True)
class Scope:
    department: str | None = None
    case_id: str | None = None
    since: str | None = None  # UTC text, included
    until: str | None = None  # UTC text, excluded

    def in_range(self, at_utc: str) -> bool:
        return ((self.since is None or at_utc >= self.since)
                and (self.until is None or at_utc < self.until))

    def takes_change(self, entry: dict[str, Any]) -> bool:
        return (self.in_range(entry["at_utc"])
                and (self.department is None or self.department in entry["departments"])
                and (self.case_id is None or self.case_id == entry["aggregate_id"]))

    def takes_record(self, record: dict[str, Any]) -> bool:
        if self.case_id is None:
            return True
        if record["kind"] == "read":
            return self.case_id in record["case_ids"]
        if record["kind"] == "sent":  # a feed's message of the case
            return any(message["case_id"] == self.case_id for message in record["messages"])
        return False


async def export_entries(connection: Client, event_stream: str, scope: Scope,
                         on_progress: Callable[[Progress], None] = lambda _: None,
                         seal: Seal | None = None, proof: bool = False
                         ) -> AsyncIterator[dict[str, Any]]:
    """With the services' `seal`, the changes leave out what they did not write."""
    events = StreamLog(connection, event_stream, request_timeout=30, seal=seal)
    trail = StreamLog(connection, audit_stream(event_stream), request_timeout=30)
    await events.start()
    await trail.start()
    proven: set[int] = set()  # the positions whose changes carry their message
    changes = _changes(events, scope, on_progress, proven if proof else None)
    records = _records(AuditReader(trail, event_stream), scope,
                       await _exists(connection, trail.stream))
    async with aclosing(changes), aclosing(records):
        change, record = await anext(changes, None), await anext(records, None)
        while change is not None or record is not None:
            if record is None or (change is not None and change["at_utc"] <= record["at_utc"]):
                yield change
                change = await anext(changes, None)
            else:
                yield record
                record = await anext(records, None)
    if proof:
        async with aclosing(_checkpoints_of(events, proven)) as checkpoints:
            async for checkpoint in checkpoints:
                yield checkpoint


async def _changes(log: StreamLog, scope: Scope, on_progress: Callable[[Progress], None],
                   proven: set[int] | None = None) -> AsyncIterator[dict[str, Any]]:
    subjects = StreamSubjects(log.stream, "events")
    subject = (subjects.all_events if scope.case_id is None
               else subjects.for_aggregate(scope.case_id))
    last = await log.last(subject)
    head = last.sequence if last else 0
    states: dict[str, dict[str, Any]] = {}
    started, count, position = time.monotonic(), 0, 0
    async with aclosing(log.read(subject, 1, page=PAGE, stop=head)) as stored_events:
        async for stored in stored_events:
            if stored.foreign:
                PASSED_OVER.note("audit export", log.stream, stored.sequence, stored.subject)
                continue
            event = logged(stored)
            change, states[event.originator_id] = change_of(
                event, states.get(event.originator_id))
            count, position = count + 1, event.position
            if count % PROGRESS_EVERY == 0:
                on_progress(Progress(position, head, count, time.monotonic() - started))
            entry = change.entry()
            if scope.takes_change(entry):
                if proven is None:
                    yield {"kind": "change", **entry}
                else:
                    proven.add(stored.sequence)
                    yield {"kind": "change", **entry, "message": message_of(stored)}
    on_progress(Progress(head, head, count, time.monotonic() - started))


def message_of(stored) -> dict[str, Any]:
    """The stored message as the chain hashes it (adapters/integrity/chain.py `canonical`)."""
    _, _, tail = stored.subject.partition(".")
    return {"subject": tail,
            "headers": {name: value for name, value in sorted((stored.headers or {}).items())
                        if kept(name)},
            "body": base64.b64encode(stored.body).decode()}


async def _checkpoints_of(log: StreamLog, proven: set[int]) -> AsyncIterator[dict[str, Any]]:
    """Each valid-looking checkpoint that holds the chain hash at a proven position or just
    before one (the outsider checks their signatures)."""
    wanted = proven | {position - 1 for position in proven if position > 1}
    if not wanted:
        return
    async with aclosing(log.read(checkpoint_subject(log.stream), 1, page=100)) as stored:
        async for message in stored:
            if message.foreign:
                continue
            try:
                checkpoint = Checkpoint.parse(message.body)
            except MalformedCheckpoint:
                continue
            if any(checkpoint.first <= position <= checkpoint.last for position in wanted):
                yield {"kind": "checkpoint", "position": message.sequence,
                       "checkpoint": orjson.loads(checkpoint.body())}


async def _exists(connection: Client, stream: str) -> bool:
    try:
        await connection.jetstream().stream_info(stream)
    except nats.js.errors.NotFoundError:
        return False  # a log no service has run on yet: nothing refused, nothing read
    return True


async def _records(reader: AuditReader, scope: Scope, exists: bool
                   ) -> AsyncIterator[dict[str, Any]]:
    if not exists:
        return
    async with aclosing(reader.records(None, scope.department, scope.since,
                                       scope.until)) as records:
        async for record in records:
            if scope.takes_record(record):
                yield record


# The formats: JSON Lines, one entry a line as it is; or CSV, one column per field any
# entry may have, lists space-separated and nested values as JSON.
FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("kind", "position", "sequence", "at", "at_utc", "recorded_at", "principal",
               "person", "departments", "aggregate_type", "aggregate_id", "version", "topic", "command",
               "query", "command_id", "correlation_id", "causation_id", "case_ids", "code",
               "message", "changes", "fields", "parameters", "feed", "first", "last",
               "messages", "consumers")


class Writer:
    def __init__(self, out: TextIO, format: str) -> None:
        if format not in FORMATS:
            raise ValueError(f"format {format!r} is not one of {FORMATS}")
        self.out, self.format = out, format
        self.csv = csv.writer(out, lineterminator="\n") if format == "csv" else None
        if self.csv is not None:
            self.csv.writerow(CSV_COLUMNS)

    def write(self, entry: dict[str, Any]) -> None:
        if self.csv is None:
            self.out.write(orjson.dumps(entry).decode() + "\n")
        else:
            self.csv.writerow([_cell(entry.get(column)) for column in CSV_COLUMNS])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return " ".join(value)
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value
