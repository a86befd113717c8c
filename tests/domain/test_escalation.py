from datetime import timedelta
from decimal import Decimal

from domain.commands import (
    AcceptCase,
    RateCase,
    RegisterEnterprise,
    RejectCase,
    ResolveCase,
    SubmitCase,
    WithdrawCase,
)
from domain.escalation import SETTLING, OverdueEscalation
from tests.domain.support import START, credit_code


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


def loaded_case(world, recorded_at):
    """A case accepted at START, loaded from a ledger at `recorded_at`."""
    def loaded(principal="samr", person="王科长"):
        return world.ctx(principal, person, recorded_at=recorded_at)
    world.now = START
    enterprise = world.app.register_enterprise(loaded("portal", "厂长"), RegisterEnterprise(
        credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu")).id
    case_id = world.app.submit_case(loaded("portal", "厂长"), SubmitCase(
        enterprise_id=enterprise, service_type="quality_management", description="砖块粉化",
        channel="offline_window", station="asc_window")).id
    world.app.accept_case(loaded(), AcceptCase(case_id=case_id))
    return case_id, loaded


def test_a_case_loaded_from_a_ledger_waits_until_the_loading_has_paused(world):
    loading_day = START + timedelta(days=90)  # long past the case's thirty days
    case_id, loaded = loaded_case(world, recorded_at=loading_day)
    watch = OverdueEscalation(world.app, clock=world.clock)

    world.now = loading_day + timedelta(minutes=1)  # its resolution may be on its way
    assert watch.run() == []
    world.now = loading_day + SETTLING  # the loading has paused: it is judged
    assert watch.run() == [case_id]


def test_a_loaded_case_whose_resolution_comes_in_time_is_never_escalated(world):
    loading_day = START + timedelta(days=90)
    case_id, loaded = loaded_case(world, recorded_at=loading_day)
    watch = OverdueEscalation(world.app, clock=world.clock)
    world.now = loading_day + timedelta(minutes=1)
    assert watch.run() == []

    world.now = START + timedelta(days=20)  # resolved in time, as the ledger says
    world.app.resolve_case(loaded(), ResolveCase(
        case_id=case_id, outcome="fixed", invested_yuan=Decimal(0),
        saved_per_year_yuan=Decimal(0), expected_benefit_yuan=Decimal(0)))
    world.now = loading_day + timedelta(days=1)
    assert watch.run() == []


def test_cases_done_now_are_escalated_while_a_ledger_is_loading(world):
    live = world.case()  # accepted at START, recorded then
    loading_day = START + timedelta(days=90)
    loaded_case(world, recorded_at=loading_day)
    watch = OverdueEscalation(world.app, clock=world.clock)
    world.now = loading_day + timedelta(minutes=1)
    assert watch.run() == [live]
