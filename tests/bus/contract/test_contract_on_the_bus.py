"""The published contract against the real thing: every command, query and event type of
docs/asyncapi.json produced on the bus, and each reply, answer, acknowledgement, outcome and
event (with its CloudEvents headers) validated against the document's own schemas.

One service on a server of its own (the intake and the feeds have fixed subjects), walked once
through every command; the tests then read what it answered and wrote. Every test of the bus
also checks its replies (tests/bus_support.py): this module is where each kind is covered.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.jetstream.cloudevents import TOPIC
from bus.contract import subjects
from bus.contract.identity import feed_stream
from bus.contract.operations import OPERATIONS
from bus.contract.queries import QUERIES
from bus.service.security import OPERATOR
from domain.escalation import OverdueEscalation
from tests.bus.contract.test_asyncapi import ACCEPTED_MONEY, REFUSED_MONEY
from tests.bus.service.test_authority import PROBES, TAKER, District
from tests.bus.service.test_bus_every_command import Walk, send_every_command
from tests.bus_support import Service, service_on_its_own_server, when
from tests.contract_support import contract

STATION = TAKER  # a principal with a feed for its intake outcomes


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_on_its_own_server(tmp_path_factory.mktemp("contract")) as running:
        yield running


@pytest.fixture(scope="module")
def walked(service) -> dict[str, str]:
    """Every command sent once, and what no command writes by itself: a case reopened by a
    low rating, and an overdue case escalated (as the overdue watch does, on the service's
    own store)."""
    send = Walk(service)
    ids = send_every_command(send)
    assert send.sent == set(OPERATIONS)
    district = District(service)
    district.send(TAKER, "case.rate", case_id=district.case("resolved"), score=1,
                  comment="bricks still crumble")
    district.case("open")  # due in its service's days: overdue in a year
    app = service.bus.services.dispatcher.app
    a_year_on = datetime.now(timezone.utc) + timedelta(days=400)
    assert OverdueEscalation(app, clock=lambda: a_year_on).run()
    return ids


def event_messages() -> set[str]:
    channel = contract().document["channels"]["log.events"]["messages"]
    return set(channel)


def reply_of(service: Service, principal: str, subject: str, body: bytes,
             headers: dict[str, str] | None = None) -> dict:
    client = service.client_for(principal)
    reply = service.runner.run(client.request(subject, body, timeout=10, headers=headers))
    return orjson.loads(reply.data)


def read_all(service: Service, stream: str, subject: str, reader: str,
             at_least: int = 1) -> list:
    """Every message of `stream` on `subject` (at least `at_least`, waited for), with its
    headers, read as `reader` with a pull consumer of its own."""
    client = service.client_for(reader)

    async def read():
        subscription = await client.jetstream().pull_subscribe(subject, stream=stream)
        deadline = asyncio.get_running_loop().time() + 15
        try:
            messages: list = []
            while asyncio.get_running_loop().time() < deadline:
                pending = (await subscription.consumer_info()).num_pending
                if pending == 0 and len(messages) >= at_least:
                    return messages
                try:
                    messages += await subscription.fetch(max(pending, 1), timeout=1)
                except nats.errors.TimeoutError:
                    continue
            raise AssertionError(f"{len(messages)} messages on {subject}, not {at_least}")
        finally:
            await subscription.unsubscribe()
    return service.runner.run(read())


# Commands.

def test_every_command_is_done_with_the_reply_the_contract_gives_it(service, walked):
    # The walk's replies were each checked as they came (Service.request); here, that each
    # command's success is the contract's `Done` and no other of its messages.
    district = District(service)
    for name, probe in PROBES.items():
        principal = sorted(probe.allowed)[0]
        reply = district.request(principal, name, **probe.fields(district))
        assert contract().check_reply(f"send.cmd.{name}", reply) == "Done", (name, reply)


def test_real_refusals_carry_a_code_their_command_lists(service, walked):
    district, seen = District(service), {}

    def refused(principal: str, name: str, body: dict | bytes) -> None:
        reply = service.request(principal, name, body)  # checked against the contract there
        assert contract().check_reply(f"send.cmd.{name}", reply) == f"{name}.refused"
        seen.setdefault(reply["error"]["code"], name)

    for name, probe in PROBES.items():
        fields = probe.fields(district)
        refused("auditor", name, {"command_id": uuid4().hex, "person": "审计", **fields})
        refused(sorted(probe.allowed)[0], name, {"command_id": uuid4().hex})
    enterprise, case = walked["enterprise_id"], walked["case_id"]

    def command(**fields) -> dict:
        return {"command_id": uuid4().hex, "person": "经办人", **fields}

    refused("portal", "case.submit", command(enterprise_id=enterprise, service_type="astrology",
                                             description="x", channel="online_platform"))
    refused("portal", "case.submit", command(enterprise_id=str(uuid4()), description="x",
                                             service_type="metrology", channel="online_platform"))
    refused("portal", "enterprise.register", command(
        credit_code="91500118MA5U000006", name="x", scale="small_micro", industry="plastics",
        town="laisu"))
    refused("portal", "enterprise.register", command(
        credit_code="91500118MA5U000005", name="x", scale="small_micro", industry="bricks",
        town="laisu"))
    refused("kjj", "case.close", command(case_id=case))  # closed already: invalid transition
    refused("zjw", "case.close", command(case_id=district.case("resolved")))  # not the lead
    refused("jxw", "case.transfer", command(case_id=district.case(), to="jxw", reason="x"))
    refused("jxw", "case.schedule_appointment", command(case_id=district.case(),
                                                        at=when(1000), place="x"))
    refused("samr", "recall.record_recalled", command(recall_id=district.recall(), units=99))
    reused = command(case_id=case)
    service.request("kjj", "case.close", reused)
    refused("kjj", "case.close", {**reused, "person": "someone else"})
    refused("portal", "case.submit", b"{not json")
    refused("portal", "case.submit", b"{" + b" " * 70_000 + b"}")
    assert {"command.not_permitted", "command.invalid", "case.unknown_service",
            "enterprise.not_found", "enterprise.invalid_credit_code",
            "enterprise.unknown_industry", "case.invalid_transition", "case.not_yours",
            "case.same_department", "case.out_of_range", "recall.over_recall",
            "command.id_reused", "command.malformed_json", "command.too_large"} <= set(seen)


def test_money_the_contract_accepts_is_what_the_service_accepts_on_the_bus(service, walked):
    project = District(service).improvement()
    schema = f"#/components/schemas/{OPERATIONS['improvement.record_investment'].schema.__name__}"
    for amount in ACCEPTED_MONEY + REFUSED_MONEY:
        command = {"command_id": uuid4().hex, "person": "x", "improvement_id": project,
                   "amount_yuan": amount}
        reply = service.request("jxw", "improvement.record_investment", command)
        assert reply["ok"] == (not contract().problems(schema, command)), (amount, reply)
        assert reply["ok"] == (amount in ACCEPTED_MONEY and amount is not True), amount
        if not reply["ok"]:
            assert reply["error"]["code"] == "command.invalid"
            assert list(reply["error"]["fields"]) == ["amount_yuan"]


# Queries.

def queries_of(walked: dict[str, str], credit_code: str) -> list[tuple[str, str, dict]]:
    """Every query with parameters that find something, some as a department sees them."""
    period = {"since": when(-30), "until": when(30)}
    case, expert, instrument = walked["case_id"], walked["expert_id"], walked["equipment_id"]
    return [
        ("samr", "case.get", {"case_id": case}),
        ("jxw", "case.get", {"case_id": case}),  # a lead it was transferred away from
        ("samr", "case.list", {"limit": 5}),
        ("samr", "case.as_of", {"case_id": case, "version": 3}),
        ("samr", "worklist.list", {"department": "samr"}),
        ("samr", "enterprise.history", {"enterprise_id": walked["enterprise_id"]}),
        ("samr", "enterprise.by_credit_code", {"credit_code": credit_code}),
        ("samr", "expert.schedule", {"expert_id": expert, "include_released": True, **period}),
        ("jxw", "expert.schedule", {"expert_id": expert, **period}),  # not its booking
        ("samr", "expert.workload", period),
        ("samr", "equipment.bookings", {"equipment_id": instrument, "include_released": True,
                                        **period}),
        ("samr", "equipment.utilisation", period),
        ("samr", "intake.counts", {}),
        ("samr", "intake.counts", {"group_by": ["day", "service_type"]}),
        ("samr", "audit.changes", {"limit": 100}),
        ("samr", "audit.refusals", {}),
        ("samr", "audit.reads", {}),
        ("samr", "audit.sent", {}),
        ("samr", "audit.deliveries", {}),
        ("samr", "audit.case_visibility", {"department": "kjj", "case_id": case,
                                           "at": when(1)}),
        ("samr", "audit.case_visibility", {"department": "zjw", "case_id": case,
                                           "at": when(1)}),
        ("samr", "kpi.summary", {"by": "town"}),
        ("samr", "kpi.summary", {"by": "month"}),
        ("samr", "kpi.summary", {"by": "station"}),
        ("jxw", "satisfaction.ranking", {"month": datetime.now().strftime("%Y-%m")}),
        ("jxw", "satisfaction.ranking", {"month": datetime.now().strftime("%Y-%m"),
                                         "of": "station"}),
        ("jxw", "views.status", {}),
    ]


def test_every_query_is_answered_with_the_result_the_contract_describes(service, walked):
    head = service.log_length()
    enterprise = service.query("samr", "enterprise.history", {
        "enterprise_id": walked["enterprise_id"], "min_position": head, "wait_ms": 10_000})
    answered = set()
    for principal, name, params in queries_of(walked, enterprise["result"]["enterprise"][
            "credit_code"]):
        answer = service.query(principal, name, {**params, "min_position": head,
                                                 "wait_ms": 10_000})
        assert contract().check_reply(f"send.query.{name}", answer) == f"{name}.answered", \
            (name, answer)
        answered.add(name)
    assert answered == set(QUERIES)


def test_real_query_refusals_carry_a_code_their_query_lists(service, walked):
    seen = {}

    def refused(principal: str, name: str, body: dict | bytes) -> None:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        answer = reply_of(service, principal, subjects.query(principal, name), data)
        assert contract().check_reply(f"send.query.{name}", answer) == f"{name}.refused", \
            (name, answer)
        seen.setdefault(answer["error"]["code"], name)

    for name in QUERIES:
        refused("samr", name, {"min_position": -1})
        refused("samr", name, b"[not json")
        refused("samr", name, b'{"x": "' + b"y" * 70_000 + b'"}')
    refused("samr", "case.get", {"case_id": str(uuid4())})
    refused("post_laisu", "worklist.list", {"department": "jxw"})
    refused("samr", "case.list", {"lead": "cia"})
    refused("samr", "case.list", {"min_position": 10**12, "wait_ms": 0})
    assert {"query.invalid", "query.malformed_json", "query.too_large", "query.not_found",
            "query.forbidden", "query.behind"} <= set(seen)


def test_the_health_check_answers_as_the_contract_says(service):
    report = reply_of(service, "jxw", subjects.HEALTH, b"")
    assert contract().check_reply("send.health", report) == "HealthReport"


# Events, the intake, the feeds.

def test_every_event_in_the_log_fits_its_message_with_its_cloudevents_headers(service,
                                                                             walked):
    events = read_all(service, service.stream, f"{service.stream}.events.>", OPERATOR,
                      at_least=service.log_length())
    topics = set()
    for event in events:
        topic = event.headers[TOPIC]  # the event's public name, and its message's
        contract().check(topic, orjson.loads(event.data), event.headers)
        topics.add(topic)
    assert topics == event_messages()


def test_a_departments_feed_carries_case_events_that_fit_the_contract(service, walked):
    # kjj led the walk's case: its feed has the case from its submission on.
    events = read_all(service, feed_stream("kjj"), subjects.feed_case("kjj", "*"), "kjj")
    feed = contract().document["channels"]["feed.case"]["messages"]
    for event in events:
        assert event.headers[TOPIC] in feed
        contract().check(event.headers[TOPIC], orjson.loads(event.data), event.headers)
        assert event.headers["Onestop-Log-Sequence"].isdigit()


def test_the_intake_acknowledges_and_answers_on_the_feed_as_the_contract_says(service):
    command = {"command_id": uuid4().hex, "person": "窗口", "credit_code": "91500118MA5U000005",
               "name": "永川砖厂", "scale": "small_micro", "industry": "building_bricks",
               "town": "laisu"}
    subject = subjects.intake(STATION, "enterprise.register")
    once = {"Nats-Msg-Id": command["command_id"]}
    first = reply_of(service, STATION, subject, orjson.dumps(command), once)
    again = reply_of(service, STATION, subject, orjson.dumps(command), once)
    broken = reply_of(service, STATION, subject, b"{not json")
    for ack in (first, again, broken):
        assert contract().check_reply("send.intake.enterprise.register", ack) == "IntakeAck"
    assert again == {**first, "duplicate": True}

    outcomes = read_all(service, feed_stream(STATION), subjects.feed_outcome(STATION), STATION,
                        at_least=2)
    for outcome in outcomes:
        body = orjson.loads(outcome.data)
        message = "OutcomeDone" if body["ok"] else "OutcomeRefused"
        contract().check(message, body, outcome.headers)
    sequences = sorted(int(o.headers["Onestop-Intake-Sequence"]) for o in outcomes)
    assert sequences == [first["seq"], broken["seq"]]

    [letter] = read_all(service, subjects.DEAD_LETTER_STREAM, f"{subjects.DEAD_LETTERS}.>",
                        OPERATOR)
    contract().check("DeadLetter", letter.data.decode(), letter.headers)
