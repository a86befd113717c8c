from decimal import Decimal

from tests.domain.scenario import run_case_scenario
from tests.domain.support import in_memory_world


def test_a_case_goes_from_the_online_order_to_closure_through_a_low_rating():
    app = in_memory_world().app

    result = run_case_scenario(app)

    case = result["case"]
    assert result["reopened_status"] == "reopened"
    assert case.status == "closed"
    assert case.rating == 5
    assert case.resolution.invested_yuan == Decimal("150000.00")
    assert case.lead == "jxw" and case.collaborators == ("samr", "zjw")
    assert len(case.visits) == 1 and len(case.visits[0].findings) == 4
    assert list(case.experts.values()) == [result["expert_id"]]
    assert case.equipment == {}
    assert result["positions"] == sorted(result["positions"])
    expert = app.repository.get(result["expert_id"])
    assert result["expert_booking"].booking_id in expert.bookings


def test_the_case_can_be_read_as_it_was_at_any_step_of_the_scenario():
    app = in_memory_world().app
    case_id = run_case_scenario(app)["case_id"]
    history = list(app.events.get(case_id))
    reopened_at = next(e.originator_version for e in history if e.public_name == "case.reopened")

    then = app.repository.get(case_id, version=reopened_at)

    assert (then.status, then.rating) == ("reopened", 2)
    assert [e.public_name for e in history] == [
        "case.submitted", "case.accepted", "case.appointment_scheduled",
        "case.expert_assigned", "case.equipment_booked", "case.visit_recorded",
        "case.improvement_planned", "case.equipment_released", "case.resolved", "case.rated",
        "case.reopened", "case.resolved", "case.rated", "case.closed"]
