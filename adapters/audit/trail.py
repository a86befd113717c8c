"""Refused commands and reads of case data, in an append-only stream of their own.

Accepted changes are the events themselves. What a principal tried and was refused, and which
cases it read, are not domain events, yet an auditor must be able to replay them as surely:
each is recorded in `<stream>_AUDIT` (deny delete, deny purge) on
`<stream>.audit.<principal>.<refused|read>` before the principal gets its answer. What
each principal's feed was sent, and how far its consumers read it, is recorded there too
(`<stream>.audit.<principal>.<sent|delivered>`, bus/service/deliveries.py).

It is chained and signed like the event log: a checkpointer of its own covers every record
(`trail_chain`), and `onestop audit verify --trail` checks it.

The trail is append-only and kept whole, so a sender that is refused on purpose, thousands
of times a minute, must not be able to fill the disk with it. Each principal's refusals are
recorded one by one up to `REFUSALS_PER_MINUTE` a minute; beyond that they are counted, by
code, and one record says how many there were, of which codes, between when and when
(`audit.many_refusals`), when the minute is over. What a principal read is always recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

import orjson
from nats.aio.client import Client

from adapters.audit.checkpoints import ChainSubjects
from adapters.jetstream.log import Outgoing, StreamLog
from adapters.jetstream.streams import StreamRecipe, configured_replicas, ensure_stream

REFUSED, READ = "refused", "read"
# What a principal's feed was sent, and how far its consumers got (bus/service/deliveries.py).
SENT, DELIVERED = "sent", "delivered"
REFUSALS_PER_MINUTE = 120
WINDOW_SECONDS = 60.0
MANY_REFUSALS = "audit.many_refusals"

# A record's own message id: this process's random prefix and a count. Unique, as a fresh
# uuid4 was, without asking the OS for random bytes per record (a twentieth of a query's CPU).
# A forked child draws a prefix of its own: the same ids would be taken for retries and dropped.
_RECORD_IDS_PREFIX = uuid4().hex
_record_numbers = itertools.count()


def _new_record_ids() -> None:
    global _RECORD_IDS_PREFIX
    _RECORD_IDS_PREFIX = uuid4().hex


os.register_at_fork(after_in_child=_new_record_ids)


def audit_stream(event_stream: str) -> str:
    return f"{event_stream}_AUDIT"


def audit_subject(event_stream: str, principal: str, kind: str) -> str:
    return f"{event_stream}.audit.{principal}.{kind}"


def trail_chain(event_stream: str) -> ChainSubjects:
    """The trail is chained and checkpointed as the event log is (checkpointer.py), its
    checkpoints beside its records: `<stream>.audit.checkpoints`, which no record's subject
    (`<stream>.audit.<principal>.<kind>`) can be."""
    return ChainSubjects(f"{event_stream}.audit.>", f"{event_stream}.audit.checkpoints")


class AuditTrail:
    def __init__(self, log: StreamLog, event_stream: str) -> None:
        self.log = log
        self.event_stream = event_stream
        self._windows: dict[str, _Window] = {}  # principal -> its minute of refusals

    @classmethod
    async def open(cls, connection: Client, event_stream: str, replicas: int | None = None,
                   request_timeout: float = 10.0) -> AuditTrail:
        recipe = StreamRecipe(audit_stream(event_stream), (f"{event_stream}.audit.>",),
                              append_only=True, replicas=replicas or configured_replicas(),
                              description="onestop audit trail: refusals and reads")
        await ensure_stream(connection.jetstream(), recipe, create=True)
        log = StreamLog(connection, recipe.name, request_timeout=request_timeout)
        await log.start()
        return cls(log, event_stream)

    async def refused(self, principal: str, command: str, command_id: str | None,
                      error: dict[str, Any], person: str | None = None,
                      parameters: dict[str, Any] | None = None) -> int | None:
        """Records the refusal, or counts it in its principal's minute (None). Every attempt
        refused is recorded, a retry of one as well: nothing tells a retry apart from a third
        person reusing a command id. `parameters`: what a refused query asked."""
        loop = asyncio.get_running_loop()
        window = self._windows.get(principal)
        if window is None or loop.time() >= window.ends:
            if window is not None:
                await self._summarise(principal, window)
            window = self._windows[principal] = _Window(loop.time() + WINDOW_SECONDS)
        window.recorded += 1
        if window.recorded > REFUSALS_PER_MINUTE:
            window.count(error.get("code") or "?")
            if window.summary is None:
                window.summary = loop.create_task(self._summarise_later(principal, window))
            return None
        return await self._record(REFUSED, principal, {
            "command": command, "command_id": command_id, "person": person,
            "code": error.get("code"), "message": error.get("message"),
            "fields": error.get("fields", {}),
            **({"parameters": parameters} if parameters is not None else {})})

    async def flush(self) -> None:
        """Writes the count of every minute not summarised yet (at stop)."""
        for principal, window in list(self._windows.items()):
            if window.summary is not None:
                window.summary.cancel()
            await self._summarise(principal, window)
        self._windows.clear()

    async def _summarise_later(self, principal: str, window: _Window) -> None:
        await asyncio.sleep(max(window.ends - asyncio.get_running_loop().time(), 0))
        if self._windows.get(principal) is window:
            del self._windows[principal]
        await self._summarise(principal, window)

    async def _summarise(self, principal: str, window: _Window) -> None:
        if not window.codes or window.summarised:
            return
        window.summarised = True
        count = sum(window.codes.values())
        await self._record(REFUSED, principal, {
            "command": "*", "command_id": None, "person": None, "code": MANY_REFUSALS,
            "message": f"{count} further refusal(s) of {principal} in a minute, counted "
                       "rather than recorded one by one",
            "fields": {"count": count, "codes": dict(window.codes),
                       "since": window.first, "until": window.last}})

    async def read(self, principal: str, query: str, case_ids: list[str],
                   position: int | None, person: str | None = None,
                   parameters: dict[str, Any] | None = None) -> int:
        """Who (principal and person) read which cases, asking what."""
        return await self._record(READ, principal, {
            "query": query, "case_ids": case_ids, "position": position, "person": person,
            "parameters": parameters or {}})

    async def append(self, kind: str, principal: str, details: dict[str, Any], *,
                     follows: int) -> int:
        """A record of a series with one writer at a time: written only if the last record
        on its subject is still the one at `follows` (0: none), else Conflict
        (adapters/jetstream/log.py) and nothing is written."""
        return await self._record(kind, principal, details, follows=follows)

    async def _record(self, kind: str, principal: str, details: dict[str, Any],
                      follows: int | None = None) -> int:
        body = {"kind": kind, "principal": principal,
                "at": datetime.now(timezone.utc).isoformat(), **details}
        # An id of its own: the log's retries of this one write are de-duplicated, and
        # nothing else.
        headers = {"Nats-Msg-Id": f"{_RECORD_IDS_PREFIX}-{next(_record_numbers)}",
                   "Onestop-Audit-Kind": kind}
        if follows is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(follows)
        return await self.log.publish(Outgoing(
            audit_subject(self.event_stream, principal, kind), headers, orjson.dumps(body)))


@dataclass
class _Window:
    """A principal's minute of refusals: how many so far, and those only counted."""

    ends: float  # loop time
    recorded: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    first: str | None = None  # when the first counted one came, ISO 8601 UTC
    last: str | None = None
    summary: asyncio.Task | None = None
    summarised: bool = False

    def count(self, code: str) -> None:
        now = datetime.now(timezone.utc).isoformat()
        self.first, self.last = self.first or now, now
        self.codes[code] = self.codes.get(code, 0) + 1
