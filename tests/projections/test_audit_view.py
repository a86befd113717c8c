"""The audit trail of accepted changes, given events from the domain's own use cases."""

from datetime import timedelta

import pytest

from domain.commands import (
    ChangeEnterpriseProfile,
    RescheduleAppointment,
    ScheduleAppointment,
    TransferCase,
)
from projections.audit import (
    CHANGES,
    CONCERNS,
    AuditTrail,
    as_seen_by,
    change_of,
    changes_at,
)
from projections.memory import InMemoryViews
from projections.queries import Asker, QueryError, audit_changes, case_visibility
from tests.domain.scenario import run_case_scenario
from tests.projections.support import logged_since

AUDITOR = Asker("auditor", "auditor")


def rows_of(views, events, **where):
    """The trail as departments find it: a change once per department it concerned, what
    it changed derived from the log."""
    entries = changes_at(events, [event.position for event in events])
    rows = [as_seen_by(entries[concern["position"]], concern["department"])
            for concern in sorted(views.rows(CONCERNS).values(),
                                  key=lambda row: (row["position"], row["department"]))]
    return [row for row in rows if all(row[column] == value for column, value in where.items())]


def test_every_event_is_a_change_with_who_when_and_which_command(world):
    facts = run_case_scenario(world.app)
    events = logged_since(world)
    views = InMemoryViews().fold(AuditTrail(), events)

    # Each change once as its actor's, in log order: exactly the log.
    acted = rows_of(views, events, role="actor")
    assert [(r["position"], r["topic"], r["aggregate_id"]) for r in acted] == [
        (e.position, e.topic, e.originator_id) for e in events]
    closed = acted[-1]
    assert closed["topic"] == "case.closed" and closed["case_id"] == str(facts["case_id"])
    assert (closed["principal"], closed["person"]) == ("samr", "王科长")
    assert closed["command_id"] == events[-1].data["command_id"]
    assert closed["at"] == events[-1].data["timestamp"] and closed["at_utc"].endswith("Z")


def test_a_change_shows_before_and_after_for_the_fields_it_touched(world):
    case_id = world.case()
    world.app.schedule_appointment(world.ctx("jxw", "刘工"), ScheduleAppointment(
        case_id=case_id, at=world.now, place="factory"))
    world.now += timedelta(days=1)
    world.app.reschedule_appointment(world.ctx("jxw", "刘工"), RescheduleAppointment(
        case_id=case_id, at=world.now, place="lab", reason="kiln down"))
    events = logged_since(world)
    views = InMemoryViews().fold(AuditTrail(), events)

    [moved] = rows_of(views, events, topic="case.appointment_rescheduled", department="jxw")
    assert moved["changes"]["place"] == {"before": "factory", "after": "lab"}
    assert moved["changes"]["at"]["before"] != moved["changes"]["at"]["after"]
    assert moved["changes"]["reason"] == {"before": None, "after": "kiln down"}
    assert not {"actor", "timestamp", "command_id"} & moved["changes"].keys()


def test_a_field_left_null_is_not_a_change(world):
    enterprise_id = world.enterprise(name="旧名")
    world.app.change_enterprise_profile(world.ctx("portal", "厂长"), ChangeEnterpriseProfile(
        enterprise_id=enterprise_id, name="新名"))
    events = logged_since(world)
    views = InMemoryViews().fold(AuditTrail(), events)

    [changed] = rows_of(views, events, topic="enterprise.profile_changed")
    assert changed["changes"] == {"name": {"before": "旧名", "after": "新名"}}
    assert changed["departments"] == ["portal"] and changed["role"] == "actor"


def test_a_case_change_concerns_the_involved_departments_and_the_actor(world):
    case_id = world.case()  # accepted by samr: quality management goes to jxw
    world.app.transfer_case(world.ctx(), TransferCase(case_id=case_id, to="zjw",
                                                      reason="housing materials"))
    world.app.schedule_appointment(world.ctx("zjw", "刘工"), ScheduleAppointment(
        case_id=case_id, at=world.now, place="site"))
    events = logged_since(world)
    views = InMemoryViews().fold(AuditTrail(), events)

    def concerned(topic):
        return [r["department"] for r in rows_of(views, events, topic=topic)]

    assert concerned("case.submitted") == ["portal"]
    assert concerned("case.accepted") == ["jxw", "samr"]
    # The lead it was transferred away from sees the transfer, then nothing more.
    assert concerned("case.transferred") == ["jxw", "samr", "zjw"]
    assert concerned("case.appointment_scheduled") == ["zjw"]
    assert {r["role"] for r in rows_of(views, events, topic="case.transferred")} == {"actor",
                                                                             "involved"}


def test_the_view_indexes_each_change_and_the_departments_the_derivation_names(world):
    run_case_scenario(world.app)
    events = logged_since(world)
    views = InMemoryViews().fold(AuditTrail(), events)
    states: dict = {}
    for event in events:
        change, states[event.originator_id] = change_of(event, states.get(event.originator_id))
        row = views.get(CHANGES, str(event.position))
        assert (row["aggregate_id"], row["principal"]) == (event.originator_id,
                                                          change.principal)
        assert sorted(r["department"] for r in views.rows(CONCERNS).values()
                      if r["position"] == event.position) == change.departments


class Reader:
    """The views' reading face over the in-memory rows (enough for equality filters)."""

    def __init__(self, views):
        self.views = views

    def find(self, table, where=None, order_by=(), limit=None, offset=0):
        def matches(key, row, column, wanted):
            value = key if column == "key" else row[column]
            return value in wanted if isinstance(wanted, list) else value == wanted

        rows = [row for key, row in self.views.rows(table).items()
                if all(matches(key, row, c, v) for c, v in (where or {}).items())]
        rows.sort(key=lambda row: row["position"])
        return rows[offset:offset + (limit or len(rows))], len(rows)


def test_only_those_who_see_everything_may_read_the_trail(world):
    world.case()
    events = logged_since(world)
    reader = Reader(InMemoryViews().fold(AuditTrail(), events))

    assert audit_changes(reader, AUDITOR, events, department="jxw")["total"] == 1
    assert audit_changes(reader, Asker("samr", "lead"), events)["total"] == 3
    with pytest.raises(QueryError) as refused:
        audit_changes(reader, Asker("jxw", "department"), events, department="jxw")
    assert refused.value.code == "query.forbidden"


def test_what_a_department_could_see_before_and_after_a_transfer(world):
    case_id = world.case()
    accepted_at = world.now
    world.now += timedelta(days=1)
    world.app.transfer_case(world.ctx(), TransferCase(case_id=case_id, to="zjw",
                                                      reason="housing materials"))
    world.now += timedelta(days=1)
    world.app.schedule_appointment(world.ctx("zjw", "刘工"), ScheduleAppointment(
        case_id=case_id, at=world.now, place="site"))
    events = [e for e in logged_since(world) if e.originator_id == str(case_id)]
    jxw, zjw = Asker("jxw", "department"), Asker("zjw", "department")

    def seen(by, at):
        return case_visibility(AUDITOR, by, str(case_id), events, at)

    before = seen(jxw, accepted_at)
    assert before["visible"] and before["case"]["lead"] == "jxw"
    assert seen(zjw, accepted_at)["visible"] is False
    after = seen(jxw, world.now)
    assert after["visible"] and after["case"]["lead"] == "zjw"
    assert after["case"]["appointment"] is None  # it saw the transfer, nothing after
    assert seen(zjw, world.now)["case"]["appointment"]["place"] == "site"
    too_early = seen(jxw, accepted_at - timedelta(days=1))
    assert (too_early["visible"], too_early["reason"]) == (False, "the case was not submitted yet")


def test_a_principals_changes_are_each_change_it_made_once(world):
    case_id = world.case()  # submitted by the portal, accepted by samr for jxw
    world.app.schedule_appointment(world.ctx("jxw", "刘工"), ScheduleAppointment(
        case_id=case_id, at=world.now, place="factory"))
    world.app.reschedule_appointment(world.ctx("jxw", "刘工"), RescheduleAppointment(
        case_id=case_id, at=world.now, place="lab", reason="kiln down"))
    events = logged_since(world)
    reader = Reader(InMemoryViews().fold(AuditTrail(), events))

    made = audit_changes(reader, AUDITOR, events, principal="jxw")
    assert [(c["topic"], c["role"], c["department"]) for c in made["items"]] == [
        ("case.appointment_scheduled", "actor", "jxw"),
        ("case.appointment_rescheduled", "actor", "jxw")]
    # What concerned jxw is more than what it made: the acceptance that routed it there.
    concerned = audit_changes(reader, AUDITOR, events, department="jxw")["items"]
    assert [c["topic"] for c in concerned][0] == "case.accepted"
    assert audit_changes(reader, AUDITOR, events, principal="kjj")["total"] == 0
