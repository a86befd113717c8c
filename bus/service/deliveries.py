"""What each principal's feed was sent, and how far each of its consumers read it: recorded in
the audit trail, so an auditor can say what a department was told, and when.

Two series of records per principal with a feed, on `<stream>.audit.<principal>.<kind>`
(adapters/audit/trail.py), chained and checkpointed with the rest of the trail:
- `sent`: every message put into the feed (a case's events, the outcomes of its intake), in
  feed order, up to `BATCH` a record: its feed sequence, when the feed stored it, its type,
  id, case and the log position it was copied from. Only this log's messages: the feeds are
  the server's, and a service of another log on it (`Onestop-Log-Stream`) keeps its own
  trail; a message without that header (written before it existed) counts as this log's.
- `delivered`: the consumers of the feed as the server reports them, whenever one has moved:
  up to which feed sequence each was handed messages and had acknowledged them, and when it
  last did either (the server's `last_active`).

Each series is written exactly once whatever crashes, and needs no cursor of its own: its
last record says how far it has got, and the next is written only if that record is still
the last on its subject (`Nats-Expected-Last-Subject-Sequence`). A record written by a
recorder killed before it knew, or by another service's recorder, is read back, never
written twice.

The feeds are found from the server's list of streams (each `FEED_*` stream on
`onestop.feed.<principal>.>`), so a principal added later is recorded without a restart. The
server is asked every `POLL_SECONDS`; a consumer that reads and acknowledges within one poll
shows both at once, each with the time the server noted.
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from nats.aio.client import Client
from nats.js.api import ConsumerInfo

from adapters.audit.trail import DELIVERED, SENT, AuditTrail, audit_subject
from adapters.jetstream.log import Conflict, Stored
from adapters.jetstream.streams import list_streams
from adapters.tasks import stopped
from bus.contract import subjects
from bus.contract.identity import FEED_PREFIX

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # tests shorten it (ONESTOP_DELIVERIES_POLL_SECONDS) to record all the time
BATCH = 256  # feed messages a `sent` record holds at most


@dataclass(frozen=True)
class Feed:
    principal: str
    stream: str
    last: int  # the feed's last sequence
    consumers: int


@dataclass
class Series:
    """Where one principal's series of one kind stands, as its last record says."""

    follows: int  # that record's sequence in the trail (0: none yet)
    state: Any  # sent: the last feed sequence recorded; delivered: each consumer's progress


class DeliveryRecorder:
    def __init__(self, connection: Client, event_stream: str,
                 poll_seconds: float | None = None) -> None:
        self.connection, self.event_stream = connection, event_stream
        self.poll_seconds = poll_seconds or float(
            os.environ.get("ONESTOP_DELIVERIES_POLL_SECONDS") or POLL_SECONDS)
        self.trail: AuditTrail | None = None
        self._trail_began: str | None = None  # when the trail stream was created (RFC 3339)
        self._series: dict[tuple[str, str], Series] = {}
        self._following: asyncio.Task | None = None

    async def start(self) -> None:
        self.trail = await AuditTrail.open(self.connection, self.event_stream)
        await self._read_trail_start()
        self._following = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        await stopped(self._following)

    async def _read_trail_start(self) -> None:
        info = await self.connection.jetstream().stream_info(self.trail.log.stream)
        self._trail_began = _utc(info.created) if info.created else None

    async def _follow(self) -> None:
        quiet = False
        while True:
            try:
                await self.record_once()
                quiet = False
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server away: read where each series is, later
                if not quiet:
                    log.warning("deliveries: recording stopped (%s); trying again", error)
                quiet = True
                self._series.clear()
            await asyncio.sleep(self.poll_seconds)

    async def record_once(self) -> None:
        """Records what every feed was sent and how far its consumers are, as of now."""
        for feed in await self.feeds():
            try:
                await self._record_sent(feed)
                if feed.consumers:
                    await self._record_delivered(feed)
            except Conflict:  # another recorder wrote first: read its record next time
                self._series.pop((feed.principal, SENT), None)
                self._series.pop((feed.principal, DELIVERED), None)

    async def feeds(self) -> list[Feed]:
        """The feed streams, as the server lists them: only those on feed subjects (a server
        may hold many other streams, and is asked every poll)."""
        found: list[Feed] = []
        for info in await list_streams(self.connection, f"{subjects.FEED}.>"):
            config, state = info["config"], info["state"]
            principal = _feed_principal(config["name"], config.get("subjects") or [])
            if principal is not None:
                found.append(Feed(principal, config["name"], state["last_seq"],
                                  state.get("consumer_count", 0)))
        return found

    async def _series_of(self, principal: str, kind: str) -> Series:
        series = self._series.get((principal, kind))
        if series is None:
            last = await self.trail.log.last(audit_subject(self.event_stream, principal, kind))
            if last is None:
                series = Series(0, 0 if kind == SENT else {})
            else:
                record = orjson.loads(last.body)
                series = Series(last.sequence, record["last"] if kind == SENT
                                else _progress(record["consumers"]))
            self._series[(principal, kind)] = series
        return series

    async def _record_sent(self, feed: Feed) -> None:
        series = await self._series_of(feed.principal, SENT)
        if feed.last <= series.state:
            return
        # A feed never recorded is read from when the trail began: nothing of this log was
        # sent before (the recorder starts before the feeds), and a server's older feed
        # messages, of other logs, are not read at all.
        since = self._trail_began if series.state == 0 else None
        messages: list[dict[str, Any]] = []
        async with aclosing(self.trail.log.read(subjects.all_feed(feed.principal),
                                                series.state + 1, page=BATCH,
                                                stop=feed.last, start_time=since,
                                                stream=feed.stream)) as sent:
            async for stored in sent:
                if stored.headers.get(subjects.FEED_LOG_HEADER, self.event_stream) \
                        == self.event_stream:
                    messages.append(sent_message(stored))
                if len(messages) == BATCH:
                    await self._write_sent(feed, series, messages)
                    messages = []
        if messages:
            await self._write_sent(feed, series, messages)
        # Another log's messages are passed over, not recorded: not read again while this
        # recorder runs (after a restart, once).
        series.state = max(series.state, feed.last)

    async def _write_sent(self, feed: Feed, series: Series,
                          messages: list[dict[str, Any]]) -> None:
        first, last = messages[0]["feed_sequence"], messages[-1]["feed_sequence"]
        series.follows = await self.trail.append(SENT, feed.principal, {
            "feed": feed.stream, "first": first, "last": last, "messages": messages},
            follows=series.follows)
        series.state = last

    async def _record_delivered(self, feed: Feed) -> None:
        series = await self._series_of(feed.principal, DELIVERED)
        consumers = [consumer_progress(info) for info in
                     await self.connection.jetstream().consumers_info(feed.stream)]
        consumers.sort(key=lambda consumer: consumer["consumer"])
        if _progress(consumers) == series.state:
            return
        series.follows = await self.trail.append(DELIVERED, feed.principal, {
            "feed": feed.stream, "consumers": consumers}, follows=series.follows)
        series.state = _progress(consumers)


def _feed_principal(stream: str, stream_subjects: list[str]) -> str | None:
    """The principal whose feed this stream is, if it is one."""
    if not stream.startswith(FEED_PREFIX) or len(stream_subjects) != 1:
        return None
    prefix, _, rest = stream_subjects[0].partition(f"{subjects.FEED}.")
    principal, _, tail = rest.partition(".")
    if prefix or tail != ">" or not principal:
        return None
    return principal


def sent_message(stored: Stored) -> dict[str, Any]:
    headers = stored.headers
    _, _, after = stored.subject.partition(".case.")
    position = headers.get("Onestop-Log-Sequence")
    intake = headers.get("Onestop-Intake-Sequence")
    return {"feed_sequence": stored.sequence,
            "at": headers.get("Nats-Time-Stamp"),
            "subject": stored.subject,
            "type": headers.get("ce-type") or ("outcome" if intake else None),
            "id": headers.get("ce-id"),
            "case_id": after or None,
            "position": int(position) if position else None,
            "intake_sequence": int(intake) if intake else None}


def consumer_progress(info: ConsumerInfo) -> dict[str, Any]:
    delivered, acknowledged = info.delivered, info.ack_floor
    return {"consumer": info.name,
            "durable": bool(info.config.durable_name),
            "delivered": delivered.stream_seq if delivered else 0,
            "delivered_at": _utc(delivered.last_active if delivered else None),
            "acknowledged": acknowledged.stream_seq if acknowledged else 0,
            "acknowledged_at": _utc(acknowledged.last_active if acknowledged else None),
            "pending": info.num_pending or 0,
            "unacknowledged": info.num_ack_pending or 0}


def _progress(consumers: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """What makes a `delivered` record worth writing: a consumer that came, went or moved."""
    return {consumer["consumer"]: (consumer["delivered"], consumer["acknowledged"])
            for consumer in consumers}


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat()
