"""Refused commands and reads of case data, in an append-only stream of their own.

Accepted changes are the events themselves. What a principal tried and was refused, and which
cases it read, are not domain events, yet an auditor must be able to replay them as surely:
each is recorded in `<stream>_AUDIT` (deny delete, deny purge) on
`<stream>.audit.<principal>.<refused|read>` before the principal gets its answer.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

import orjson
from nats.aio.client import Client

from adapters.jetstream.log import Outgoing, StreamLog
from adapters.jetstream.streams import StreamRecipe, ensure_stream

REFUSED, READ = "refused", "read"


def audit_stream(event_stream: str) -> str:
    return f"{event_stream}_AUDIT"


def audit_subject(event_stream: str, principal: str, kind: str) -> str:
    return f"{event_stream}.audit.{principal}.{kind}"


class AuditTrail:
    def __init__(self, log: StreamLog, event_stream: str) -> None:
        self.log = log
        self.event_stream = event_stream

    @classmethod
    async def open(cls, connection: Client, event_stream: str, replicas: int = 1,
                   request_timeout: float = 10.0) -> AuditTrail:
        recipe = StreamRecipe(audit_stream(event_stream), (f"{event_stream}.audit.>",),
                              append_only=True, replicas=replicas,
                              description="onestop audit trail: refusals and reads")
        await ensure_stream(connection.jetstream(), recipe, create=True)
        log = StreamLog(connection, recipe.name, request_timeout=request_timeout)
        await log.start()
        return cls(log, event_stream)

    async def refused(self, principal: str, command: str, command_id: str | None,
                      error: dict[str, Any], person: str | None = None) -> int:
        # A retry answered with the same refusal moments later is the same attempt.
        message_id = (f"refused:{principal}/{command}/{command_id}/{error.get('code')}"
                      if command_id else None)
        return await self._record(REFUSED, principal, {
            "command": command, "command_id": command_id, "person": person,
            "code": error.get("code"), "message": error.get("message"),
            "fields": error.get("fields", {})}, message_id)

    async def read(self, principal: str, query: str, case_ids: list[str],
                   position: int | None) -> int:
        return await self._record(READ, principal, {
            "query": query, "case_ids": case_ids, "position": position}, None)

    async def _record(self, kind: str, principal: str, details: dict[str, Any],
                      message_id: str | None) -> int:
        body = {"kind": kind, "principal": principal,
                "at": datetime.now(timezone.utc).isoformat(), **details}
        headers = {"Nats-Msg-Id": message_id or uuid4().hex, "Onestop-Audit-Kind": kind}
        return await self.log.publish(Outgoing(
            audit_subject(self.event_stream, principal, kind), headers, orjson.dumps(body)))
