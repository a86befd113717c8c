"""What the queries read of an aggregate is kept, and only what came after is asked of the
log: the same events as a read from the first, whatever the order of the reads; foreign
messages passed over and not read again; the oldest aggregates let go beyond the capacity."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson

from adapters.integrity.seal import Seal, sealed_metadata
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import Outgoing, StreamLog
from bus.service.histories import AggregateHistories, Kept


class CountingLog(StreamLog):
    """A log that remembers where each read began."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reads: list[int] = []

    async def pages(self, subject, start=1, **kwargs):
        self.reads.append(start)
        async for messages in super().pages(subject, start, **kwargs):
            yield messages


def event(stream: str, aggregate: str, version: int) -> Outgoing:
    return Outgoing(f"{stream}.events.{aggregate}", {
        "ce-subject": aggregate, ce.VERSION: str(version), ce.TOPIC: "case.withdrawn",
    }, orjson.dumps({"n": version}))


def run(nats_url: str, stream: str, scenario, seal: Seal | None = None):
    async def main():
        client = await nats.connect(nats_url)
        try:
            await client.jetstream().add_stream(name=stream, subjects=[f"{stream}.>"],
                                                allow_direct=True,
                                                metadata=sealed_metadata(seal))
            log = CountingLog(client, stream, request_timeout=5, seal=seal)
            await log.start()
            try:
                return await scenario(log)
            finally:
                await log.close()
        finally:
            await client.close()
    return asyncio.run(main())


def test_a_later_read_asks_the_log_only_for_what_came_after(nats_url, unique_name):
    stream = unique_name("HIST").upper()
    one, other = str(uuid4()), str(uuid4())

    async def scenario(log: CountingLog):
        histories = AggregateHistories(log)
        positions = []
        for version in range(1, 5):
            positions.append(await log.publish(log.sealed_message(event(stream, one, version))))
            await log.publish(event(stream, other, version))
        first = await histories.events(one, stop=positions[1])  # up to its second event
        earlier = await histories.events(one, stop=positions[0])  # nothing asked of the log
        everything = await histories.events(one)  # only what came after its second
        positions.append(await log.publish(log.sealed_message(event(stream, one, 5))))
        again = await histories.events(one)
        return positions, first, earlier, everything, again, log.reads

    positions, first, earlier, everything, again, reads = run(nats_url, stream, scenario)
    assert [e.version for e in first] == [1, 2]
    assert [e.version for e in earlier] == [1]
    assert [e.version for e in everything] == [1, 2, 3, 4]
    assert [e.version for e in again] == [1, 2, 3, 4, 5]
    assert [e.position for e in again] == positions
    assert reads == [1, positions[1] + 1, positions[3] + 1]


def test_a_read_for_what_is_needed_keeps_the_rest_of_the_servers_page(nats_url, unique_name):
    # An audit page needs an aggregate up to one change; the server's page that reached it
    # holds more, which are kept: a later page needing those asks nothing of the log.
    stream = unique_name("HIST").upper()
    one = str(uuid4())

    async def scenario(log: CountingLog):
        histories = AggregateHistories(log)
        positions = [await log.publish(log.sealed_message(event(stream, one, version)))
                     for version in range(1, 8)]
        head = positions[-1]
        second = await histories.events(one, stop=head, needed=positions[1], page=3)
        fourth = await histories.events(one, stop=head, needed=positions[2], page=3)
        reads_then = list(log.reads)
        fifth = await histories.events(one, stop=head, needed=positions[4], page=3)
        limited = await histories.events(one, stop=positions[1], needed=positions[1], page=3)
        return positions, second, fourth, reads_then, fifth, limited, log.reads

    positions, second, fourth, reads_then, fifth, limited, reads = run(nats_url, stream,
                                                                       scenario)
    assert [e.version for e in second] == [1, 2, 3]  # the whole page of three
    assert [e.version for e in fourth] == [1, 2, 3] and reads_then == [1]
    assert [e.version for e in fifth] == [1, 2, 3, 4, 5, 6]  # one more page
    assert reads == [1, positions[2] + 1]
    assert [e.version for e in limited] == [1, 2]  # never past `stop`


def test_a_foreign_message_is_passed_over_and_not_read_again(nats_url, unique_name, tmp_path):
    stream = unique_name("HIST").upper()
    aggregate = str(uuid4())
    seal = Seal.load_or_create(tmp_path)

    async def scenario(log: CountingLog):
        histories = AggregateHistories(log)
        await log.publish(log.sealed_message(event(stream, aggregate, 1)))
        forged = await log.publish(event(stream, aggregate, 2))  # no seal
        first = await histories.events(aggregate)
        second = await histories.events(aggregate)
        return forged, first, second, log.reads

    forged, first, second, reads = run(nats_url, stream, scenario, seal=seal)
    assert [e.version for e in first] == [e.version for e in second] == [1]
    assert reads == [1, forged + 1]


def test_beyond_its_capacity_the_aggregates_read_longest_ago_are_let_go(nats_url, unique_name):
    stream = unique_name("HIST").upper()
    aggregates = [str(uuid4()) for _ in range(3)]

    async def scenario(log: CountingLog):
        histories = AggregateHistories(log, capacity=4)
        for aggregate in aggregates:
            for version in (1, 2):
                await log.publish(event(stream, aggregate, version))
        for aggregate in aggregates:
            await histories.events(aggregate)
        log.reads.clear()
        last = await histories.events(aggregates[2])  # kept: asked only for what is after
        first = await histories.events(aggregates[0])  # let go: read from the first again
        return last, first, log.reads

    last, first, reads = run(nats_url, stream, scenario)
    assert [e.version for e in last] == [e.version for e in first] == [1, 2]
    assert reads[1] == 1 and reads[0] > 1


def test_what_is_kept_is_answered_without_the_log_when_it_is_enough(nats_url, unique_name):
    stream = unique_name("HIST").upper()
    one = str(uuid4())

    async def scenario(log: CountingLog):
        histories = AggregateHistories(log)
        for version in range(1, 4):
            await log.publish(log.sealed_message(event(stream, one, version)))
        first = await histories.events(one)
        await log.publish(log.sealed_message(event(stream, one, 4)))
        reads_before = list(log.reads)
        up_to_two = await histories.events(one, enough=lambda kept: kept[-1].version >= 2)
        not_enough = await histories.events(one, enough=lambda kept: kept[-1].version >= 4)
        return first, up_to_two, not_enough, reads_before, log.reads

    first, up_to_two, not_enough, reads_before, reads = run(nats_url, stream, scenario)
    assert [e.version for e in first] == [1, 2, 3]
    assert [e.version for e in up_to_two] == [1, 2, 3]  # what was kept, as kept
    assert [e.version for e in not_enough] == [1, 2, 3, 4]
    assert reads_before == [1] and len(reads) == 2  # only `not_enough` asked the log


def test_what_is_kept_by_key_lets_the_least_recently_used_go_first():
    kept = Kept(2)
    kept.keep(1, "one")
    kept.keep(2, "two")
    assert kept.get(1) == "one"  # used: 2 is now the least recently used
    kept.keep(3, "three")

    assert (kept.get(1), kept.get(2), kept.get(3)) == ("one", None, "three")


def test_enough_read_a_page_at_a_time_stops_where_it_is_enough(nats_url, unique_name):
    stream = unique_name("HIST").upper()
    one = str(uuid4())

    async def scenario(log: CountingLog):
        for version in range(1, 7):
            await log.publish(log.sealed_message(event(stream, one, version)))
        histories = AggregateHistories(log)
        pages: list[int] = []
        real_page = log._page

        async def counted_page(*args, **kwargs):
            messages, more = await real_page(*args, **kwargs)
            pages.append(len(messages))
            return messages, more

        log._page = counted_page
        up_to_two = await histories.events(one, enough=lambda kept: kept[-1].version >= 2,
                                           page=2)
        pages_then = list(pages)
        everything = await histories.events(one)
        return up_to_two, pages_then, everything, pages

    up_to_two, pages_then, everything, pages = run(nats_url, stream, scenario)
    assert [e.version for e in up_to_two] == [1, 2]
    assert pages_then == [2]  # one page of two, no more asked
    assert [e.version for e in everything] == [1, 2, 3, 4, 5, 6]  # on from the third
    assert pages == [2, 4]
