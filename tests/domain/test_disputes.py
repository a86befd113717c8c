from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.commands import (CloseDispute, FileDispute, LaunchCampaign, MediateDispute,
                             ScheduleMediation)
from domain.errors import DomainError
from tests.domain.support import START

MEDIATION = dict(at=START + timedelta(days=5), place="来苏镇人民调解委员会",
                 mediator_department="sfj")


def refusal(call, *args, **kwargs):
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def filed(world, **kwargs):
    return world.app.file_dispute(world.ctx(), FileDispute(
        buyer="永川建工集团", producer_id=world.enterprise(), product="MU10 shale bricks",
        description="a delivery crumbled on site", **kwargs)).id


def scheduled(world):
    dispute_id = filed(world)
    world.app.schedule_mediation(world.ctx(), ScheduleMediation(dispute_id=dispute_id,
                                                                **MEDIATION))
    return dispute_id


def test_a_dispute_is_filed_between_a_buyer_and_a_producer(world):
    buyer = world.enterprise(name="永川建工集团", industry="construction")

    dispute = world.app.get_dispute(filed(world, buyer_id=buyer))

    assert (dispute.status, dispute.buyer_id, dispute.product) \
        == ("filed", buyer, "MU10 shale bricks")


@pytest.mark.parametrize("role", ["producer_id", "buyer_id", "campaign_id"])
def test_refuses_a_dispute_naming_what_is_not_registered(world, role):
    nobody = world.expert()
    args = {"buyer": "x", "producer_id": world.enterprise(), "product": "bricks",
            "description": "x", role: nobody}

    refused = refusal(world.app.file_dispute, world.ctx(), FileDispute(**args))

    assert refused.code == ("campaign.not_found" if role == "campaign_id"
                            else "enterprise.not_found")


def test_a_dispute_filed_during_a_campaign_names_it(world):
    campaign_id = world.app.launch_campaign(world.ctx(), LaunchCampaign(
        title="x", industry="building_bricks", department="samr", dimensions=("firing",))).id

    assert world.app.get_dispute(filed(world, campaign_id=campaign_id)).campaign_id \
        == campaign_id


def test_a_mediation_is_scheduled_and_may_be_moved(world):
    dispute_id = scheduled(world)

    world.app.schedule_mediation(world.ctx(), ScheduleMediation(
        dispute_id=dispute_id, at=START + timedelta(days=6), place="区司法局",
        mediator_department="sfj"))

    dispute = world.app.get_dispute(dispute_id)
    assert (dispute.status, dispute.mediation.place) == ("mediation_scheduled", "区司法局")


def test_refuses_a_mediator_that_is_not_a_department(world):
    assert refusal(world.app.schedule_mediation, world.ctx(), ScheduleMediation(
        dispute_id=filed(world), at=START, place="x", mediator_department="court")).code \
        == "dispute.unknown_department"


def test_an_agreement_with_compensation_settles_the_dispute_and_it_is_closed(world):
    dispute_id = scheduled(world)

    world.app.mediate_dispute(world.ctx(), MediateDispute(
        dispute_id=dispute_id, agreement=True, terms="replace 20,000 bricks",
        compensation_yuan=Decimal("36000.00")))
    world.app.close_dispute(world.ctx(), CloseDispute(dispute_id=dispute_id))

    dispute = world.app.get_dispute(dispute_id)
    assert dispute.status == "closed"
    assert dispute.outcome.compensation_yuan == Decimal("36000.00")


def test_compensation_is_stored_as_a_decimal_string_of_yuan(world):
    dispute_id = scheduled(world)

    world.app.mediate_dispute(world.ctx(), MediateDispute(
        dispute_id=dispute_id, agreement=True, terms="pay", compensation_yuan=Decimal("36000.00")))

    record = world.app.events.recorder.select_events(dispute_id, desc=True, limit=1)[0]
    assert b'"compensation_yuan":"36000.00"' in record.state.replace(b" ", b"")


def test_a_failed_mediation_can_be_closed(world):
    dispute_id = scheduled(world)

    world.app.mediate_dispute(world.ctx(), MediateDispute(
        dispute_id=dispute_id, agreement=False, terms="the buyer goes to court"))
    world.app.close_dispute(world.ctx(), CloseDispute(dispute_id=dispute_id,
                                                      note="referred to the court"))

    assert world.app.get_dispute(dispute_id).status == "closed"


@pytest.mark.parametrize("compensation", [Decimal("-1.00"), Decimal("0.001")])
def test_refuses_compensation_that_is_not_yuan_and_fen(world, compensation):
    with pytest.raises(ValidationError, match="compensation_yuan"):
        MediateDispute(dispute_id=scheduled(world), agreement=True, terms="pay",
                       compensation_yuan=compensation)


def test_refuses_compensation_without_an_agreement(world):
    assert refusal(world.app.mediate_dispute, world.ctx(), MediateDispute(
        dispute_id=scheduled(world), agreement=False, terms="none",
        compensation_yuan=Decimal("10.00"))).code == "dispute.invalid_input"


def test_refuses_mediating_before_a_mediation_is_scheduled(world):
    assert refusal(world.app.mediate_dispute, world.ctx(), MediateDispute(
        dispute_id=filed(world), agreement=True, terms="x")).code \
        == "dispute.invalid_transition"


def test_refuses_mediating_a_closed_dispute(world):
    dispute_id = scheduled(world)
    world.app.mediate_dispute(world.ctx(), MediateDispute(
        dispute_id=dispute_id, agreement=True, terms="replace", compensation_yuan=Decimal("1.00")))
    world.app.close_dispute(world.ctx(), CloseDispute(dispute_id=dispute_id))

    refused = refusal(world.app.mediate_dispute, world.ctx(), MediateDispute(
        dispute_id=dispute_id, agreement=True, terms="again"))

    assert refused.code == "dispute.invalid_transition" and "closed" in refused.message
    assert len(list(world.app.events.get(dispute_id))) == 4


def test_refuses_closing_a_dispute_not_yet_mediated(world):
    assert refusal(world.app.close_dispute, world.ctx(),
                   CloseDispute(dispute_id=scheduled(world))).code == "dispute.invalid_transition"


def test_a_retried_filing_files_one_dispute(world):
    producer, ctx = world.enterprise(), world.ctx(command_id="dispute-9")

    dispute = FileDispute(buyer="buyer", producer_id=producer, product="bricks", description="x")
    first = world.app.file_dispute(ctx, dispute)
    again = world.app.file_dispute(ctx, dispute)

    assert again.replayed and again.id == first.id
    assert world.app.recorder.max_notification_id() == first.position
