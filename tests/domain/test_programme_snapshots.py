from decimal import Decimal
from typing import ClassVar

from eventsourcing.application import project_aggregate

from domain.application import OneStop
from domain.campaigns import Campaign
from domain.case_events import Finding
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
    campaign = app.launch_campaign(ctx(), "tour", "bricks", "samr", ("firing",)).id
    app.enroll_enterprise(ctx(), campaign, maker)
    app.diagnose_enterprise(ctx(), campaign, maker, {"firing": 40},
                            (Finding(stage="production", finding="kiln too cool"),))
    app.issue_report(ctx(), campaign, maker, ("raise the kiln temperature",))
    # A buyer's dispute with the maker is settled.
    dispute = app.file_dispute(ctx(), "buyer", maker, "bricks", "crumbled").id
    app.schedule_mediation(ctx(), dispute, world.now, "来苏镇", "sfj")
    app.mediate_dispute(ctx(), dispute, True, "replace", Decimal("3000.00"))
    # Its bricks are recalled and part of the loss recovered.
    recall = app.order_recall(ctx(), maker, "bricks", "weak", 10, "samr").id
    app.record_units_recalled(ctx(), recall, 5)
    app.record_loss_recovered(ctx(), recall, Decimal("2.50"), "producer")
    # It invests in an improvement expected to pay back.
    project = app.open_improvement(ctx(), maker, "new formula", "samr").id
    app.record_investment(ctx(), project, Decimal("1.00"))
    app.expect_benefit(ctx(), project, Decimal("5.00"))

    for aggregate_id in (campaign, dispute, recall, project):
        assert list(app.snapshots.get(aggregate_id))
        assert state_of(app.repository.get(aggregate_id)) \
            == state_of(project_aggregate(None, app.events.get(aggregate_id)))
