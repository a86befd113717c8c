from decimal import Decimal
from typing import ClassVar

from eventsourcing.application import project_aggregate

from domain.application import OneStop
from domain.campaigns import Campaign
from domain.commands import (DiagnoseEnterprise, EnrollEnterprise, ExpectBenefit, FileDispute,
                             IssueReport, LaunchCampaign, MediateDispute, OpenImprovement,
                             OrderRecall, RecordInvestment, RecordLossRecovered,
                             RecordUnitsRecalled, ScheduleMediation, VisitFinding)
from domain.disputes import Dispute
from domain.improvements import Improvement
from domain.recalls import Recall
from tests.domain.support import IN_MEMORY, World
from tests.domain.test_snapshots import state_of


class SnapshottingOneStop(OneStop):
    snapshotting_intervals: ClassVar = {Campaign: 2, Dispute: 2, Recall: 2, Improvement: 2}


def test_programmes_loaded_from_snapshots_equal_programmes_replayed_from_their_events():
    world = World(SnapshottingOneStop(env=IN_MEMORY))
    app, ctx, maker = world.app, world.ctx, world.enterprise()
    # A campaign diagnoses and reports on a maker.
    campaign = app.launch_campaign(ctx(), LaunchCampaign(
        title="tour", industry="building_bricks", department="samr", dimensions=("firing",))).id
    app.enroll_enterprise(ctx(), EnrollEnterprise(campaign_id=campaign, enterprise_id=maker))
    app.diagnose_enterprise(ctx(), DiagnoseEnterprise(
        campaign_id=campaign, enterprise_id=maker, scores={"firing": 40},
        findings=(VisitFinding(stage="production", finding="kiln too cool"),)))
    app.issue_report(ctx(), IssueReport(campaign_id=campaign, enterprise_id=maker,
                                        improvements=("raise the kiln temperature",)))
    # A buyer's dispute with the maker is settled.
    dispute = app.file_dispute(ctx(), FileDispute(buyer="buyer", producer_id=maker,
                                                  product="bricks", description="crumbled")).id
    app.schedule_mediation(ctx(), ScheduleMediation(dispute_id=dispute, at=world.now,
                                                    place="来苏镇", mediator_department="sfj"))
    app.mediate_dispute(ctx(), MediateDispute(dispute_id=dispute, agreement=True,
                                              terms="replace",
                                              compensation_yuan=Decimal("3000.00")))
    # Its bricks are recalled and part of the loss recovered.
    recall = app.order_recall(ctx(), OrderRecall(enterprise_id=maker, product="bricks",
                                                 reason="weak", quantity=10,
                                                 department="samr")).id
    app.record_units_recalled(ctx(), RecordUnitsRecalled(recall_id=recall, units=5))
    app.record_loss_recovered(ctx(), RecordLossRecovered(
        recall_id=recall, amount_yuan=Decimal("2.50"), source="producer"))
    # It invests in an improvement expected to pay back.
    project = app.open_improvement(ctx(), OpenImprovement(
        enterprise_id=maker, title="new formula", department="samr")).id
    app.record_investment(ctx(), RecordInvestment(improvement_id=project,
                                                  amount_yuan=Decimal("1.00")))
    app.expect_benefit(ctx(), ExpectBenefit(improvement_id=project,
                                            amount_yuan=Decimal("5.00")))

    for aggregate_id in (campaign, dispute, recall, project):
        assert list(app.snapshots.get(aggregate_id))
        assert state_of(app.repository.get(aggregate_id)) \
            == state_of(project_aggregate(None, app.events.get(aggregate_id)))
