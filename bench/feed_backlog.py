"""`onestop bench feeds`: how fast the department feeds take in a backlog of case events,
sending each feed its messages as atomic batches, beside two references measured in the same
run: the same publisher sending one message at a time (as it must to a feed stream an older
onestop made), and raw JetStream storing the same messages as atomic batches, with nothing
decided (the floor).

The log is the one `onestop bench views` writes: the district's scenarios, copied until the
stream holds `--events`, each case's events spread through it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from adapters.arguments import OneLineParser
from adapters.jetstream.log import Outgoing, StreamLog
from bench.event_store import nats_server
from bench.view_queries import write_log
from bus.contract.identity import feed_stream
from bus.service.bus_streams import ensure_bus_streams
from bus.service.feed_outbox import BATCH_MESSAGES
from bus.service.feeds import NOT_COPIED, FeedPublisher
from bus.service.security import district_principals
from domain.reference import load_reference


@dataclass
class Row:
    name: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


async def publish_backlog(connection: Client, stream: str, head: int) -> float:
    """Seconds one publisher takes to bring every feed up to the log's `head`."""
    publisher = FeedPublisher(connection, stream, name=f"bench-{uuid.uuid4().hex[:8]}")
    await publisher.log.start()
    await publisher.cursor.open()
    try:
        started = time.perf_counter()
        while publisher.position < head:
            if not await publisher.publish_next_batch():
                break
        return time.perf_counter() - started
    finally:
        await publisher.log.close()


async def feed_messages(connection: Client, feeds: list[str]) -> dict[str, list[Outgoing]]:
    """Every message each feed holds, as sent (for the raw reference to store again)."""
    held = {}
    for stream in feeds:
        log = StreamLog(connection, stream, request_timeout=30)
        await log.start()
        try:
            # Without the headers of the batch it was stored in: they would be this one's.
            held[stream] = [Outgoing(stored.subject, {name: value for name, value
                                                      in stored.headers.items()
                                                      if name not in NOT_COPIED}, stored.body)
                            async for stored in log.read(">")]
        finally:
            await log.close()
    return held


async def fresh_feeds(connection: Client, stream: str, feeds: list[str], principals: list[str],
                      atomic: bool) -> None:
    """Empty feed streams and no cursor: taking atomic batches, or made as an older onestop
    made them."""
    js = connection.jetstream()
    for name in [*feeds, f"KV_{stream}_FEEDS"]:
        try:
            await js.delete_stream(name)
        except NotFoundError:
            pass
    await ensure_bus_streams(js, principals)
    if not atomic:
        for name in feeds:
            info = await js.stream_info(name)
            await js.delete_stream(name)
            info.config.allow_atomic = False
            await js.add_stream(info.config)


async def raw_batches(connection: Client, sent: dict[str, list[Outgoing]]) -> Row:
    """The floor: the same messages stored as the outbox stores them (each feed's in atomic
    batches of the same size, the feeds side by side), with nothing read or decided."""
    js = connection.jetstream()
    prefix = f"BENCH_FEEDS_RAW_{uuid.uuid4().hex[:6].upper()}"
    logs = {}
    for number, feed in enumerate(sent):
        name = f"{prefix}_{number}"
        await js.add_stream(name=name, subjects=[f"{name}.>"], allow_atomic=True)
        logs[feed] = StreamLog(connection, name, request_timeout=30)
        await logs[feed].start()

    async def store(feed: str) -> None:
        log = logs[feed]
        messages = [Outgoing(f"{log.stream}.{message.subject}", message.headers, message.body)
                    for message in sent[feed]]
        for first in range(0, len(messages), BATCH_MESSAGES):
            await log.publish_batch(messages[first:first + BATCH_MESSAGES])
    try:
        started = time.perf_counter()
        await asyncio.gather(*(store(feed) for feed in sent))
        seconds = time.perf_counter() - started
    finally:
        for log in logs.values():
            await log.close()
            await js.delete_stream(log.stream)
    return Row("raw JetStream, atomic batches", sum(map(len, sent.values())), seconds)


async def measure(nats_url: str, stream: str) -> list[Row]:
    principals = [principal.id for principal in district_principals(load_reference())
                  if principal.has_feed]
    feeds = [feed_stream(principal) for principal in principals]
    connection = await nats.connect(nats_url, name="bench-feeds")
    try:
        head = (await connection.jetstream().stream_info(stream)).state.last_seq
        await fresh_feeds(connection, stream, feeds, principals, atomic=True)
        batched = await publish_backlog(connection, stream, head)
        sent = await feed_messages(connection, feeds)
        raw = await raw_batches(connection, sent)
        await fresh_feeds(connection, stream, feeds, principals, atomic=False)
        one_by_one = await publish_backlog(connection, stream, head)
        count = sum(map(len, sent.values()))
        again = sum(map(len, (await feed_messages(connection, feeds)).values()))
        if again != count:  # the two ways must send the same
            raise SystemExit(f"onestop: one at a time sent {again:,} messages, "
                             f"batches {count:,}")
        return [Row("onestop feeds, atomic batches", count, batched),
                Row("reference: the same, one at a time", count, one_by_one), raw]
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="onestop bench feeds", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events in the log")
    parser.add_argument("--nats-url", help="an existing server (default: an embedded one)")
    args = parser.parse_args(argv)
    stream = f"BENCH_FEEDS_{uuid.uuid4().hex[:6].upper()}"
    with nats_server(args.nats_url) as nats_url:
        started = time.perf_counter()
        total = write_log(nats_url, stream, args.events)
        print(f"{total:,} events in {stream}, written in {time.perf_counter() - started:.1f} s")
        rows = asyncio.run(measure(nats_url, stream))
    floor = rows[-1].rate
    print(f"{'':38} {'messages':>9} {'seconds':>8} {'messages/s':>11} {'of raw':>7}")
    for row in rows:
        print(f"{row.name:38} {row.messages:>9,} {row.seconds:>8.2f} {row.rate:>11,.0f} "
              f"{row.rate / floor:>7.0%}")
    return 0
