"""What a round of the feed publisher writes to its cursor: events no feed carries are passed
with one write and no claim (nothing can be half sent); a batch holding a case's event is
claimed before it is sent and marked done after, as the exactly-once rule needs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import nats
import orjson
from nats.js.api import StorageType, StreamConfig

from adapters.jetstream.log import Outgoing, Stored, StreamLog
from adapters.nats_address import connect_options
from bus.contract import subjects
from bus.contract.identity import feed_stream
from bus.service.feed_cursor import KEY
from bus.service.feeds import FeedPublisher, concerns_feeds
from bus.service.security import OPERATOR
from tests.bus.service.test_feeds_exactly_once import read
from tests.bus_support import Service, district_server, service_on_its_own_server, when
from tests.processes import wait_until


def feed_sequences(service, department: str) -> list[int]:
    """The log positions of what a department's feed holds, in its order."""
    return [int(stored.headers["Onestop-Log-Sequence"])
            for stored in read(service, feed_stream(department), subjects.all_feed(department))]


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


def read_log(service) -> list[Stored]:
    """The case events of the service's log."""
    return [stored for stored in read(service, service.stream, f"{service.stream}.events.>")
            if stored.headers.get("Onestop-Topic", "").startswith("case.")]


def test_a_publisher_that_was_cut_off_while_another_published_asks_the_feeds_again(tmp_path):
    # Two services, one log: A publishes, B takes over for a while (A cut off from its
    # lease), then A again. What A remembered of the feeds is behind them: it must not send
    # again what B sent, when a department becomes involved once more and is given the case.
    with service_on_its_own_server(tmp_path) as service:
        service.runner.run(service.bus.services.followers.feeds.stop())
        case, _ = service.accepted_case(lead="jxw", collaborators=())

        async def publishers() -> tuple[FeedPublisher, FeedPublisher]:
            made = []
            for name in ("feeds-a", "feeds-b"):
                publisher = FeedPublisher(service.client, service.stream, name=name)
                await publisher.log.start()
                await publisher.cursor.open()
                made.append(publisher)
            return made[0], made[1]
        a, b = service.runner.run(publishers())

        def caught_up(publisher: FeedPublisher) -> None:
            async def rounds() -> None:
                while await publisher.publish_next_batch():
                    pass
            service.runner.run(rounds())

        caught_up(a)  # the case, to jxw
        service.applied("jxw", "case.schedule_appointment", case_id=case, at=when(3), place="x")
        service.applied("jxw", "case.transfer", case_id=case, to="kjj", reason="technology")
        caught_up(b)  # the appointment and the transfer, to jxw
        service.applied("kjj", "case.transfer", case_id=case, to="jxw", reason="back")
        caught_up(a)  # jxw involved again: given the case's earlier events it lacks

        events = [stored.sequence for stored in read_log(service)]
        # jxw: everything, each once; kjj: from the first transfer (given what came before)
        # to the transfer away from it, which the lead left behind sees.
        assert feed_sequences(service, "jxw") == events
        assert feed_sequences(service, "kjj") == events


def test_a_feed_batch_not_stored_is_sent_again_and_one_stored_unacknowledged_is_not(
        tmp_path, monkeypatch):
    # The feeds' batches are atomic: stored whole or not at all. Here the first is refused,
    # and the second (the same messages, sent again) stored with its acknowledgement lost
    # (the server slow, the connection cut). Each time the round fails, and the next asks
    # the feeds what they hold: nothing lost, nothing twice, however short the server's
    # memory of message ids.
    monkeypatch.setenv("ONESTOP_FEED_DUPLICATE_WINDOW", "0.5")
    with service_on_its_own_server(tmp_path) as service:
        followers = service.bus.services.followers
        service.runner.run(followers.feeds.stop())
        for _ in range(3):  # several messages for jxw's feed in one round: a batch
            case, _ = service.accepted_case(lead="jxw", collaborators=())
            service.applied("jxw", "case.schedule_appointment", case_id=case, at=when(3),
                            place="x")
        publisher = FeedPublisher(service.client, service.stream, name="feeds-test")
        failed = []
        publish_batch = publisher.log.publish_batch

        async def failing_twice(messages):
            if not failed:
                failed.append("refused")
                raise TimeoutError("the batch was not taken")
            sequences = await publish_batch(messages)
            if len(failed) == 1:
                failed.append("unacknowledged")
                raise TimeoutError("the acknowledgement did not come")
            return sequences
        publisher.log.publish_batch = failing_twice
        # What a feed holds is asked of its stream's leader: on a cluster a direct get may be
        # answered by a follower that has not stored the last batch yet.
        direct_gets_of_feeds = []
        last = publisher.log.last

        async def last_recorded(subject, stream=None):
            if stream is not None:
                direct_gets_of_feeds.append(stream)
            return await last(subject, stream)
        publisher.log.last = last_recorded
        service.runner.run(publisher.start())
        try:
            head = service.log_length()

            async def position() -> int:
                cursor = await publisher.cursor.read()
                return cursor.position if cursor and not cursor.publishing else 0
            wait_until(lambda: service.runner.run(position()) >= head, 30,
                       "the feeds have published the whole log")
        finally:
            service.runner.run(publisher.stop())
        assert failed == ["refused", "unacknowledged"]
        assert direct_gets_of_feeds == []

        assert feed_sequences(service, "jxw") == [stored.sequence for stored in read_log(service)]


def test_a_feed_stream_an_older_onestop_made_is_sent_one_at_a_time_until_scaled(tmp_path):
    with district_server(tmp_path, "older-feeds") as district:
        async def older_feed() -> None:
            connection = await nats.connect(**connect_options(district.url(OPERATOR)))
            try:
                await connection.jetstream().add_stream(StreamConfig(
                    name=feed_stream("jxw"), subjects=[subjects.all_feed("jxw")],
                    storage=StorageType.FILE, allow_direct=True))
            finally:
                await connection.close()
        asyncio.run(older_feed())
        service = Service(district, "ONESTOP")
        try:
            def batches_advice() -> list[str]:
                reply = service.runner.run(service.client_for("samr").request(
                    subjects.HEALTH, b"", timeout=10))
                return [line for line in orjson.loads(reply.data)["warnings"]
                        if "atomic batches" in line]
            [advice] = batches_advice()
            assert "FEED_JXW" in advice and "`onestop scale`" in advice
            # Its feed is kept all the same, a message at a time.
            for _ in range(3):
                case, _ = service.accepted_case(lead="jxw", collaborators=())
                service.applied("jxw", "case.schedule_appointment", case_id=case,
                                at=when(3), place="x")
            wait_until(lambda: feed_sequences(service, "jxw") == [
                stored.sequence for stored in read_log(service)], 30, "jxw's feed is whole")

            env = {name: value for name, value in os.environ.items()
                   if not name.startswith(("ONESTOP_", "NATS_"))}
            env |= {"NATS_URL": district.server.url, "ONESTOP_DATA_DIR": str(tmp_path),
                    "NATS_STREAM": "ONESTOP"}
            scaled = subprocess.run([sys.executable, "-m", "bus.cli", "scale"], env=env,
                                    capture_output=True, text=True, timeout=60)
            assert scaled.returncode == 0, scaled.stderr
            assert "FEED_JXW: atomic batches" in scaled.stdout.splitlines()
            assert batches_advice() == []
        finally:
            service.close()
