from datetime import timedelta
from decimal import Decimal

from domain.commands import RateCase, RejectCase, ResolveCase, WithdrawCase
from domain.escalation import OverdueEscalation
from tests.domain.support import START


def resolve(world, case_id):
    world.app.resolve_case(world.ctx(), ResolveCase(
        case_id=case_id, outcome="fixed", invested_yuan=Decimal(0),
        saved_per_year_yuan=Decimal(0), expected_benefit_yuan=Decimal(0)))


def test_a_case_past_its_due_date_is_escalated_once(world):
    case_id = world.case()  # quality management: due in 30 days
    watch = OverdueEscalation(world.app, clock=world.clock)
    world.now = START + timedelta(days=31)

    assert watch.run() == [case_id]
    assert watch.run() == []

    escalated = list(world.app.events.get(case_id))[-1]
    assert (escalated.public_name, escalated.level) == ("case.escalated", 1)
    assert escalated.timestamp == world.now and escalated.actor.person == "overdue-watch"


def test_a_case_within_its_due_date_is_not_escalated(world):
    world.case()
    world.now = START + timedelta(days=29)

    assert OverdueEscalation(world.app, clock=world.clock).run() == []


def test_resolved_rejected_and_withdrawn_cases_are_not_escalated(world):
    resolved, withdrawn = world.case(), world.case()
    rejected = world.case(accepted=False)
    resolve(world, resolved)
    world.app.withdraw_case(world.ctx("portal"), WithdrawCase(case_id=withdrawn, reason=""))
    world.app.reject_case(world.ctx(), RejectCase(case_id=rejected, reason="out of scope"))
    world.now = START + timedelta(days=90)

    assert OverdueEscalation(world.app, clock=world.clock).run() == []


def test_a_reopened_case_is_escalated_again_when_its_new_due_date_passes(world):
    case_id = world.case()
    watch = OverdueEscalation(world.app, clock=world.clock)
    world.now = START + timedelta(days=31)
    watch.run()
    resolve(world, case_id)
    world.app.rate_case(world.ctx("portal"), RateCase(case_id=case_id, score=1,
                                                      comment="nothing changed"))

    world.now += timedelta(days=31)

    assert watch.run() == [case_id]


def test_two_watches_over_one_store_escalate_a_case_only_once(world):
    case_id = world.case()
    world.now = START + timedelta(days=31)

    first = OverdueEscalation(world.app, clock=world.clock).run()
    second = OverdueEscalation(world.app, clock=world.clock).run()

    assert (first, second) == ([case_id], [])
