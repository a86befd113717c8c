"""When a fact happened and when the service recorded it are two times, both kept: a town
post's paper forms of last week, last year's ledger. What happened cannot have happened in
the future, nor to a record before the record began."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.base import Actor, CommandContext
from domain.commands import AcceptCase, RegisterEnterprise, SubmitCase
from domain.errors import DomainError
from tests.domain.support import credit_code, in_memory_world

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
MARCH_2022 = datetime(2022, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))


def said(principal: str, at: datetime) -> CommandContext:
    return CommandContext(actor=Actor(principal=principal, person="经办人"), at=at,
                          recorded_at=NOW)


def registered(app, at: datetime = MARCH_2022):
    return app.register_enterprise(said("portal", at), RegisterEnterprise(
        credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu")).id


def test_a_backfilled_fact_keeps_when_it_happened_and_when_it_was_recorded():
    app = in_memory_world().app

    enterprise_id = registered(app)

    [event] = app.events.get(enterprise_id)
    assert (event.timestamp, event.recorded_at) == (MARCH_2022, NOW)


def test_a_fact_recorded_as_it_happens_has_one_time_for_both():
    app = in_memory_world().app
    ctx = CommandContext(actor=Actor(principal="portal", person="厂长"), at=NOW)

    enterprise_id = app.register_enterprise(ctx, RegisterEnterprise(
        credit_code=credit_code(), name="厂", scale="small_micro", industry="building_bricks",
        town="laisu")).id

    [event] = app.events.get(enterprise_id)
    assert event.timestamp == event.recorded_at == NOW


def test_a_clock_a_little_ahead_is_taken_but_the_future_is_refused():
    app = in_memory_world().app
    registered(app, NOW + timedelta(minutes=4))

    with pytest.raises(DomainError) as refused:
        registered(app, NOW + timedelta(minutes=6))

    assert refused.value.code == "command.occurred_in_future"


def test_nothing_happens_to_a_case_before_the_case_began():
    app = in_memory_world().app
    enterprise_id = registered(app)
    case_id = app.submit_case(said("portal", MARCH_2022 + timedelta(days=2)), SubmitCase(
        enterprise_id=enterprise_id, service_type="quality_management",
        description="bricks crumble", channel="online_platform")).id

    with pytest.raises(DomainError) as refused:
        app.accept_case(said("samr", MARCH_2022 + timedelta(days=1)), AcceptCase(case_id=case_id))

    assert refused.value.code == "case.occurred_before_it_existed"
    assert refused.value.fields["began_at"] == MARCH_2022 + timedelta(days=2)
    assert app.get_case(case_id).status == "submitted"  # nothing was written
    app.accept_case(said("samr", MARCH_2022 + timedelta(days=3)),
                               AcceptCase(case_id=case_id))
    assert app.get_case(case_id).due == MARCH_2022 + timedelta(days=3 + 30)
