"""The audit trail over NATS: accepted changes, refusals and reads, each with its actor; what a
department could see of a case at a time; and none of it for anyone but the auditors."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.bus_support import Service, when
from tests.domain.support import credit_code

AUDIT_QUERIES = ("audit.changes", "audit.refusals", "audit.reads", "audit.sent",
                 "audit.deliveries", "audit.case_visibility")


def accepted_case(service: Service) -> tuple[str, int]:
    enterprise = service.command("portal", "enterprise.register", "厂长",
                                 credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
                                 industry="building_bricks", town="laisu")
    case_id = service.command("portal", "case.submit", "厂长", enterprise_id=enterprise["id"],
                              service_type="quality_management", description="页岩砖强度不足",
                              channel="online_platform")["id"]
    accepted = service.command("samr", "case.accept", "王科长", case_id=case_id, lead="jxw")
    assert accepted["ok"], accepted
    return case_id, accepted["position"]


def asked(service: Service, principal: str, query: str, /, **body) -> dict:
    answer = service.query(principal, query, body)
    assert answer["ok"], answer
    return answer["result"]


def test_the_trail_records_accepted_refused_and_read_actions_with_the_right_actor(service):
    case_id, _ = accepted_case(service)
    first, second = when(7), when(8)
    # jxw books the factory, then moves the visit to the lab.
    service.command("jxw", "case.schedule_appointment", "刘工", case_id=case_id,
                    at=first, place="factory")
    moved = service.command("jxw", "case.reschedule_appointment", "刘工", case_id=case_id,
                            at=second, place="lab", reason="kiln down")
    # kjj tries to close a case it has nothing to do with; the bureau reads the case.
    refused = service.command("kjj", "case.close", "赵干事", case_id=case_id)
    assert refused["error"]["code"] == "case.not_yours"
    asked(service, "samr", "case.get", case_id=case_id, min_position=moved["position"])

    changes = asked(service, "auditor", "audit.changes", case_id=case_id,
                    min_position=moved["position"])
    assert [(c["topic"], c["principal"], c["person"]) for c in changes["items"]] == [
        ("case.submitted", "portal", "厂长"), ("case.accepted", "samr", "王科长"),
        ("case.appointment_scheduled", "jxw", "刘工"),
        ("case.appointment_rescheduled", "jxw", "刘工")]
    last = changes["items"][-1]
    assert last["position"] == moved["position"] and last["case_id"] == case_id
    assert last["changes"]["place"] == {"before": "factory", "after": "lab"}
    assert last["changes"]["at"] == {"before": first, "after": second}

    [refusal] = asked(service, "auditor", "audit.refusals", principal="kjj")["items"]
    assert (refusal["command"], refusal["person"], refusal["code"]) == (
        "case.close", "赵干事", "case.not_yours")
    [read] = asked(service, "auditor", "audit.reads", principal="samr")["items"]
    assert (read["query"], read["case_ids"]) == ("case.get", [case_id])


def test_a_department_trail_holds_what_concerned_it_and_a_period_bounds_it(service):
    case_id, _ = accepted_case(service)
    start = datetime.now(timezone.utc).isoformat()
    transferred = service.command("samr", "case.transfer", "王科长", case_id=case_id, to="zjw",
                                  reason="housing materials")

    jxw = asked(service, "samr", "audit.changes", department="jxw",
                min_position=transferred["position"])
    assert [c["topic"] for c in jxw["items"]] == ["case.accepted", "case.transferred"]
    assert {c["role"] for c in jxw["items"]} == {"involved"}
    since = asked(service, "auditor", "audit.changes", since=start)
    assert [c["topic"] for c in since["items"]] == ["case.transferred"]
    before = asked(service, "auditor", "audit.changes", until=start)
    assert before["total"] == 3  # registered, submitted, accepted: each once


def test_changes_told_again_are_told_the_same_and_as_each_department_sees_them(service):
    # What each change did is made once and kept for the next pages (bus/service/answers.py):
    # pages that overlap, a page asked again, and two departments' trails holding the same
    # changes must each tell them as a first reading from the log would.
    case_id, _ = accepted_case(service)
    transferred = service.command("samr", "case.transfer", "王科长", case_id=case_id, to="zjw",
                                  reason="housing materials")
    whole = asked(service, "auditor", "audit.changes", case_id=case_id,
                  min_position=transferred["position"])

    assert len(whole["items"]) == 3
    assert asked(service, "auditor", "audit.changes", case_id=case_id, limit=2)["items"] == \
        whole["items"][:2]
    assert asked(service, "auditor", "audit.changes", case_id=case_id, offset=1)["items"] == \
        whole["items"][1:]
    assert asked(service, "auditor", "audit.changes", case_id=case_id) == whole
    for department in ("jxw", "zjw", "jxw"):
        trail = asked(service, "samr", "audit.changes", department=department)["items"]
        [transfer] = [change for change in trail if change["position"] ==
                      transferred["position"]]
        assert (transfer["department"], transfer["role"]) == (department, "involved")
        assert {key: value for key, value in transfer.items()
                if key not in ("department", "role")} == \
            {key: value for key, value in whole["items"][-1].items()
             if key not in ("department", "role")}


def test_audit_queries_are_refused_to_departments_and_stations(service):
    case_id, _ = accepted_case(service)
    body = {"case_id": case_id, "department": "jxw", "at": "2026-03-09T09:00:00+08:00"}
    for principal in ("jxw", "post_laisu", "portal"):
        for query in AUDIT_QUERIES:
            answer = service.query(principal, query,
                                   body if query == "audit.case_visibility" else {})
            assert answer["error"]["code"] == "query.forbidden", (principal, query, answer)


def test_what_a_department_could_see_of_a_case_before_and_after_a_transfer(service):
    case_id, _ = accepted_case(service)
    while_jxw_led = datetime.now(timezone.utc).isoformat()
    service.command("samr", "case.transfer", "王科长", case_id=case_id, to="zjw",
                    reason="housing materials")
    service.command("zjw", "case.schedule_appointment", "刘工", case_id=case_id,
                    at=when(7), place="site")
    afterwards = datetime.now(timezone.utc).isoformat()

    def seen(department: str, at: str) -> dict:
        return asked(service, "auditor", "audit.case_visibility", department=department,
                     case_id=case_id, at=at)

    then = seen("jxw", while_jxw_led)
    assert then["visible"] and then["case"]["lead"] == "jxw"
    assert [step["topic"] for step in then["timeline"]] == ["case.submitted", "case.accepted"]
    assert seen("zjw", while_jxw_led)["visible"] is False
    later = seen("jxw", afterwards)
    assert later["case"]["lead"] == "zjw" and later["case"]["appointment"] is None
    assert later["timeline"][-1]["topic"] == "case.transferred"
    assert seen("zjw", afterwards)["case"]["appointment"]["place"] == "site"
    assert seen("jtj", afterwards) | {"at": None} == {
        "principal": "jtj", "case_id": case_id, "at": None, "visible": False,
        "reason": "not involved in the case then"}
