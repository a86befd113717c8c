"""The inputs a fuzzer found breaking the system, replayed exactly: each now gets a structured
error or a clean success, and every view is still running afterwards."""

from __future__ import annotations

import asyncio
import json
import threading
from uuid import uuid4

import orjson
import pytest

from bus.contract import subjects
from bus.contract.identity import feed_stream
from tests.bus.service.test_authority import LEAD, District
from tests.bus.service.test_bus_intake import read_stream, registration
from tests.bus_support import Service, service_on_its_own_server, when
from tests.processes import wait_until

OUT_OF_RANGE = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00", 253402300799,
                1773018000]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_on_its_own_server(tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def district(service):
    return District(service)


def views_running(service: Service) -> None:
    views = service.query("samr", "views.status", {})["result"]["views"]
    assert all(view["state"] == "running" for view in views), views


def test_times_at_the_ends_of_the_calendar_or_as_numbers_are_invalid(service, district):
    case = district.with_appointment()
    before = service.log_length()
    sends = {
        "case.reschedule_appointment": lambda at: {"case_id": case, "at": at, "place": "x",
                                                   "reason": "y"},
        "case.record_visit": lambda at: {"case_id": case, "visited_at": at,
                                         "experts": [district.expert()],
                                         "findings": [{"stage": "production", "finding": "x"}]},
        "dispute.schedule_mediation": lambda at: {"dispute_id": district.dispute(False),
                                                  "at": at, "place": "x",
                                                  "mediator_department": LEAD},
        "equipment.register": lambda at: {"name": "x", "owner_institution": "y",
                                          "capabilities": ["z"],
                                          "calibration_valid_until": at},
        "equipment.recalibrate": lambda at: {"equipment_id": district.instrument(),
                                             "valid_until": at},
    }
    for command, fields in sends.items():
        for at in OUT_OF_RANGE:
            principal = "samr" if command.startswith("dispute") else LEAD
            body = fields(at)  # its records made first: they are writes of their own
            before = service.log_length()
            reply = district.request(principal, command, **body)
            assert reply["error"]["code"] == "command.invalid", (command, at, reply)
            assert service.log_length() == before
    # Within the calendar but far from now: refused by the domain, with what it allows.
    far = district.request(LEAD, "case.reschedule_appointment", case_id=case, at=when(5 * 365),
                           place="x", reason="y")
    assert far["error"]["code"] == "case.out_of_range" and far["error"]["fields"]["field"] == "at"
    views_running(service)


@pytest.mark.parametrize("params", [
    {"version": None}, {}, {"version": 10**30}, {"version": 2**63}, {"version": "1"},
    {"at": "9999-12-31T23:00:00-05:00"}, {"at": 0},
])
def test_a_case_as_of_any_version_or_time_is_answered(service, district, params):
    body = json.dumps({"case_id": district.case(), **params}).encode()  # any size of number
    reply = service.runner.run(service.client_for(LEAD).request(
        subjects.query(LEAD, "case.as_of"), body, timeout=10))
    answer = orjson.loads(reply.data)
    # At version 1 the case was not LEAD's yet: forbidden is the right answer there.
    assert answer["ok"] or answer["error"]["code"] in (
        "query.invalid", "query.not_found", "query.forbidden"), answer


@pytest.mark.parametrize("query, record", [("expert.schedule", "expert_id"),
                                           ("equipment.bookings", "equipment_id")])
@pytest.mark.parametrize("since, until", [
    ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"),
    ("9999-12-31T23:00:00-05:00", "2026-01-01T00:00:00+08:00"),
    (0, 253402300799),
])
def test_schedules_at_the_ends_of_the_calendar_are_invalid_not_internal_errors(
        service, district, query, record, since, until):
    resource = district.expert() if record == "expert_id" else district.instrument()
    answer = service.query(LEAD, query, {record: resource, "since": since, "until": until})
    assert answer["error"]["code"] == "query.invalid", answer


@pytest.mark.parametrize("status", ["503", "100", "404", "408"])
def test_a_command_sent_with_a_status_header_gets_its_own_reply(service, status):
    client = service.client_for("portal")
    body = orjson.dumps(registration())
    reply = service.runner.run(client.request(subjects.command("portal", "enterprise.register"),
                                              body, timeout=10, headers={"Status": status}))
    assert reply.headers is None  # nothing of the request's comes back
    assert orjson.loads(reply.data)["ok"]


def test_intake_messages_with_status_headers_all_end_with_an_outcome(service):
    principal = "post_laisu"
    sent = []
    js = service.client_for(principal).jetstream()
    for n in range(22):
        command = registration(command_id=uuid4().hex)
        headers = {"Status": "503"} if n in (3, 11) else None
        service.runner.run(js.publish(subjects.intake(principal, "enterprise.register"),
                                      orjson.dumps(command), headers=headers))
        sent.append(command["command_id"])
    outcomes = read_stream(service, feed_stream(principal), subjects.feed_outcome(principal),
                           22, reader=principal)
    assert sorted(orjson.loads(m.data)["command_id"] for m in outcomes) == sorted(sent)
    assert all(orjson.loads(m.data)["ok"] for m in outcomes)


def test_intake_from_a_principal_without_a_feed_is_not_accepted(service):
    # The auditor sends no commands and has no feed for outcomes: the server refuses its
    # intake subjects outright.
    client = service.client_for("auditor")
    with pytest.raises(Exception):
        service.runner.run(client.jetstream().publish(
            subjects.intake("auditor", "enterprise.register"), b"{}", timeout=2))


def test_an_intake_batch_cut_by_a_server_restart_still_ends_with_every_outcome(tmp_path):
    with service_on_its_own_server(tmp_path) as service:
        principal = "post_laisu"
        dispatcher = service.bus.services.dispatcher
        dispatch, handling, restarted = dispatcher.dispatch, threading.Event(), threading.Event()

        async def held(*arguments):
            # The batch is pulled and being handled, nothing acknowledged yet, when the
            # server goes away and comes back.
            handling.set()
            await asyncio.to_thread(restarted.wait, 60)
            return await dispatch(*arguments)
        dispatcher.dispatch = held

        js = service.client_for(principal).jetstream()
        sent = []
        for _ in range(40):
            command = registration(command_id=uuid4().hex)
            service.runner.run(js.publish(subjects.intake(principal, "enterprise.register"),
                                          orjson.dumps(command)))
            sent.append(command["command_id"])
        assert handling.wait(30)
        server = service.district.server
        server.stop()
        server.start()
        restarted.set()

        def every_outcome() -> bool:
            try:
                got = read_stream(service, feed_stream(principal),
                                  subjects.feed_outcome(principal), 40, reader=principal)
            except Exception:  # noqa: BLE001 - not all there yet, or the client reconnecting
                return False
            return sorted({orjson.loads(m.data)["command_id"] for m in got}) == sorted(sent)
        wait_until(every_outcome, 120, "every intake message has its outcome")
        assert service.log_length() == 40
