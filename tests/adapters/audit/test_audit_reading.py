"""Reading refusals and reads back from the audit stream, on a real server: a page of a long
trail is read without reading the rest (the server counts it), and a period is read from
about its start to about its end, not from the first record ever."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import nats
import orjson

from adapters.audit.reading import AuditReader
from adapters.audit.trail import READ, REFUSED, AuditTrail, audit_subject
from adapters.jetstream.log import Outgoing, StreamLog


class Counted:
    """The audit stream's log, counting the messages read from it."""

    def __init__(self, log: StreamLog) -> None:
        self.log, self.read_messages = log, 0

    async def read(self, *args, **kwargs):
        async with aclosing(self.log.read(*args, **kwargs)) as messages:
            async for message in messages:
                self.read_messages += 1
                yield message

    def __getattr__(self, name: str):
        return getattr(self.log, name)


def record(stream: str, principal: str, kind: str, at: str) -> Outgoing:
    body = {"kind": kind, "principal": principal, "at": at, "query": "case.get"}
    return Outgoing(audit_subject(stream, principal, kind), {}, orjson.dumps(body))


async def trail_with(nats_url: str, stream: str, outgoing: list[Outgoing]):
    connection = await nats.connect(nats_url)
    trail = await AuditTrail.open(connection, stream)
    for message in outgoing:
        await trail.log.publish(message)
    return connection, trail


def test_a_page_of_a_long_trail_is_read_alone_and_the_rest_counted(nats_url, unique_name):
    stream = unique_name("AUD")
    at = "2026-03-02T09:00:00+08:00"
    outgoing = [record(stream, "samr" if n % 5 else "jxw", READ, at) for n in range(100)]
    outgoing += [record(stream, "samr", REFUSED, at) for _ in range(3)]

    async def run():
        connection, trail = await trail_with(nats_url, stream, outgoing)
        try:
            log = Counted(trail.log)
            reader = AuditReader(log, stream)
            page = await reader.page(READ, "samr", None, None, limit=5, offset=10)
            everyone = await reader.page(READ, None, None, None, limit=5, offset=0)
            refusals = await reader.page(REFUSED, None, None, None, limit=50, offset=0)
            return page, everyone, refusals, log.read_messages
        finally:
            await connection.close()

    (items, total, last), everyone, refusals, read = asyncio.run(run())
    assert total == 80 and len(items) == 5
    assert last == 100  # samr's last read: the 100th message (the 101st-103rd are refusals)
    assert everyone[1] == 100 and len(everyone[0]) == 5
    assert refusals[1] == 3 and len(refusals[0]) == 3
    # 15 and 5 for the pages, 3 for the refusals: not the trail's 103 twice over.
    assert read == 15 + 5 + 3


def test_a_period_is_read_from_about_its_start_to_about_its_end(nats_url, unique_name):
    stream = unique_name("AUD")
    days = [("2026-03-01", 3), ("2026-03-02", 4), ("2026-03-03", 2), ("2026-03-04", 5)]
    outgoing = [record(stream, "samr", READ, f"{day}T10:00:00+00:00")
                for day, count in days for _ in range(count)]

    async def run():
        connection, trail = await trail_with(nats_url, stream, outgoing)
        try:
            log = Counted(trail.log)
            reader = AuditReader(log, stream)
            bounded = await reader.page(READ, "samr", "2026-03-02T00:00:00.000000Z",
                                        "2026-03-03T00:00:00.000000Z", limit=10, offset=0)
            read_for_bounded = log.read_messages
            open_ended = await reader.page(READ, "samr", "2026-03-03T00:00:00.000000Z", None,
                                           limit=1, offset=0)
            return bounded, read_for_bounded, open_ended
        finally:
            await connection.close()

    (items, total, _last), read_for_bounded, (later, later_total, last) = asyncio.run(run())
    assert total == 4 and {item["at"][:10] for item in items} == {"2026-03-02"}
    # Stored just now, the records are all after the period's start as the server sees it;
    # the read ends at the first record past its end.
    assert read_for_bounded == 3 + 4 + 1
    assert later_total == 7 and later[0]["at"].startswith("2026-03-03")
    assert last == 14


def test_reading_from_a_time_starts_at_the_first_message_stored_then(nats_url, unique_name):
    stream = unique_name("AUD")
    outgoing = [record(stream, "samr", READ, "2026-03-02T09:00:00+08:00") for _ in range(6)]

    async def run():
        connection, trail = await trail_with(nats_url, stream, outgoing)
        try:
            subject = audit_subject(stream, "*", "*")
            async with aclosing(trail.log.read(subject, 4)) as from_sequence:
                fourth = await anext(from_sequence)
            stamp = fourth.headers["Nats-Time-Stamp"]

            async def read_from(start_time: str) -> list[int]:
                return [stored.sequence async for stored in trail.log.read(
                    subject, start_time=start_time)]

            return (await read_from("2000-01-01T00:00:00Z"), await read_from(stamp),
                    await read_from("2100-01-01T00:00:00Z"))
        finally:
            await connection.close()

    everything, from_fourth, nothing = asyncio.run(run())
    assert everything == [1, 2, 3, 4, 5, 6]
    assert from_fourth[0] <= 4 and from_fourth[-1] == 6
    assert nothing == []
