"""What a round of the feed publisher writes to its cursor: events no feed carries are passed
with one write and no claim (nothing can be half sent); a batch holding a case's event is
claimed before it is sent and marked done after, as the exactly-once rule needs."""

from __future__ import annotations

import asyncio

import nats
import orjson

from adapters.jetstream.log import Outgoing, Stored, StreamLog
from bus.service.feed_cursor import KEY
from bus.service.feeds import FeedPublisher, concerns_feeds


def event(topic: str, foreign: bool = False) -> Stored:
    return Stored("S.events.x", 1, {"Onestop-Topic": topic}, b"{}", foreign)


def test_only_a_case_or_rating_event_or_a_foreign_message_concerns_the_feeds():
    assert concerns_feeds(event("case.submitted"))
    assert concerns_feeds(event("evaluation.rated"))
    assert concerns_feeds(event("enterprise.registered", foreign=True))  # to be noted
    assert not concerns_feeds(event("enterprise.registered"))
    assert not concerns_feeds(event("expert.registered"))
    assert not concerns_feeds(Stored("S.events.x", 1, {}, b"{}"))


def test_a_batch_no_feed_carries_is_passed_in_one_cursor_write(nats_url, unique_name):
    stream = unique_name("FEEDROUND").upper()

    async def rounds() -> tuple[list[int], list[int], dict]:
        client = await nats.connect(nats_url)
        try:
            js = client.jetstream()
            await js.add_stream(name=stream, subjects=[f"{stream}.>"], allow_direct=True)
            log = StreamLog(client, stream, request_timeout=5)
            await log.start()
            publisher = FeedPublisher(client, stream)
            await publisher.log.start()
            await publisher.cursor.open()
            kv = await js.key_value(f"{stream}_FEEDS")
            published, revisions = [], []
            for round_ in range(3):
                for number in range(5):
                    await log.publish(Outgoing(f"{stream}.events.e{round_}{number}",
                                               {"Onestop-Topic": "enterprise.registered",
                                                "ce-specversion": "1.0"}, b"{}"))
                published.append(await publisher.publish_next_batch())
                revisions.append((await kv.get(KEY)).revision)
            cursor = orjson.loads((await kv.get(KEY)).value)
            await log.close()
            await publisher.log.close()
            return published, revisions, cursor
        finally:
            await client.close()

    published, revisions, cursor = asyncio.run(rounds())
    assert published == [5, 5, 5]
    # The first round also creates the cursor; after that, one write a round.
    assert revisions[1] - revisions[0] == 1 and revisions[2] - revisions[1] == 1
    assert cursor["position"] == 15 and cursor["until"] == 0 and cursor["holder"] == ""
