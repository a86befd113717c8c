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
