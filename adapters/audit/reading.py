"""Reading the refusals and reads back from `<stream>_AUDIT`, in the order they were recorded.

A principal's records are a subject filter; a time range is checked against each record's
own `at` (UTC), `since` included and `until` not. Records are appended as they happen, so the
stream is in time order, but for the clocks of the service processes that wrote them: a period
is read from the records the server stored a little before its start (`CLOCK_SKEW`), and ends
at the first record a little after its end. A year of reads is not read to answer for a day.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import datetime, timedelta
from typing import Any

import orjson

from adapters.audit.trail import audit_subject
from adapters.jetstream.log import StreamLog
from projections.times import utc

# How far apart the clocks of the processes writing the trail (and the server's) may be.
CLOCK_SKEW = timedelta(minutes=5)


class AuditReader:
    def __init__(self, log: StreamLog, event_stream: str) -> None:
        self.log = log  # on the audit stream
        self.event_stream = event_stream

    def subject(self, kind: str | None, principal: str | None) -> str:
        return audit_subject(self.event_stream, principal or "*", kind or "*")

    async def records(self, kind: str | None = None, principal: str | None = None,
                      since: str | None = None, until: str | None = None
                      ) -> AsyncIterator[dict[str, Any]]:
        """Each record with its `sequence` in the audit stream; `since`/`until` UTC text."""
        start_time = None if since is None else _shifted(since, -CLOCK_SKEW)
        beyond = None if until is None else _shifted(until, CLOCK_SKEW)
        async with aclosing(self.log.read(self.subject(kind, principal), 1,
                                          start_time=start_time)) as stored_records:
            async for stored in stored_records:
                record = orjson.loads(stored.body)
                at = utc(record["at"])
                if beyond is not None and at >= beyond:
                    return  # all the rest is later still
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
                if until is None and total == offset + limit:
                    # With no end to the period, every record after the page is in it: the
                    # server counts them, and none is read.
                    subject = self.subject(kind, principal)
                    total += await self.log.count_after(subject, last)
                    newest = await self.log.last(subject)
                    last = newest.sequence if newest is not None else last
                    break
        return items, total, last


def _shifted(instant: str, by: timedelta) -> str:
    """UTC text (`utc`) moved by `by`, in RFC 3339 as the server takes it too."""
    return utc(datetime.fromisoformat(instant) + by)
