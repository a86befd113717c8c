"""What the log of record promises beyond the library's suites, proven on a real nats-server."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from uuid import RFC_4122, UUID, uuid4

import nats
import orjson
import pytest
from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
from nats.js.api import StreamConfig
from nats.js.errors import APIError

from adapters.jetstream import JetStreamFactory
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import StreamLog
from adapters.jetstream.streams import StreamConfigurationError


def event(originator_id, version: int, state: dict | None = None, topic: str = "topic") -> StoredEvent:
    body = state if state is not None else {"n": version, "timestamp": "2026-11-24T08:00:00+00:00"}
    return StoredEvent(originator_id=originator_id, originator_version=version, topic=topic,
                       state=orjson.dumps(body))


@pytest.fixture
def factory(nats_url, unique_name):
    factories = []

    def make(**env) -> JetStreamFactory:
        made = JetStreamFactory({"NATS_URL": nats_url, "NATS_STREAM": unique_name(), **env})
        factories.append(made)
        return made

    yield make
    for made in factories:
        made.close()


async def raw_messages(url: str, stream: str, subject: str) -> list:
    """Read the stream the way any NATS client would: no onestop code involved."""
    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        subscription = await js.subscribe(subject, stream=stream, ordered_consumer=True)
        info = await js.stream_info(stream)
        return [await subscription.next_msg(timeout=5) for _ in range(info.state.messages)]
    finally:
        await connection.close()


def test_a_plain_nats_client_reads_valid_cloudevents(factory, nats_url):
    store = factory()
    recorder = store.application_recorder()
    case_id = uuid4()
    recorder.insert_events([event(case_id, 1, {"enterprise": "长城汽车", "timestamp":
                                                 "2026-11-24T08:00:00+00:00"})])

    [message] = asyncio.run(raw_messages(nats_url, store.stream, f"{store.stream}.events.>"))

    headers = message.headers
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-id"] == headers["Nats-Msg-Id"]
    # A real UUID (version 8, RFC 9562 variant) that any validator accepts...
    ce_id = UUID(headers["ce-id"])
    assert ce_id.version == 8 and ce_id.variant == RFC_4122
    # ...derived from the event's content, so the same event resent keeps it.
    [stored] = recorder.select_events(case_id)
    assert ce.event_id(stored) == headers["ce-id"]
    assert headers["ce-source"] == f"/onestop/{store.stream}"
    assert headers["ce-type"].startswith("cn.gov.yongchuan.onestop.")
    assert headers["ce-subject"] == str(case_id)
    assert datetime.fromisoformat(headers["ce-time"]).tzinfo is not None
    assert headers["ce-datacontenttype"] == "application/json"
    assert orjson.loads(message.data) == {"enterprise": "长城汽车",
                                          "timestamp": "2026-11-24T08:00:00+00:00"}


def test_the_server_refuses_to_purge_the_log_or_delete_an_event(factory, nats_url):
    store = factory()
    store.application_recorder().insert_events([event(uuid4(), 1)])

    async def try_to_erase() -> list[str]:
        connection = await nats.connect(nats_url)
        refusals = []
        try:
            js = connection.jetstream()
            for erase in (lambda: js.purge_stream(store.stream),
                          lambda: js.delete_msg(store.stream, 1)):
                try:
                    await erase()
                except APIError as error:
                    refusals.append(error.description)
            return refusals
        finally:
            await connection.close()

    assert len(asyncio.run(try_to_erase())) == 2
    assert store.application_recorder().max_notification_id() == 1


def test_an_existing_stream_with_a_weaker_configuration_is_refused(nats_url, unique_name):
    name = unique_name()

    async def create_weak_stream() -> None:
        connection = await nats.connect(nats_url)
        try:
            await connection.jetstream().add_stream(
                StreamConfig(name=name, subjects=[f"{name}.events.>", f"{name}.tracking.>"],
                             allow_direct=True, max_msgs_per_subject=10)
            )
        finally:
            await connection.close()

    asyncio.run(create_weak_stream())
    weak = JetStreamFactory({"NATS_URL": nats_url, "NATS_STREAM": name})
    try:
        with pytest.raises(StreamConfigurationError) as refusal:
            weak.application_recorder()
    finally:
        weak.close()
    message = str(refusal.value)
    for weakness in ("deny_purge", "deny_delete", "allow_atomic", "max_msgs_per_subject"):
        assert weakness in message


def test_two_streams_on_one_server_are_independent_stores(factory):
    first, second = factory().application_recorder(), factory().application_recorder()
    shared_id = uuid4()
    first.insert_events([event(shared_id, 1)])
    second.insert_events([event(shared_id, 1)])  # no conflict: another store

    assert [n.id for n in first.select_notifications(None, 10)] == [1]
    assert [n.id for n in second.select_notifications(None, 10)] == [1]


def test_racing_saves_of_one_version_store_one_and_refuse_the_other(factory):
    recorder = factory().application_recorder()
    case_id = uuid4()
    recorder.insert_events([event(case_id, 1)])
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def save(label: str) -> None:
        start.wait()
        try:
            recorder.insert_events([event(case_id, 2, {"by": label})])
            outcomes.append("stored")
        except IntegrityError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=save, args=(label,)) for label in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("stored") == 1
    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 1
    assert [e.originator_version for e in recorder.select_events(case_id)] == [1, 2]


def test_a_conflict_on_one_aggregate_writes_nothing_for_the_others_in_the_save(factory):
    recorder = factory().application_recorder()
    case_id, expert_id = uuid4(), uuid4()
    recorder.insert_events([event(case_id, 1)])

    # Another writer (no shared hints) saves version 2 of the case first.
    other = factory(NATS_STREAM=recorder.store.subjects.stream).application_recorder()
    other.insert_events([event(case_id, 2, {"by": "other"})])

    with pytest.raises(IntegrityError):
        recorder.insert_events([event(case_id, 2, {"by": "me"}), event(expert_id, 1)])

    assert recorder.select_events(expert_id) == []
    assert recorder.max_notification_id() == 2


def test_a_save_whose_ack_was_lost_is_retried_and_stored_once(factory, monkeypatch):
    recorder = factory().application_recorder()
    lose_next_ack = {"single": True, "batch": True}
    real_publish, real_batch = StreamLog.publish, StreamLog.publish_batch

    async def publish_then_lose_ack(self, message):
        sequence = await real_publish(self, message)
        if lose_next_ack["single"]:
            lose_next_ack["single"] = False
            raise nats.errors.TimeoutError
        return sequence

    async def batch_then_lose_ack(self, messages):
        sequences = await real_batch(self, messages)
        if lose_next_ack["batch"]:
            lose_next_ack["batch"] = False
            raise nats.errors.TimeoutError
        return sequences

    monkeypatch.setattr(StreamLog, "publish", publish_then_lose_ack)
    monkeypatch.setattr(StreamLog, "publish_batch", batch_then_lose_ack)
    case_id, expert_id = uuid4(), uuid4()

    assert recorder.insert_events([event(case_id, 1)]) == [1]
    assert recorder.insert_events([event(case_id, 2), event(expert_id, 1)]) == [2, 3]

    assert not any(lose_next_ack.values())
    assert [n.id for n in recorder.select_notifications(None, 10)] == [1, 2, 3]
    # The same event saved again later is a conflict, not a retry.
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(case_id, 1)])


def test_a_save_larger_than_an_atomic_batch_is_refused_and_writes_nothing(factory):
    recorder = factory().application_recorder()
    case_id = uuid4()
    with pytest.raises(ProgrammingError, match="atomic"):
        recorder.insert_events([event(case_id, v) for v in range(1, 1002)])
    assert recorder.max_notification_id() is None


def test_ids_that_are_not_subject_tokens_are_stored_safely(factory):
    recorder = factory(ORIGINATOR_ID_TYPE="text").application_recorder()
    awkward = ["91500118MA5U7K9X2N", "a.b.c", "with space", "*", ">", "永川"]
    for originator_id in awkward:
        recorder.insert_events([event(originator_id, 1)])
    for originator_id in awkward:
        [stored] = recorder.select_events(originator_id)
        assert stored.originator_id == originator_id
    assert [n.originator_id for n in recorder.select_notifications(None, 10)] == awkward


def test_many_factories_leave_no_threads_or_connections_behind(nats_url, unique_name):
    def nats_threads() -> int:
        return sum(thread.name.startswith("nats-") for thread in threading.enumerate())

    before = nats_threads()
    for _ in range(25):
        made = JetStreamFactory({"NATS_URL": nats_url, "NATS_STREAM": unique_name()})
        made.application_recorder().insert_events([event(uuid4(), 1)])
        made.close()
        assert made.bridge.connection.is_closed
    assert nats_threads() == before


def test_loading_after_a_snapshot_reads_only_the_events_after_it(factory, monkeypatch):
    writer = factory()
    events, snapshots = writer.aggregate_recorder(), writer.aggregate_recorder("snapshots")
    case_id = uuid4()
    events.insert_events([event(case_id, v) for v in range(1, 51)])
    snapshots.insert_events([event(case_id, 50, {"snapshot": True})])
    events.insert_events([event(case_id, 51), event(case_id, 52)])

    # A fresh process knows nothing but what the snapshot tells it.
    reader = factory(NATS_STREAM=writer.stream)
    read_sequences: list[int] = []
    real_read = StreamLog.read

    async def counting_read(self, subject, start=1, **options):
        async for stored in real_read(self, subject, start, **options):
            read_sequences.append(stored.sequence)
            yield stored

    monkeypatch.setattr(StreamLog, "read", counting_read)
    [snapshot] = reader.aggregate_recorder("snapshots").select_events(case_id, desc=True, limit=1)
    after = reader.aggregate_recorder().select_events(case_id, gt=snapshot.originator_version)

    assert [e.originator_version for e in after] == [51, 52]
    assert read_sequences == [51, 52]
