from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.case_events import Finding
from domain.errors import DomainError
from tests.domain.support import START

MONEY = (Decimal("100.00"), Decimal("50.00"), Decimal("1000.00"))


def refusal(call, *args, **kwargs):
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def resolved(world):
    case_id = world.case()
    world.app.resolve_case(world.ctx(), case_id, "fixed", *MONEY)
    return case_id


def visited(world):
    case_id, expert_id = world.case(), world.expert()
    world.app.assign_expert(world.ctx(), case_id, expert_id, *world.slot(7))
    world.app.record_visit(world.ctx(), case_id, world.slot(7)[0], (expert_id,),
                           (Finding(stage="production", finding="kiln too cool"),), ())
    return case_id


def test_a_submitted_case_records_the_order_and_where_it_was_taken(world):
    enterprise = world.enterprise()

    outcome = world.app.submit_case(world.ctx("post_laisu", "驿站值班员"), enterprise,
                                    "inspection_testing", "test our bricks", "town_post",
                                    station="post_laisu")

    case = world.app.get_case(outcome.id)
    assert (case.status, case.channel, case.station) == ("submitted", "town_post", "post_laisu")
    assert case.enterprise_id == enterprise


@pytest.mark.parametrize("field, value, code", [
    ("service_type", "astrology", "case.unknown_service"),
    ("channel", "fax", "case.unknown_channel"),
    ("station", "post_nowhere", "case.unknown_station"),
])
def test_refuses_an_order_outside_the_reference_data(world, field, value, code):
    order = dict(enterprise_id=world.enterprise(), service_type="metrology",
                 description="calibrate", channel="online_platform") | {field: value}

    assert refusal(world.app.submit_case, world.ctx("portal"), **order).code == code


def test_refuses_an_order_from_an_unregistered_enterprise(world):
    refused = refusal(world.app.submit_case, world.ctx("portal"),
                      world.app.derived_id("nobody", world.ctx()), "metrology", "x",
                      "online_platform")

    assert refused.code == "enterprise.not_found"


def test_refuses_a_command_from_an_unknown_principal(world):
    refused = refusal(world.app.register_expert, world.ctx("hackers"), "x", "y", ())

    assert refused.code == "actor.unknown_principal"


def test_accepting_routes_to_the_catalogue_lead_with_a_due_date_from_its_sla(world):
    case_id = world.case(accepted=False, service_type="dispute_mediation")

    world.app.accept_case(world.ctx(), case_id, collaborators=("samr", "swj"))

    case = world.app.get_case(case_id)
    assert (case.status, case.lead, case.collaborators) == ("accepted", "sfj", ("samr", "swj"))
    assert case.due == START + timedelta(days=15)


def test_an_officer_may_route_to_another_lead_department(world):
    case_id = world.case(accepted=False)

    world.app.accept_case(world.ctx(), case_id, lead="kjj", collaborators=("kjj", "jxw"))

    case = world.app.get_case(case_id)
    assert (case.lead, case.collaborators) == ("kjj", ("jxw",))


def test_refuses_routing_to_an_unknown_department(world):
    case_id = world.case(accepted=False)

    assert refusal(world.app.accept_case, world.ctx(), case_id, lead="cia").code \
        == "case.unknown_department"


def test_a_rejected_case_cannot_be_accepted(world):
    case_id = world.case(accepted=False)
    world.app.reject_case(world.ctx(), case_id, "not a quality matter")

    refused = refusal(world.app.accept_case, world.ctx(), case_id)

    assert refused.code == "case.invalid_transition"
    assert "rejected" in refused.message


def test_the_enterprise_can_withdraw_an_open_case(world):
    case_id = world.case()

    world.app.withdraw_case(world.ctx("portal"), case_id, "solved it ourselves")

    assert world.app.get_case(case_id).status == "withdrawn"


def test_a_resolved_case_cannot_be_withdrawn(world):
    assert refusal(world.app.withdraw_case, world.ctx("portal"), resolved(world)).code \
        == "case.invalid_transition"


def test_a_case_is_transferred_to_another_lead_department(world):
    case_id = world.case()

    world.app.transfer_case(world.ctx(), case_id, "zjw", "a construction-materials matter")

    assert world.app.get_case(case_id).lead == "zjw"


def test_refuses_transferring_to_the_department_already_leading(world):
    case_id = world.case()

    assert refusal(world.app.transfer_case, world.ctx(), case_id, "jxw", "x").code \
        == "case.same_department"


def test_refuses_transferring_a_case_not_yet_accepted(world):
    assert refusal(world.app.transfer_case, world.ctx(), world.case(accepted=False), "zjw",
                   "x").code == "case.invalid_transition"


def test_an_appointment_is_scheduled_rescheduled_and_cancelled(world):
    case_id = world.case()
    at = START + timedelta(days=3)

    world.app.schedule_appointment(world.ctx(), case_id, at, "factory")
    world.app.reschedule_appointment(world.ctx(), case_id, at + timedelta(days=1), "factory",
                                     "kiln maintenance")
    assert world.app.get_case(case_id).appointment == (at + timedelta(days=1), "factory")
    world.app.cancel_appointment(world.ctx(), case_id, "no longer needed")

    assert world.app.get_case(case_id).appointment is None


def test_refuses_a_second_appointment_while_one_is_set(world):
    case_id = world.case()
    world.app.schedule_appointment(world.ctx(), case_id, START + timedelta(days=3), "factory")

    assert refusal(world.app.schedule_appointment, world.ctx(), case_id, START, "x").code \
        == "case.appointment_exists"


@pytest.mark.parametrize("use_case", ["reschedule_appointment", "cancel_appointment"])
def test_refuses_changing_an_appointment_that_does_not_exist(world, use_case):
    args = (START, "factory", "why") if use_case == "reschedule_appointment" else ("why",)

    assert refusal(getattr(world.app, use_case), world.ctx(), world.case(), *args).code \
        == "case.no_appointment"


def test_a_visit_records_findings_per_stage_and_recommendations(world):
    case_id = visited(world)

    visit = world.app.get_case(case_id).visits[0]
    assert [f.stage for f in visit.findings] == ["production"]


def test_refuses_a_visit_reported_by_an_expert_not_assigned(world):
    case_id, stranger = world.case(), world.expert("路人")

    refused = refusal(world.app.record_visit, world.ctx(), case_id, START, (stranger,),
                      (Finding(stage="inspection", finding="x"),), ())

    assert refused.code == "case.expert_not_assigned"


def test_a_finding_must_name_one_of_the_four_stages():
    with pytest.raises(ValueError):
        Finding(stage="marketing", finding="x")


def test_an_improvement_plan_follows_a_visit(world):
    case_id = visited(world)

    world.app.plan_improvement(world.ctx(), case_id, ("adjust formula",), date(2026, 5, 1))

    assert world.app.get_case(case_id).plan.actions == ("adjust formula",)


def test_refuses_an_improvement_plan_before_any_visit(world):
    assert refusal(world.app.plan_improvement, world.ctx(), world.case(), ("x",),
                   date(2026, 5, 1)).code == "case.no_visit"


def test_refuses_negative_money_in_a_resolution(world):
    refused = refusal(world.app.resolve_case, world.ctx(), world.case(), "x", Decimal("-1"),
                      *MONEY[1:])

    assert refused.code == "case.invalid_input"
    assert "invested_yuan" in refused.message


def test_refuses_money_with_fractions_of_a_fen(world):
    assert refusal(world.app.resolve_case, world.ctx(), world.case(), "x", Decimal("0.001"),
                   *MONEY[1:]).code == "case.invalid_input"


def test_a_good_rating_leaves_the_case_resolved_and_it_can_be_closed(world):
    case_id = resolved(world)

    world.app.rate_case(world.ctx("portal"), case_id, 4, "good")
    world.app.close_case(world.ctx(), case_id)

    assert world.app.get_case(case_id).status == "closed"


@pytest.mark.parametrize("score", [1, 2])
def test_a_low_rating_reopens_the_case_with_a_new_due_date(world, score):
    case_id = resolved(world)
    world.now = START + timedelta(days=40)

    world.app.rate_case(world.ctx("portal"), case_id, score, "bricks still crumble")

    case = world.app.get_case(case_id)
    assert case.status == "reopened"
    assert case.due == world.now + timedelta(days=30)
    assert refusal(world.app.close_case, world.ctx(), case_id).code == "case.invalid_transition"


def test_refuses_a_second_rating(world):
    case_id = resolved(world)
    world.app.rate_case(world.ctx("portal"), case_id, 5)

    assert refusal(world.app.rate_case, world.ctx("portal"), case_id, 3).code \
        == "case.already_rated"


@pytest.mark.parametrize("score", [0, 6])
def test_refuses_a_rating_outside_1_to_5(world, score):
    assert refusal(world.app.rate_case, world.ctx("portal"), resolved(world), score).code \
        == "case.invalid_rating"


def test_refuses_rating_a_case_that_is_not_resolved(world):
    assert refusal(world.app.rate_case, world.ctx("portal"), world.case(), 5).code \
        == "case.invalid_transition"


def test_refuses_closing_a_case_that_is_not_resolved(world):
    assert refusal(world.app.close_case, world.ctx(), world.case()).code \
        == "case.invalid_transition"


def test_refuses_commands_for_a_case_that_does_not_exist(world):
    assert refusal(world.app.close_case, world.ctx(), world.expert()).code == "case.not_found"


def test_a_retried_command_returns_the_first_outcome_without_writing(world):
    case_id = world.case()
    first = world.app.transfer_case(world.ctx(command_id="t-1"), case_id, "zjw", "x")

    again = world.app.transfer_case(world.ctx(command_id="t-1"), case_id, "zjw", "x")

    assert again.replayed and (again.id, again.position) == (first.id, first.position)
    assert len(list(world.app.events.get(case_id))) == 3


def test_a_retried_order_creates_one_case(world):
    enterprise = world.enterprise()
    order = world.ctx("portal", command_id="order-7")

    first = world.app.submit_case(order, enterprise, "metrology", "x", "online_platform")
    again = world.app.submit_case(order, enterprise, "metrology", "x", "online_platform")

    assert again.replayed and again.id == first.id
    assert world.app.recorder.max_notification_id() == first.position
