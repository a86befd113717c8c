from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.commands import (AmendRecall, CompleteRecall, OrderRecall, RecordLossRecovered,
                             RecordUnitsDestroyed, RecordUnitsRecalled)
from domain.errors import DomainError


def refusal(call, *args, **kwargs):
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value


def ordered(world, quantity=800_000, **kwargs):
    return world.app.order_recall(world.ctx(), OrderRecall(
        enterprise_id=world.enterprise(), product="MU10 shale bricks",
        reason="compressive strength below GB/T 5101", quantity=quantity, department="samr",
        **kwargs)).id


def recalled(recall_id, units):
    return RecordUnitsRecalled(recall_id=recall_id, units=units)


def destroyed(recall_id, units):
    return RecordUnitsDestroyed(recall_id=recall_id, units=units)


def events_of(world, recall_id):
    return len(list(world.app.events.get(recall_id)))


def test_units_are_recalled_destroyed_and_losses_recovered_until_completion(world):
    recall_id = ordered(world)

    world.app.record_units_recalled(world.ctx(), recalled(recall_id, 500_000))
    world.app.record_units_recalled(world.ctx(), recalled(recall_id, 300_000))
    world.app.record_units_destroyed(world.ctx(), destroyed(recall_id, 800_000))
    world.app.record_loss_recovered(world.ctx(), RecordLossRecovered(
        recall_id=recall_id, amount_yuan=Decimal("1200000.00"), source="producer"))
    world.app.record_loss_recovered(world.ctx(), RecordLossRecovered(
        recall_id=recall_id, amount_yuan=Decimal("800000.00"), source="insurer"))
    world.app.complete_recall(world.ctx(), CompleteRecall(recall_id=recall_id))

    recall = world.app.get_recall(recall_id)
    assert (recall.status, recall.ordered, recall.recalled, recall.destroyed) \
        == ("completed", 800_000, 800_000, 800_000)
    assert recall.recovered_yuan == Decimal("2000000.00")


def test_refuses_recalling_more_than_ordered(world):
    recall_id = ordered(world, 1000)
    world.app.record_units_recalled(world.ctx(), recalled(recall_id, 900))

    refused = refusal(world.app.record_units_recalled, world.ctx(), recalled(recall_id, 101))

    assert refused.code == "recall.over_recall" and refused.fields["recalled"] == 900
    assert events_of(world, recall_id) == 2


def test_an_amended_order_allows_recalling_more(world):
    recall_id = ordered(world, 1000)
    world.app.record_units_recalled(world.ctx(), recalled(recall_id, 1000))

    world.app.amend_recall(world.ctx(), AmendRecall(
        recall_id=recall_id, quantity=1500, reason="a second batch found at a site"))
    world.app.record_units_recalled(world.ctx(), recalled(recall_id, 500))

    assert world.app.get_recall(recall_id).recalled == 1500


@pytest.mark.parametrize("quantity", [1000, 999])
def test_refuses_an_amendment_that_does_not_raise_the_order(world, quantity):
    assert refusal(world.app.amend_recall, world.ctx(), AmendRecall(
        recall_id=ordered(world, 1000), quantity=quantity, reason="x")).code \
        == "recall.quantity_not_raised"


def test_refuses_destroying_more_than_recalled(world):
    recall_id = ordered(world, 1000)
    world.app.record_units_recalled(world.ctx(), recalled(recall_id, 400))
    world.app.record_units_destroyed(world.ctx(), destroyed(recall_id, 300))

    refused = refusal(world.app.record_units_destroyed, world.ctx(), destroyed(recall_id, 101))

    assert refused.code == "recall.over_destruction"
    assert world.app.get_recall(recall_id).destroyed == 300
    assert events_of(world, recall_id) == 3


@pytest.mark.parametrize("count", [recalled, destroyed])
@pytest.mark.parametrize("units", [0, -5])
def test_refuses_counts_that_are_not_positive(world, count, units):
    with pytest.raises(ValidationError, match="units"):
        count(ordered(world), units)


def test_refuses_an_order_without_a_positive_quantity(world):
    with pytest.raises(ValidationError, match="quantity"):
        ordered(world, 0)


def test_refuses_an_order_for_an_unregistered_enterprise(world):
    assert refusal(world.app.order_recall, world.ctx(), OrderRecall(
        enterprise_id=world.expert(), product="bricks", reason="x", quantity=10,
        department="samr")).code == "enterprise.not_found"


def test_refuses_an_order_from_an_unknown_department(world):
    assert refusal(world.app.order_recall, world.ctx(), OrderRecall(
        enterprise_id=world.enterprise(), product="bricks", reason="x", quantity=10,
        department="cia")).code == "recall.unknown_department"


def test_refuses_recording_units_after_completion(world):
    recall_id = ordered(world, 10)
    world.app.complete_recall(world.ctx(), CompleteRecall(
        recall_id=recall_id, note="nothing found on the market"))

    assert refusal(world.app.record_units_recalled, world.ctx(), recalled(recall_id, 1)).code \
        == "recall.invalid_transition"


def test_a_retried_count_is_counted_once(world):
    recall_id, ctx = ordered(world, 1000), world.ctx(command_id="truck-17")
    world.app.record_units_recalled(ctx, recalled(recall_id, 600))

    again = world.app.record_units_recalled(ctx, recalled(recall_id, 600))

    assert again.replayed and world.app.get_recall(recall_id).recalled == 600
