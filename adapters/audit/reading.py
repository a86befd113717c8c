"""Reading the refusals and reads back from `<stream>_AUDIT`, in the order they were recorded.

A principal's records are a subject filter; a time range is checked against each record's
own `at` (UTC), `since` included and `until` not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson

from adapters.audit.trail import audit_subject
from adapters.jetstream.log import StreamLog
from projections.times import utc


class AuditReader:
    def __init__(self, log: StreamLog, event_stream: str) -> None:
        self.log = log  # on the audit stream
        self.event_stream = event_stream

    async def records(self, kind: str | None = None, principal: str | None = None,
                      since: str | None = None, until: str | None = None
                      ) -> AsyncIterator[dict[str, Any]]:
        """Each record with its `sequence` in the audit stream; `since`/`until` UTC text."""
        subject = audit_subject(self.event_stream, principal or "*", kind or "*")
        async with aclosing(self.log.read(subject, 1)) as stored_records:
            async for stored in stored_records:
                record = orjson.loads(stored.body)
                at = utc(record["at"])
                if (since is not None and at < since) or (until is not None and at >= until):
                    continue
                yield {"sequence": stored.sequence, **record, "at_utc": at}

    async def page(self, kind: str, principal: str | None, since: str | None,
                   until: str | None, limit: int, offset: int) -> tuple[list[dict], int, int]:
        """One page of the matching records, how many match, and the last sequence read."""
        items: list[dict] = []
        total = last = 0
        async with aclosing(self.records(kind, principal, since, until)) as records:
            async for record in records:
                if offset <= total < offset + limit:
                    items.append(record)
                total += 1
                last = record["sequence"]
        return items, total, last
