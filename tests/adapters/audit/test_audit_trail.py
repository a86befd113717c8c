"""Refusals and reads, recorded in the append-only audit stream before the answer is sent."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.audit import trail as trail_module
from adapters.audit.trail import MANY_REFUSALS, audit_stream
from bus.contract import subjects
from bus.contract.identity import inbox_prefix
from bus.service.dispatch import on_loop
from tests.bus_support import Service
from tests.domain.support import credit_code


@pytest.fixture
def service(district, unique_name):
    running = Service(district, unique_name())
    yield running
    running.close()


def command(**fields) -> dict:
    return {"command_id": uuid4().hex, "person": "陈干事", **fields}


def trail(service: Service) -> list[dict]:
    """Every audit record of the service's stream, in order (read as the operator)."""
    async def read() -> list[dict]:
        js = service.client.jetstream()
        info = await js.stream_info(audit_stream(service.stream))
        messages = [await js.get_msg(info.config.name, seq, direct=True)
                    for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        # Records only: the trail's own checkpoints sign them (tests/bus/cli/test_audit_cli.py).
        return [orjson.loads(message.data) for message in messages
                if not message.subject.endswith(".audit.checkpoints")]

    return service.runner.run(read())


def submitted_case(service: Service) -> str:
    enterprise = service.request("portal", "enterprise.register", command(
        credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu"))
    return service.request("portal", "case.submit", command(
        enterprise_id=enterprise["id"], service_type="quality_management",
        description="页岩砖强度不足", channel="online_platform"))["id"]


def test_a_refused_command_is_recorded_with_who_and_why(service):
    case_id = submitted_case(service)
    close = command(case_id=case_id)

    reply = service.request("jxw", "case.close", close)

    [record] = [r for r in trail(service) if r["kind"] == "refused"]
    assert record["principal"] == "jxw" and record["command"] == "case.close"
    assert record["command_id"] == close["command_id"]
    assert record["code"] == reply["error"]["code"] == "case.not_yours"


def test_bad_input_is_recorded_as_refused_too(service):
    service.request("kjj", "case.submit", b"{not json")
    [record] = trail(service)
    assert record["principal"] == "kjj" and record["code"] == "command.malformed_json"


def test_who_read_which_case_is_recorded(service):
    case_id = submitted_case(service)
    answer = service.query("samr", "case.get", {"case_id": case_id, "min_position": 2})
    assert answer["ok"], answer

    [read] = [r for r in trail(service) if r["kind"] == "read"]
    assert read["principal"] == "samr" and read["query"] == "case.get"
    assert read["case_ids"] == [case_id] and read["position"] == answer["position"]
    assert read["person"] is None  # it did not say


def test_a_read_records_the_person_and_what_was_asked(service):
    case_id = submitted_case(service)
    asked = {"case_id": case_id, "min_position": 2, "person": "周科长"}
    assert service.query("samr", "case.get", asked)["ok"]

    [read] = [r for r in trail(service) if r["kind"] == "read"]
    assert read["person"] == "周科长" and read["parameters"] == asked


def test_a_refused_query_keeps_what_it_asked(service):
    service.query("jxw", "case.list", {"lead": "nowhere", "person": "李"})
    service.runner.run(service.client_for("jxw").request(
        subjects.query("jxw", "case.list"), b"[not an object", timeout=10))

    wrong_code, not_json = [r for r in trail(service) if r["kind"] == "refused"]
    assert wrong_code["parameters"] == {"lead": "nowhere", "person": "李"}
    assert wrong_code["person"] == "李" and wrong_code["code"] == "query.invalid"
    assert not_json["parameters"] == {"raw": "[not an object"}


def test_three_people_reusing_one_command_id_leave_three_records(service):
    case_id = submitted_case(service)
    shared = uuid4().hex
    codes = [service.request("jxw", "case.close", {"command_id": shared, "person": person,
                                                   "case_id": case_id})["error"]["code"]
             for person in ("甲", "乙", "丙")]
    assert codes == ["case.not_yours", "command.id_reused", "command.id_reused"]

    refused = [r for r in trail(service) if r["kind"] == "refused"]
    assert [(r["person"], r["code"]) for r in refused] == [
        ("甲", "case.not_yours"), ("乙", "command.id_reused"), ("丙", "command.id_reused")]


def test_a_read_that_was_refused_is_recorded_as_a_refusal(service):
    case_id = submitted_case(service)
    answer = service.query("kjj", "case.get", {"case_id": case_id, "min_position": 2})
    assert answer["error"]["code"] == "query.forbidden"

    records = trail(service)
    assert [(r["kind"], r["principal"], r["code"]) for r in records] == [
        ("refused", "kjj", "query.forbidden")]


def test_only_the_auditor_reads_the_trail_and_only_the_service_writes_it(district):
    service = Service(district, "ONESTOP")  # the stream the district's permissions name
    try:
        service.request("jxw", "case.close", command(case_id=str(uuid4())))

        async def as_principal(principal: str):
            errors: list[str] = []

            async def on_error(error):
                errors.append(str(error))

            connection = await nats.connect(district.url(principal), error_cb=on_error,
                                            inbox_prefix=inbox_prefix(principal),
                                            allow_reconnect=False)
            js = connection.jetstream(timeout=2)
            try:
                try:
                    await js.get_msg("ONESTOP_AUDIT", 1, direct=True)
                    read = "read"
                except Exception as error:
                    read = type(error).__name__
                await connection.publish("ONESTOP.audit.jxw.refused", b"{}")
                await connection.flush()
            finally:
                await connection.close()
            return read, errors

        auditor_read, _ = asyncio.run(as_principal("auditor"))
        department_read, department_errors = asyncio.run(as_principal("jxw"))
        assert auditor_read == "read"
        assert department_read != "read"
        assert any("permissions violation" in e.lower() for e in department_errors)
    finally:
        service.close()


def test_a_flood_of_refusals_is_counted_not_recorded_one_by_one(service, monkeypatch):
    # A hostile sender refused on purpose cannot fill the disk with the trail: beyond a
    # number a minute, its refusals are counted, and one record says how many and of what.
    monkeypatch.setattr(trail_module, "REFUSALS_PER_MINUTE", 5)
    for _ in range(25):
        service.request("kjj", "case.close", command(case_id=str(uuid4())))
    for _ in range(5):
        service.request("kjj", "case.close", b"{not json")
    service.runner.run(on_loop(service.bus.services.dispatcher.loop,
                               service.bus.services.dispatcher.audit.flush()))

    records = [r for r in trail(service) if r["kind"] == "refused" and r["principal"] == "kjj"]
    one_by_one = [r for r in records if r["code"] != MANY_REFUSALS]
    [summary] = [r for r in records if r["code"] == MANY_REFUSALS]
    assert len(one_by_one) == 5
    assert summary["fields"]["count"] == 25
    assert summary["fields"]["codes"] == {"case.not_found": 20,
                                          "command.malformed_json": 5}
    assert summary["fields"]["since"] <= summary["fields"]["until"]
