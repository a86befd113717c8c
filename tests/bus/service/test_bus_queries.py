"""Queries over NATS request/reply, answered from the views the log builds, on a real server."""

from __future__ import annotations

from uuid import uuid4

import pytest

from tests.bus_support import Service
from tests.domain.support import credit_code


def command(**fields) -> dict:
    return {"command_id": uuid4().hex, "person": "陈干事", **fields}


def accepted_case(service: Service, lead: str = "jxw") -> tuple[str, dict]:
    """A case the portal submitted and the bureau routed to `lead`; the routing's reply."""
    enterprise = service.request("portal", "enterprise.register", command(
        credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu"))
    case = service.request("portal", "case.submit", command(
        enterprise_id=enterprise["id"], service_type="quality_management",
        description="页岩砖强度不足", channel="online_platform"))
    accepted = service.request("samr", "case.accept", command(case_id=case["id"], lead=lead))
    assert accepted["ok"], accepted
    return case["id"], accepted


def test_a_department_reads_its_own_write_at_the_position_its_command_returned(service):
    case_id, accepted = accepted_case(service)

    answer = service.query("jxw", "case.get", {"case_id": case_id,
                                               "min_position": accepted["position"]})

    assert answer["ok"], answer
    assert answer["position"] >= accepted["position"]
    case = answer["result"]["case"]
    assert case["status"] == "accepted" and case["lead"] == "jxw"
    assert [step["topic"] for step in answer["result"]["timeline"]][-1] == "case.accepted"


def test_the_case_is_on_the_lead_departments_worklist(service):
    case_id, accepted = accepted_case(service)

    answer = service.query("jxw", "worklist.list", {"min_position": accepted["position"]})

    assert answer["ok"], answer
    assert case_id in [item["case_id"] for item in answer["result"]["items"]]


def test_a_department_cannot_read_another_departments_case_or_worklist(service):
    case_id, accepted = accepted_case(service)
    at = accepted["position"]

    case = service.query("kjj", "case.get", {"case_id": case_id, "min_position": at})
    worklist = service.query("kjj", "worklist.list", {"department": "jxw", "min_position": at})

    assert case["error"]["code"] == "query.forbidden"
    assert worklist["error"]["code"] == "query.forbidden"


def test_the_bureau_and_the_auditor_see_every_case(service):
    case_id, accepted = accepted_case(service)
    for principal in ("samr", "auditor"):
        answer = service.query(principal, "case.get", {"case_id": case_id,
                                                       "min_position": accepted["position"]})
        assert answer["ok"], (principal, answer)


def test_a_case_as_it_stood_at_an_earlier_version(service):
    case_id, _ = accepted_case(service)

    then = service.query("jxw", "case.as_of", {"case_id": case_id, "version": 1})
    now = service.query("jxw", "case.as_of", {"case_id": case_id})

    # jxw was not involved at version 1: only the bureau may see the case as submitted
    assert then["error"]["code"] in ("query.forbidden", "query.not_found")
    assert now["ok"] and now["result"]["case"]["status"] == "accepted"
    as_submitted = service.query("samr", "case.as_of", {"case_id": case_id, "version": 1})
    assert as_submitted["ok"] and as_submitted["result"]["case"]["status"] == "submitted"


def test_a_position_the_view_does_not_reach_in_time_is_answered_as_behind(service):
    case_id, accepted = accepted_case(service)

    answer = service.query("jxw", "case.get", {"case_id": case_id, "wait_ms": 50,
                                               "min_position": accepted["position"] + 1000})

    assert answer["error"]["code"] == "query.behind"
    assert answer["error"]["fields"]["position"] >= accepted["position"]


@pytest.mark.parametrize("name, body, code", [
    ("case.get", {"case_id": "not-a-uuid"}, "query.invalid"),
    ("case.get", {"case_id": str(uuid4()), "colour": "red"}, "query.invalid"),
    ("case.list", {"limit": 0}, "query.invalid"),
    ("case.get", {"case_id": str(uuid4())}, "query.not_found"),
    ("case.launch_rocket", {}, "query.unknown"),
])
def test_bad_queries_get_their_own_error(service, name, body, code):
    answer = service.query("samr", name, body)
    assert answer["ok"] is False and answer["error"]["code"] == code, answer
    assert answer["error"]["message"]


def test_malformed_json_gets_a_structured_error(service):
    client = service.client_for("samr")
    import orjson

    from bus.contract import subjects
    reply = service.runner.run(client.request(subjects.query("samr", "case.get"), b"{nope",
                                              timeout=10))
    assert orjson.loads(reply.data)["error"]["code"] == "query.malformed_json"
