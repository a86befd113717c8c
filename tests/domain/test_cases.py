from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.case_events import Finding
from domain.commands import (AcceptCase, AssignExpert, CancelAppointment, CloseCase,
                             PlanImprovement, RateCase, RecordVisit, RegisterExpert, RejectCase,
                             RescheduleAppointment, ResolveCase, ScheduleAppointment, SubmitCase,
                             TransferCase, VisitFinding, WithdrawCase)
from domain.errors import DomainError
from tests.domain.support import START

MONEY = dict(invested_yuan=Decimal("100.00"), saved_per_year_yuan=Decimal("50.00"),
             expected_benefit_yuan=Decimal("1000.00"))


def refusal(call, *args, **kwargs):
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def resolved(world):
    case_id = world.case()
    world.app.resolve_case(world.ctx(), ResolveCase(case_id=case_id, outcome="fixed", **MONEY))
    return case_id


def visited(world):
    case_id, expert_id = world.case(), world.expert()
    start, end = world.slot(7)
    world.app.assign_expert(world.ctx(), AssignExpert(case_id=case_id, expert_id=expert_id,
                                                      start=start, end=end))
    world.now = end  # a visit is recorded once it has happened
    world.app.record_visit(world.ctx(), RecordVisit(
        case_id=case_id, visited_at=start, experts=(expert_id,),
        findings=(VisitFinding(stage="production", finding="kiln too cool"),)))
    return case_id


def test_a_submitted_case_records_the_order_and_where_it_was_taken(world):
    enterprise = world.enterprise()

    outcome = world.app.submit_case(world.ctx("post_laisu", "驿站值班员"), SubmitCase(
        enterprise_id=enterprise, service_type="inspection_testing",
        description="test our bricks", channel="town_post", station="post_laisu"))

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

    assert refusal(world.app.submit_case, world.ctx("portal"), SubmitCase(**order)).code == code


def test_refuses_an_order_from_an_unregistered_enterprise(world):
    refused = refusal(world.app.submit_case, world.ctx("portal"), SubmitCase(
        enterprise_id=world.app.derived_id("nobody", world.ctx()), service_type="metrology",
        description="x", channel="online_platform"))

    assert refused.code == "enterprise.not_found"


def test_refuses_a_command_from_an_unknown_principal(world):
    refused = refusal(world.app.register_expert, world.ctx("hackers"),
                      RegisterExpert(name="x", affiliation="y", specialties=("z",)))

    assert refused.code == "actor.unknown_principal"


def test_accepting_routes_to_the_catalogue_lead_with_a_due_date_from_its_sla(world):
    case_id = world.case(accepted=False, service_type="dispute_mediation")

    world.app.accept_case(world.ctx(), AcceptCase(case_id=case_id, collaborators=("samr", "swj")))

    case = world.app.get_case(case_id)
    assert (case.status, case.lead, case.collaborators) == ("accepted", "sfj", ("samr", "swj"))
    assert case.due == START + timedelta(days=15)


def test_an_officer_may_route_to_another_lead_department(world):
    case_id = world.case(accepted=False)

    world.app.accept_case(world.ctx(), AcceptCase(case_id=case_id, lead="kjj",
                                                  collaborators=("kjj", "jxw")))

    case = world.app.get_case(case_id)
    assert (case.lead, case.collaborators) == ("kjj", ("jxw",))


def test_refuses_routing_to_an_unknown_department(world):
    case_id = world.case(accepted=False)

    assert refusal(world.app.accept_case, world.ctx(),
                   AcceptCase(case_id=case_id, lead="cia")).code == "case.unknown_department"


def test_a_rejected_case_cannot_be_accepted(world):
    case_id = world.case(accepted=False)
    world.app.reject_case(world.ctx(), RejectCase(case_id=case_id, reason="not a quality matter"))

    refused = refusal(world.app.accept_case, world.ctx(), AcceptCase(case_id=case_id))

    assert refused.code == "case.invalid_transition"
    assert "rejected" in refused.message


def test_the_enterprise_can_withdraw_an_open_case(world):
    case_id = world.case()

    world.app.withdraw_case(world.ctx("portal"),
                            WithdrawCase(case_id=case_id, reason="solved it ourselves"))

    assert world.app.get_case(case_id).status == "withdrawn"


def test_a_resolved_case_cannot_be_withdrawn(world):
    assert refusal(world.app.withdraw_case, world.ctx("portal"),
                   WithdrawCase(case_id=resolved(world))).code == "case.invalid_transition"


def test_a_case_is_transferred_to_another_lead_department(world):
    case_id = world.case()

    world.app.transfer_case(world.ctx(), TransferCase(
        case_id=case_id, to="zjw", reason="a construction-materials matter"))

    assert world.app.get_case(case_id).lead == "zjw"


def test_refuses_transferring_to_the_department_already_leading(world):
    case_id = world.case()

    assert refusal(world.app.transfer_case, world.ctx(),
                   TransferCase(case_id=case_id, to="jxw", reason="x")).code \
        == "case.same_department"


def test_refuses_transferring_a_case_not_yet_accepted(world):
    assert refusal(world.app.transfer_case, world.ctx(), TransferCase(
        case_id=world.case(accepted=False), to="zjw", reason="x")).code \
        == "case.invalid_transition"


def test_an_appointment_is_scheduled_rescheduled_and_cancelled(world):
    case_id = world.case()
    at = START + timedelta(days=3)

    world.app.schedule_appointment(world.ctx(), ScheduleAppointment(case_id=case_id, at=at,
                                                                    place="factory"))
    world.app.reschedule_appointment(world.ctx(), RescheduleAppointment(
        case_id=case_id, at=at + timedelta(days=1), place="factory", reason="kiln maintenance"))
    assert world.app.get_case(case_id).appointment == (at + timedelta(days=1), "factory")
    world.app.cancel_appointment(world.ctx(),
                                 CancelAppointment(case_id=case_id, reason="no longer needed"))

    assert world.app.get_case(case_id).appointment is None


def test_refuses_a_second_appointment_while_one_is_set(world):
    case_id = world.case()
    world.app.schedule_appointment(world.ctx(), ScheduleAppointment(
        case_id=case_id, at=START + timedelta(days=3), place="factory"))

    assert refusal(world.app.schedule_appointment, world.ctx(),
                   ScheduleAppointment(case_id=case_id, at=START, place="x")).code \
        == "case.appointment_exists"


@pytest.mark.parametrize("use_case, command, fields", [
    ("reschedule_appointment", RescheduleAppointment,
     {"at": START, "place": "factory", "reason": "why"}),
    ("cancel_appointment", CancelAppointment, {"reason": "why"}),
])
def test_refuses_changing_an_appointment_that_does_not_exist(world, use_case, command, fields):
    assert refusal(getattr(world.app, use_case), world.ctx(),
                   command(case_id=world.case(), **fields)).code == "case.no_appointment"


def test_a_visit_records_findings_per_stage_and_recommendations(world):
    case_id = visited(world)

    visit = world.app.get_case(case_id).visits[0]
    assert [f.stage for f in visit.findings] == ["production"]


def test_refuses_a_visit_reported_by_an_expert_not_assigned(world):
    case_id, stranger = world.case(), world.expert("路人")

    refused = refusal(world.app.record_visit, world.ctx(), RecordVisit(
        case_id=case_id, visited_at=START, experts=(stranger,),
        findings=(VisitFinding(stage="inspection", finding="x"),)))

    assert refused.code == "case.expert_not_assigned"


def test_a_finding_must_name_one_of_the_four_stages():
    with pytest.raises(ValueError):
        Finding(stage="marketing", finding="x")


def test_an_improvement_plan_follows_a_visit(world):
    case_id = visited(world)

    world.app.plan_improvement(world.ctx(), PlanImprovement(
        case_id=case_id, actions=("adjust formula",), target_date=date(2026, 5, 1)))

    assert world.app.get_case(case_id).plan.actions == ("adjust formula",)


def test_refuses_an_improvement_plan_before_any_visit(world):
    assert refusal(world.app.plan_improvement, world.ctx(), PlanImprovement(
        case_id=world.case(), actions=("x",), target_date=date(2026, 5, 1))).code \
        == "case.no_visit"


def test_refuses_negative_money_in_a_resolution(world):
    with pytest.raises(ValidationError, match="invested_yuan"):
        ResolveCase(case_id=world.case(), outcome="x",
                    **(MONEY | {"invested_yuan": Decimal("-1")}))


def test_refuses_money_with_fractions_of_a_fen(world):
    with pytest.raises(ValidationError, match="invested_yuan"):
        ResolveCase(case_id=world.case(), outcome="x",
                    **(MONEY | {"invested_yuan": Decimal("0.001")}))


def test_a_good_rating_leaves_the_case_resolved_and_it_can_be_closed(world):
    case_id = resolved(world)

    world.app.rate_case(world.ctx("portal"), RateCase(case_id=case_id, score=4, comment="good"))
    world.app.close_case(world.ctx(), CloseCase(case_id=case_id))

    assert world.app.get_case(case_id).status == "closed"


@pytest.mark.parametrize("score", [1, 2])
def test_a_low_rating_reopens_the_case_with_a_new_due_date(world, score):
    case_id = resolved(world)
    world.now = START + timedelta(days=40)

    world.app.rate_case(world.ctx("portal"), RateCase(case_id=case_id, score=score,
                                                      comment="bricks still crumble"))

    case = world.app.get_case(case_id)
    assert case.status == "reopened"
    assert case.due == world.now + timedelta(days=30)
    assert refusal(world.app.close_case, world.ctx(), CloseCase(case_id=case_id)).code \
        == "case.invalid_transition"


def test_refuses_a_second_rating(world):
    case_id = resolved(world)
    world.app.rate_case(world.ctx("portal"), RateCase(case_id=case_id, score=5))

    assert refusal(world.app.rate_case, world.ctx("portal"),
                   RateCase(case_id=case_id, score=3)).code == "case.already_rated"


@pytest.mark.parametrize("score", [0, 6, 7])
def test_refuses_a_rating_outside_1_to_5(world, score):
    with pytest.raises(ValidationError, match="score"):
        RateCase(case_id=resolved(world), score=score)


def test_refuses_rating_a_case_that_is_not_resolved(world):
    assert refusal(world.app.rate_case, world.ctx("portal"),
                   RateCase(case_id=world.case(), score=5)).code == "case.invalid_transition"


def test_refuses_closing_a_case_that_is_not_resolved(world):
    assert refusal(world.app.close_case, world.ctx(), CloseCase(case_id=world.case())).code \
        == "case.invalid_transition"


def test_refuses_commands_for_a_case_that_does_not_exist(world):
    assert refusal(world.app.close_case, world.ctx(), CloseCase(case_id=world.expert())).code \
        == "case.not_found"


def test_a_retried_command_returns_the_first_outcome_without_writing(world):
    case_id = world.case()
    transfer = TransferCase(case_id=case_id, to="zjw", reason="x")
    first = world.app.transfer_case(world.ctx(command_id="t-1"), transfer)

    again = world.app.transfer_case(world.ctx(command_id="t-1"), transfer)

    assert again.replayed and (again.id, again.position) == (first.id, first.position)
    assert len(list(world.app.events.get(case_id))) == 3


def test_a_retried_order_creates_one_case(world):
    enterprise = world.enterprise()
    order = world.ctx("portal", command_id="order-7")
    submit = SubmitCase(enterprise_id=enterprise, service_type="metrology", description="x",
                        channel="online_platform")

    first = world.app.submit_case(order, submit)
    again = world.app.submit_case(order, submit)

    assert again.replayed and again.id == first.id
    assert world.app.recorder.max_notification_id() == first.position
