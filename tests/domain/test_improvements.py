from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.commands import (CompleteImprovement, ExpectBenefit, OpenImprovement, RealiseBenefit,
                             RecordInvestment)
from domain.errors import DomainError


def refusal(call, *args, **kwargs):
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def opened(world):
    return world.app.open_improvement(world.ctx(), OpenImprovement(
        enterprise_id=world.enterprise(name="长城汽车"), title="metrology room",
        department="samr")).id


def invest(project_id, amount, note=""):
    return RecordInvestment(improvement_id=project_id, amount_yuan=Decimal(amount), note=note)


def test_a_project_tracks_investment_and_expected_and_realised_benefit(world):
    project_id = opened(world)

    world.app.record_investment(world.ctx(), invest(project_id, "30000000.00"))
    world.app.record_investment(world.ctx(), invest(project_id, "8810000.00", "second phase"))
    world.app.expect_benefit(world.ctx(), ExpectBenefit(
        improvement_id=project_id, amount_yuan=Decimal("240000000.00")))
    world.app.complete_improvement(world.ctx(), CompleteImprovement(
        improvement_id=project_id, outcome="calibration room in service"))
    world.app.realise_benefit(world.ctx(), RealiseBenefit(
        improvement_id=project_id, amount_yuan=Decimal("1000000.00"), note="verification fees"))

    project = world.app.get_improvement(project_id)
    assert project.status == "completed"
    assert (project.invested_yuan, project.expected_yuan, project.realised_yuan) \
        == (Decimal("38810000.00"), Decimal("240000000.00"), Decimal("1000000.00"))


def test_supply_chain_work_names_the_supplier_and_the_problem_found(world):
    maker, supplier = world.enterprise(name="长城汽车"), world.enterprise(name="座椅供应商")

    project_id = world.app.open_improvement(world.ctx(), OpenImprovement(
        enterprise_id=maker, title="seat weld quality", department="jxw", supplier_id=supplier,
        problem="weld porosity")).id

    project = world.app.get_improvement(project_id)
    assert (project.supplier_id, project.problem) == (supplier, "weld porosity")


def test_refuses_supply_chain_work_without_the_problem(world):
    assert refusal(world.app.open_improvement, world.ctx(), OpenImprovement(
        enterprise_id=world.enterprise(), title="x", department="jxw",
        supplier_id=world.enterprise())).code == "improvement.invalid_input"


def test_refuses_supply_chain_work_with_an_empty_problem(world):
    with pytest.raises(ValidationError, match="problem"):
        OpenImprovement(enterprise_id=world.enterprise(), title="x", department="jxw",
                        supplier_id=world.enterprise(), problem="")


def test_refuses_an_enterprise_as_its_own_supplier(world):
    maker = world.enterprise()

    assert refusal(world.app.open_improvement, world.ctx(), OpenImprovement(
        enterprise_id=maker, title="x", department="jxw", supplier_id=maker,
        problem="x")).code == "improvement.invalid_input"


@pytest.mark.parametrize("role", ["enterprise_id", "supplier_id"])
def test_refuses_a_project_for_an_unregistered_enterprise(world, role):
    args = {"enterprise_id": world.enterprise(), "title": "x", "department": "jxw",
            "problem": "x", role: world.expert()}

    assert refusal(world.app.open_improvement, world.ctx(), OpenImprovement(**args)).code \
        == "enterprise.not_found"


def test_refuses_a_project_under_an_unknown_department(world):
    assert refusal(world.app.open_improvement, world.ctx(), OpenImprovement(
        enterprise_id=world.enterprise(), title="x", department="cia")).code \
        == "improvement.unknown_department"


def test_refuses_negative_investment(world):
    project_id = opened(world)

    with pytest.raises(ValidationError, match="amount_yuan"):
        invest(project_id, "-1.00")
    assert len(list(world.app.events.get(project_id))) == 1


def test_refuses_investing_in_a_completed_project(world):
    project_id = opened(world)
    world.app.complete_improvement(world.ctx(), CompleteImprovement(improvement_id=project_id,
                                                                    outcome="done"))

    assert refusal(world.app.record_investment, world.ctx(), invest(project_id, "1.00")).code \
        == "improvement.invalid_transition"


def test_a_retried_investment_is_counted_once(world):
    project_id, ctx = opened(world), world.ctx(command_id="invest-1")
    world.app.record_investment(ctx, invest(project_id, "100.00"))

    assert world.app.record_investment(ctx, invest(project_id, "100.00")).replayed
    assert world.app.get_improvement(project_id).invested_yuan == Decimal("100.00")
