"""What each department's feed was sent, and how far its own consumers read it, in the audit
trail: every feed message once with its case and log position, each consumer's progress with
the server's times; asked for by the auditors, in a department's and a case's export; and two
recorders at once still write each message once. (The recorder killed again and again under
load: tests/bus/service/test_feeds_exactly_once.py.)"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.audit.export import Scope, export_entries
from adapters.audit.trail import DELIVERED, AuditTrail, audit_stream, audit_subject
from bus.contract import subjects
from bus.contract.identity import feed_stream
from bus.service.deliveries import DeliveryRecorder
from tests.bus.service.test_feeds_exactly_once import (
    assert_sent_recorded_once_in_order,
    read,
    sent_records,
)
from tests.bus_support import Service, service_on_its_own_server
from tests.processes import wait_until


@pytest.fixture
def service(tmp_path, monkeypatch):
    monkeypatch.setenv("ONESTOP_DELIVERIES_POLL_SECONDS", "0.05")
    with service_on_its_own_server(tmp_path) as running:
        yield running


def a_case(service: Service) -> tuple[str, int]:
    """A case led by jxw with zjw: both feeds are sent its two events (waited for)."""
    case, accepted = service.accepted_case()
    for department in ("jxw", "zjw"):
        wait_until(lambda: len(feed_of(service, department)) == 2, 15,
                   f"{department}'s feed holds the case")
    return case, accepted["position"]


def feed_of(service: Service, department: str) -> list:
    return read(service, feed_stream(department), subjects.all_feed(department))


def test_each_message_a_feed_was_sent_is_recorded_once_with_its_case_and_position(service):
    case, accepted_at = a_case(service)
    assert_sent_recorded_once_in_order(service, "jxw")
    assert_sent_recorded_once_in_order(service, "zjw")
    messages = [message for record in sent_records(service, "jxw")
                for message in record["messages"]]
    feed = feed_of(service, "jxw")
    assert [m["case_id"] for m in messages] == [case, case]
    assert [m["position"] for m in messages] == [
        int(stored.headers["Onestop-Log-Sequence"]) for stored in feed]
    assert messages[-1]["position"] == accepted_at
    assert [m["type"] for m in messages] == [stored.headers["ce-type"] for stored in feed]
    assert [m["id"] for m in messages] == [stored.headers["ce-id"] for stored in feed]
    assert all(m["at"] == stored.headers["Nats-Time-Stamp"]
               for m, stored in zip(messages, feed))
    # A department with nothing to do with the case was sent nothing, and nothing says so.
    assert sent_records(service, "kjj") == []


def delivered_records(service: Service, department: str) -> list[dict]:
    return [orjson.loads(stored.body) for stored in read(
        service, audit_stream(service.stream),
        audit_subject(service.stream, department, DELIVERED))]


def progress_of(service: Service, department: str, consumer: str) -> tuple[int, int] | None:
    records = delivered_records(service, department)
    for entry in records[-1]["consumers"] if records else []:
        if entry["consumer"] == consumer:
            return entry["delivered"], entry["acknowledged"]
    return None


def test_how_far_a_departments_own_consumer_read_its_feed_is_recorded_with_when(service):
    a_case(service)
    client = service.client_for("jxw")  # jxw's system, with jxw's credentials

    async def fetch() -> list:
        subscription = await client.jetstream().pull_subscribe(
            subjects.all_feed("jxw"), durable="jxw-cases", stream=feed_stream("jxw"))
        return await subscription.fetch(2, timeout=5)
    first, second = service.runner.run(fetch())
    service.runner.run(first.ack_sync())
    # Handed both, acknowledged the first.
    wait_until(lambda: progress_of(service, "jxw", "jxw-cases") == (2, 1), 15,
               "jxw's consumer is recorded at 2 handed, 1 acknowledged")
    service.runner.run(second.ack_sync())
    wait_until(lambda: progress_of(service, "jxw", "jxw-cases") == (2, 2), 15,
               "jxw's consumer is recorded at 2 acknowledged")
    records = delivered_records(service, "jxw")
    [entry] = records[-1]["consumers"]
    assert entry["durable"] is True
    assert entry["delivered_at"] and entry["acknowledged_at"]
    assert entry["acknowledged_at"] >= entry["delivered_at"]
    assert entry["pending"] == entry["unacknowledged"] == 0
    # Recorded when it moved, not at every look: no two records say the same.
    progress = [[(e["delivered"], e["acknowledged"]) for e in record["consumers"]]
                for record in records]
    assert all(before != after for before, after in zip(progress, progress[1:]))


def test_auditors_ask_what_a_feed_was_sent_and_how_far_it_was_read_departments_cannot(service):
    case, _ = a_case(service)
    assert_sent_recorded_once_in_order(service, "jxw")
    sent = service.query("auditor", "audit.sent", {"principal": "jxw"})
    assert sent["ok"], sent
    sent = sent["result"]["items"]
    assert {record["kind"] for record in sent} == {"sent"}
    assert [m["case_id"] for record in sent for m in record["messages"]] == [case, case]
    deliveries = service.query("samr", "audit.deliveries", {"principal": "jxw"})
    assert deliveries["ok"] and deliveries["result"]["items"] == []  # nobody read it yet
    for query in ("audit.sent", "audit.deliveries"):
        refused = service.query("jxw", query, {"principal": "jxw"})
        assert refused["error"]["code"] == "query.forbidden", refused


def test_a_department_and_a_case_export_say_what_was_sent(service):
    case, _ = a_case(service)
    assert_sent_recorded_once_in_order(service, "jxw")
    assert_sent_recorded_once_in_order(service, "zjw")

    async def exported(scope: Scope) -> list[dict]:
        async with aclosing(export_entries(service.client, service.stream, scope)) as entries:
            return [entry async for entry in entries]
    of_jxw = service.runner.run(exported(Scope(department="jxw")))
    assert [e["principal"] for e in of_jxw if e["kind"] == "sent"] == ["jxw"]
    of_case = service.runner.run(exported(Scope(case_id=case)))
    assert sorted(e["principal"] for e in of_case if e["kind"] == "sent") == ["jxw", "zjw"]
    of_other = service.runner.run(exported(Scope(case_id=str(uuid4()))))
    assert [e for e in of_other if e["kind"] == "sent"] == []


def test_two_recorders_at_once_record_each_message_once(service):
    # 700 outcomes in one feed (three records' worth), and two recorders racing to record
    # them into a trail of their own (the service's recorder is not in this race).
    async def fill() -> None:
        js = service.client.jetstream()
        for number in range(700):
            await js.publish(subjects.feed_outcome("portal"), b"{}",
                             headers={"Onestop-Intake-Sequence": str(number + 1)})
    service.runner.run(fill())
    connection = service.runner.run(nats.connect(service.district.url("service")))
    recorders = [DeliveryRecorder(connection, "RACE") for _ in range(2)]

    async def race() -> None:
        for recorder in recorders:
            recorder.trail = await _trail_of(connection, "RACE")
        for _ in range(3):
            await asyncio.gather(*(recorder.record_once() for recorder in recorders))
    service.runner.run(race())
    records = [orjson.loads(stored.body) for stored in read(
        service, audit_stream("RACE"), audit_subject("RACE", "portal", "sent"))]
    outcomes = [m for record in records for m in record["messages"]]
    assert [m["intake_sequence"] for m in outcomes] == list(range(1, 701))
    assert {m["type"] for m in outcomes} == {"outcome"}
    service.runner.run(connection.close())


async def _trail_of(connection, stream: str) -> AuditTrail:
    return await AuditTrail.open(connection, stream)


def test_the_recorder_reads_where_the_trail_ends(service):
    """Its only cursor is the trail: a new recorder goes on after the last record."""
    a_case(service)
    assert_sent_recorded_once_in_order(service, "jxw")
    before = len(sent_records(service, "jxw"))
    connection = service.runner.run(nats.connect(service.district.url("service")))

    async def again() -> None:
        recorder = DeliveryRecorder(connection, service.stream)
        recorder.trail = await _trail_of(connection, service.stream)
        await recorder.record_once()
    service.runner.run(again())
    assert len(sent_records(service, "jxw")) == before
    service.runner.run(connection.close())


def test_streams_that_are_no_feeds_are_not_recorded(service):
    # The event log, its trail, the intake, the dead letters: none is a feed.
    connection = service.runner.run(nats.connect(service.district.url("service")))

    async def feeds() -> list[str]:
        return [feed.stream for feed in await DeliveryRecorder(connection, service.stream
                                                               ).feeds()]
    found = service.runner.run(feeds())
    assert found and all(name.startswith("FEED_") for name in found)
    assert feed_stream("jxw") in found
    service.runner.run(connection.close())
