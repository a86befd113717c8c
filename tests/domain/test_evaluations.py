"""好差评, step by step: a stage of a case rated on five levels; a bad rating followed up by the
department at fault, then rectified and reported within five working days of the district's
calendar, or appealed and reviewed; an overdue follow-up escalated once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.commands import (AcceptCase, AppealEvaluation, EvaluateCase, FollowUpEvaluation,
                             ReportRectification, ResolveCase, ReviewAppeal)
from domain.errors import DomainError
from domain.escalation import OverdueEscalation
from tests.domain.support import in_memory_world

CST = timezone(timedelta(hours=8))
FRIDAY_BEFORE_NATIONAL_DAY = datetime(2022, 9, 30, 10, 0, tzinfo=CST)


@pytest.fixture
def world():
    world = in_memory_world()
    world.now = FRIDAY_BEFORE_NATIONAL_DAY - timedelta(days=10)
    return world


def resolved_case(world):
    case_id = world.case(accepted=False)
    world.app.accept_case(world.ctx(), AcceptCase(case_id=case_id, lead="jxw"))
    world.app.resolve_case(world.ctx("jxw", "陈干事"), ResolveCase(
        case_id=case_id, outcome="配方调整", invested_yuan=Decimal("1000"),
        saved_per_year_yuan=Decimal("0"), expected_benefit_yuan=Decimal("0")))
    return case_id


def rate(world, case_id, stage="resolved", level="dissatisfied"):
    return world.app.execute(world.ctx("portal", "厂长"), EvaluateCase(
        case_id=case_id, stage=stage, level=level, comment="冬天还是掉粉")).id


def test_a_good_rating_of_the_acceptance_is_the_lead_bureaus_and_asks_for_nothing(world):
    case_id = resolved_case(world)

    evaluation = world.app.get_evaluation(rate(world, case_id, "accepted", "very_satisfied"))

    assert (evaluation.status, evaluation.department, evaluation.due) == (
        "satisfied", "samr", None)


def test_a_bad_rating_is_due_five_working_days_later_on_the_districts_calendar(world):
    case_id = resolved_case(world)
    world.now = FRIDAY_BEFORE_NATIONAL_DAY

    evaluation = world.app.get_evaluation(rate(world, case_id))

    assert (evaluation.status, evaluation.department) == ("follow_up_due", "jxw")
    # 1-7 October off, the weekend of 8-9 October worked: the 8th, 9th, 10th, 11th, 12th.
    assert evaluation.due == datetime(2022, 10, 12, 23, 59, 59, tzinfo=CST)


def test_followed_up_rectified_and_reported_on_time(world):
    case_id = resolved_case(world)
    world.now = FRIDAY_BEFORE_NATIONAL_DAY
    evaluation_id = rate(world, case_id)

    world.now += timedelta(days=9)
    world.app.execute(world.ctx("jxw", "陈干事"), FollowUpEvaluation(
        evaluation_id=evaluation_id, contact="电话回访厂长", finding="冬季烧成温度不足"))
    assert world.app.get_evaluation(evaluation_id).status == "verified"
    world.app.execute(world.ctx("jxw", "陈干事"), ReportRectification(
        evaluation_id=evaluation_id, rectification="增加冬季烧成曲线",
        told="10月10日电话告知厂长"))

    evaluation = world.app.get_evaluation(evaluation_id)
    [*_, reported] = world.app.events.get(evaluation_id)
    assert evaluation.status == "rectified" and reported.on_time is True


def test_a_rectification_after_its_working_days_is_late(world):
    case_id = resolved_case(world)
    world.now = FRIDAY_BEFORE_NATIONAL_DAY
    evaluation_id = rate(world, case_id)
    world.now += timedelta(days=13)
    world.app.execute(world.ctx("jxw"), FollowUpEvaluation(
        evaluation_id=evaluation_id, contact="上门", finding="属实"))
    world.app.execute(world.ctx("jxw"), ReportRectification(
        evaluation_id=evaluation_id, rectification="整改", told="书面告知"))

    [*_, reported] = world.app.events.get(evaluation_id)
    assert reported.on_time is False


def test_an_appeal_overturned_takes_the_rating_out_and_one_upheld_must_be_rectified(world):
    first, second = resolved_case(world), resolved_case(world)
    world.now = FRIDAY_BEFORE_NATIONAL_DAY
    overturned, upheld = rate(world, first), rate(world, second)
    for evaluation_id in (overturned, upheld):
        world.app.execute(world.ctx("jxw"), FollowUpEvaluation(
            evaluation_id=evaluation_id, contact="电话", finding="企业误解了检测结论"))
        world.app.execute(world.ctx("jxw"), AppealEvaluation(
            evaluation_id=evaluation_id, reason="差评不实：检测按标准进行"))
        assert world.app.get_evaluation(evaluation_id).status == "appealed"

    world.now = datetime(2022, 10, 17, 9, 0, tzinfo=CST)  # a Monday
    world.app.execute(world.ctx("samr", "王科长"), ReviewAppeal(
        evaluation_id=overturned, upheld=False, note="核实不属实"))
    world.app.execute(world.ctx("samr", "王科长"), ReviewAppeal(
        evaluation_id=upheld, upheld=True, note="属实，限期整改"))

    assert world.app.get_evaluation(overturned).status == "overturned"
    again = world.app.get_evaluation(upheld)
    assert again.status == "verified"
    assert again.due == datetime(2022, 10, 24, 23, 59, 59, tzinfo=CST)  # Tue to Fri, Mon


def test_an_overdue_follow_up_is_escalated_once_for_each_due_date(world):
    case_id = resolved_case(world)
    world.now = FRIDAY_BEFORE_NATIONAL_DAY
    evaluation_id = rate(world, case_id)
    rated_well = rate(world, case_id, "accepted", "satisfied")
    clock = [datetime(2022, 10, 12, 12, 0, tzinfo=CST)]
    escalation = OverdueEscalation(world.app, lambda: clock[0])

    assert escalation.run() == []  # not yet due
    clock[0] = datetime(2022, 10, 13, 9, 0, tzinfo=CST)
    assert evaluation_id in escalation.run()
    assert rated_well not in escalation.due
    assert escalation.run() == []

    evaluation = world.app.get_evaluation(evaluation_id)
    assert evaluation.escalations == 1 and evaluation.status == "follow_up_due"


@pytest.mark.parametrize(("who", "command", "code"), [
    ("zjw", FollowUpEvaluation, "evaluation.not_yours"),  # not the department at fault
    ("jxw", ReviewAppeal, "command.not_permitted"),  # the lead bureau reviews
    ("jxw", ReportRectification, "evaluation.invalid_transition"),  # not followed up yet
])
def test_who_may_do_what_to_a_bad_rating(world, who, command, code):
    case_id = resolved_case(world)
    evaluation_id = rate(world, case_id)
    fields = {FollowUpEvaluation: dict(contact="电话", finding="属实"),
              ReviewAppeal: dict(upheld=True),
              ReportRectification: dict(rectification="整改", told="电话")}[command]

    with pytest.raises(DomainError) as refused:
        world.app.execute(world.ctx(who), command(evaluation_id=evaluation_id, **fields))

    assert refused.value.code == code


def test_a_stage_is_rated_once_and_only_once_reached(world):
    case_id = world.case(accepted=True)

    with pytest.raises(DomainError) as not_reached:
        rate(world, case_id, "resolved")
    rate(world, case_id, "accepted", "basically_satisfied")
    with pytest.raises(DomainError) as again:
        rate(world, case_id, "accepted", "very_dissatisfied")
    with pytest.raises(DomainError) as not_the_taker:
        world.app.execute(world.ctx("post_laisu"), EvaluateCase(
            case_id=case_id, stage="served", level="satisfied"))

    assert not_reached.value.code == "case.stage_not_reached"
    assert again.value.code == "case.already_evaluated"
    assert not_the_taker.value.code == "case.not_yours"
