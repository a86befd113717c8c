"""The district's results as KPIs, given the events of real use cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.views import SqliteViewStore
from domain.commands import (
    DiagnoseEnterprise,
    EnrollEnterprise,
    ExpectBenefit,
    FileDispute,
    IssueReport,
    LaunchCampaign,
    MediateDispute,
    OpenImprovement,
    OrderRecall,
    RealiseBenefit,
    RecordInvestment,
    RecordLossRecovered,
    RecordUnitsDestroyed,
    RecordUnitsRecalled,
    ScheduleMediation,
)
from projections.kpis import KPIS
from projections.memory import InMemoryViews
from projections.programme_kpis import Kpis
from projections.queries import Asker, QueryError
from projections.queries.kpis import kpi_summary
from tests.domain.scenario import run_case_scenario
from tests.projections.support import logged_since

OPERATOR = Asker("operator", "operator")


@pytest.fixture
def kpis(world, tmp_path):
    """The KPI counters of the brick maker's story, in a real view store."""
    run_case_scenario(world.app)
    store = SqliteViewStore(tmp_path / "views.sqlite3")
    store.open([Kpis()])
    store.apply_batch(Kpis(), logged_since(world))
    yield store
    store.close()


def test_the_story_counts_one_problem_collected_online_and_one_solved(kpis):
    district = kpi_summary(kpis, OPERATOR)["groups"]["all"]
    assert district["problems_collected"] == 1 and district["services_online"] == 1
    assert "services_offline" not in district
    assert district["problems_solved"] == 1  # resolved twice (reopened): one problem
    assert district["enterprises_helped"] == 1 and district["enterprises_registered"] == 1
    assert district["experts_used"] == 1 and district["instruments_used"] == 1


def test_money_is_the_latest_resolution_not_the_sum_of_both(kpis):
    district = kpi_summary(kpis, OPERATOR)["groups"]["all"]
    assert district["money_invested_yuan"] == "150000.00"
    assert district["savings_per_year_yuan"] == "400000.00"
    assert district["expected_benefit_yuan"] == "2000000.00"


def test_results_by_department_town_and_channel(kpis):
    by_department = kpi_summary(kpis, OPERATOR, by="department")["groups"]
    assert by_department["samr"]["problems_collected"] == 1  # on the bureau's desk then
    assert by_department["jxw"]["problems_solved"] == 1  # solved by the lead
    assert kpi_summary(kpis, OPERATOR, by="town")["groups"]["laisu"]["problems_solved"] == 1
    by_channel = kpi_summary(kpis, OPERATOR, by="channel")["groups"]
    assert by_channel["online_platform"]["problems_collected"] == 1


def test_results_month_by_month(kpis):
    by_month = kpi_summary(kpis, OPERATOR, by="month")["groups"]
    assert by_month["2026-03"]["problems_collected"] == 1
    assert by_month["2026-03"]["problems_solved"] == 1


def test_months_filter_what_is_summed(kpis):
    assert kpi_summary(kpis, OPERATOR, since_month="2026-03",
                       until_month="2026-03")["groups"]["all"]["problems_collected"] == 1
    assert kpi_summary(kpis, OPERATOR, since_month="2026-05")["groups"] == {}


def test_above_scale_coverage_is_helped_over_registered(world):
    world.enterprise(scale="above_scale")
    run_case_scenario(world.app)
    views = InMemoryViews().fold(Kpis(), logged_since(world))
    counters = {key: doc["amount"] for key, doc in views.rows(KPIS).items()
                if key.startswith("above_scale") and "|district|" in key}
    assert counters == {"above_scale_registered|district|all|2026-03": 1}


@pytest.mark.parametrize("options", [{"by": "planet"}, {"since_month": "March"}])
def test_a_bad_filter_is_refused(kpis, options):
    with pytest.raises(QueryError) as refused:
        kpi_summary(kpis, OPERATOR, **options)
    assert refused.value.code == "query.invalid"


def test_programmes_add_their_results(world, tmp_path):
    # Given a campaign, a mediated dispute, a recall and a supply-chain improvement project
    brickworks, buyer_site = world.enterprise(), world.enterprise(scale="above_scale")
    ctx, app = world.ctx, world.app
    campaign = app.launch_campaign(ctx(), LaunchCampaign(
        title="Shale brick tour", industry="building_bricks", department="samr",
        dimensions=("raw_materials", "production"))).id
    app.enroll_enterprise(ctx(), EnrollEnterprise(campaign_id=campaign,
                                                  enterprise_id=brickworks))
    app.diagnose_enterprise(ctx(), DiagnoseEnterprise(
        campaign_id=campaign, enterprise_id=brickworks,
        scores={"raw_materials": 40, "production": 55}))
    app.issue_report(ctx(), IssueReport(campaign_id=campaign, enterprise_id=brickworks,
                                        improvements=("add internal fuel",)))
    dispute = app.file_dispute(ctx(), FileDispute(
        buyer="长城汽车", producer_id=brickworks, product="bricks", description="crumbled")).id
    app.schedule_mediation(ctx(), ScheduleMediation(dispute_id=dispute, at=world.now,
                                                    place="来苏镇", mediator_department="samr"))
    app.mediate_dispute(ctx(), MediateDispute(dispute_id=dispute, agreement=True,
                                              terms="replace the batch",
                                              compensation_yuan=Decimal("20000.00")))
    recall = app.order_recall(ctx(), OrderRecall(
        enterprise_id=brickworks, product="bricks", reason="strength", quantity=800,
        department="samr")).id
    app.record_units_recalled(ctx(), RecordUnitsRecalled(recall_id=recall, units=500))
    app.record_units_destroyed(ctx(), RecordUnitsDestroyed(recall_id=recall, units=450))
    app.record_loss_recovered(ctx(), RecordLossRecovered(
        recall_id=recall, amount_yuan=Decimal("200000.00"), source="insurer"))
    project = app.open_improvement(ctx(), OpenImprovement(
        enterprise_id=buyer_site, title="Supplier quality", department="jxw",
        supplier_id=brickworks, problem="weak bricks")).id
    app.record_investment(ctx(), RecordInvestment(improvement_id=project,
                                                  amount_yuan=Decimal("388100.00")))
    app.expect_benefit(ctx(), ExpectBenefit(improvement_id=project,
                                            amount_yuan=Decimal("1000000.00")))
    # the estimate is revised
    app.expect_benefit(ctx(), ExpectBenefit(improvement_id=project,
                                            amount_yuan=Decimal("2400000.00")))
    app.realise_benefit(ctx(), RealiseBenefit(improvement_id=project,
                                              amount_yuan=Decimal("500000.00")))

    # When the KPIs are folded from the log
    store = SqliteViewStore(tmp_path / "views.sqlite3")
    store.open([Kpis()])
    store.apply_batch(Kpis(), logged_since(world))
    district = kpi_summary(store, OPERATOR)["groups"]["all"]
    store.close()

    # Then each programme's results are counted once, money exactly
    assert district["campaigns_launched"] == 1 and district["enterprises_diagnosed"] == 1
    assert district["improvement_plans_issued"] == 1
    assert district["disputes_filed"] == district["disputes_resolved"] == 1
    assert district["compensation_yuan"] == "20000.00"
    assert (district["units_recalled"], district["units_destroyed"]) == (500, 450)
    assert district["losses_recovered_yuan"] == "200000.00"
    assert district["improvement_projects"] == district["supplier_problems_found"] == 1
    assert district["money_invested_yuan"] == "388100.00"
    assert district["expected_benefit_yuan"] == "2400000.00"
    assert district["realised_benefit_yuan"] == "500000.00"
