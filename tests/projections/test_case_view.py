"""The case view, given events from the domain's own use cases."""

from datetime import timedelta

from domain.commands import ScheduleAppointment, TransferCase
from projections.cases import CASES, STEPS, CaseView
from projections.memory import InMemoryViews
from projections.queries import Asker, QueryError, case_as_it_stood, visible_case
from tests.domain.scenario import run_case_scenario
from tests.projections.support import logged_since

JXW = Asker("jxw", "department")


def fold(world):
    views = InMemoryViews().fold(CaseView(), logged_since(world))
    return views


def steps_of(views, case_id):
    return [doc for key, doc in sorted(views.rows(STEPS).items())
            if doc["case_id"] == str(case_id)]


def test_the_scenario_ends_closed_with_every_step_and_who_took_it(world):
    facts = run_case_scenario(world.app)
    views = fold(world)

    case = views.get(CASES, str(facts["case_id"]))
    steps = steps_of(views, facts["case_id"])
    assert case["status"] == "closed" and case["lead"] == "jxw"
    assert case["departments"] == ["jxw", "samr", "zjw"]
    assert case["resolution"]["invested_yuan"] == "150000.00"
    assert case["rating"] == {"score": 5, "comment": "满意"}
    assert list(case["experts"]) == [str(facts["expert_booking"].booking_id)]
    assert case["equipment"] == {}  # released early
    assert [s["version"] for s in steps] == list(range(1, case["version"] + 1))
    assert steps[0]["topic"] == "case.submitted" and steps[0]["by"]["principal"] == "portal"
    assert steps[-1]["topic"] == "case.closed" and steps[-1]["by"]["person"] == "王科长"
    assert "case.reopened" in [s["topic"] for s in steps]


def test_a_lead_transferred_away_sees_the_case_as_it_stood_at_the_transfer(world):
    case_id = world.case()  # accepted: quality management goes to jxw
    world.app.transfer_case(world.ctx(), TransferCase(case_id=case_id, to="zjw",
                                                      reason="housing materials"))
    transfer_version = world.app.get_case(case_id).version
    world.now += timedelta(days=1)
    world.app.schedule_appointment(world.ctx("zjw", "刘工"), ScheduleAppointment(
        case_id=case_id, at=world.now, place="site"))
    views = fold(world)
    case, steps = views.get(CASES, str(case_id)), steps_of(views, case_id)

    seen = visible_case(JXW, case, steps)
    assert seen["case"]["lead"] == "zjw" and seen["case"]["appointment"] is None
    assert [s["version"] for s in seen["timeline"]][-1] == transfer_version
    assert visible_case(Asker("zjw", "department"), case, steps)["case"]["appointment"]
    assert visible_case(Asker("auditor", "auditor"), case, steps)["timeline"] == steps


def test_an_uninvolved_department_may_not_see_a_case(world):
    case_id = world.case()
    views = fold(world)
    try:
        visible_case(Asker("jtj", "department"), views.get(CASES, str(case_id)), [])
    except QueryError as error:
        assert error.code == "query.forbidden"
    else:
        raise AssertionError("jtj saw a case it is not involved in")


def test_time_travel_folds_a_case_up_to_a_version_or_a_time(world):
    facts = run_case_scenario(world.app)
    events = [e for e in logged_since(world) if e.originator_id == str(facts["case_id"])]
    auditor = Asker("auditor", "auditor")

    accepted = case_as_it_stood(auditor, events, version=2)
    assert accepted["case"]["status"] == "accepted" and len(accepted["timeline"]) == 2
    after_visit = case_as_it_stood(auditor, events, at="2026-03-12T09:00:00+08:00")
    assert after_visit["case"]["status"] == "accepted" and len(after_visit["case"]["visits"]) == 1
    assert after_visit["case"]["resolution"] is None
    try:
        case_as_it_stood(auditor, events, at="2020-01-01T00:00:00+08:00")
    except QueryError as error:
        assert error.code == "query.not_found"
    else:
        raise AssertionError("a case before it existed")
