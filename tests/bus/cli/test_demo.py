"""`onestop demo` on a real nats-server: the article's figures come out of the KPIs, and a
second run changes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import orjson
import pytest

from bus.cli.stories import Story
from tests.bus_support import Service, service_on_its_own_server



def run_story(service: Service) -> Story:
    async def send(principal: str, command: str, body: dict) -> dict:
        return await asyncio.to_thread(service.request, principal, command, body)

    story = Story(send)
    asyncio.run(story.run())
    return story


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo run twice against one service; the KPIs after each run."""
    with service_on_its_own_server(tmp_path_factory.mktemp("demo")) as service:
        runs = []
        for _ in range(2):
            story = run_story(service)
            answer = service.query("samr", "kpi.summary", {
                "min_position": story.last_position, "wait_ms": 30_000})
            assert answer["ok"], answer
            runs.append((story, answer["result"]["groups"]["all"], service.log_length()))
        by_month = service.query("samr", "kpi.summary", {"by": "month"})
        assert by_month["ok"], by_month
        yield runs, logged_events(service), by_month["result"]["groups"]


def logged_events(service: Service) -> list[tuple[str, dict]]:
    recorder = service.bus.services.dispatcher.app.recorder
    return [(n.topic, orjson.loads(n.state))
            for n in recorder.select_notifications(start=1, limit=1_000_000)]


def test_the_stories_happened_in_2022_and_are_recorded_now(demo):
    _runs, events, by_month = demo

    assert {data["timestamp"][:7] for _, data in events} == set(by_month) == {
        "2022-03", "2022-04", "2022-05", "2022-06", "2022-07", "2022-08", "2022-09", "2022-10"}
    assert {data["recorded_at"][:4] for _, data in events} == {str(datetime.now().year)}
    assert by_month["2022-03"]["problems_collected"] == 34  # the brick makers' cases
    assert by_month["2022-10"]["problems_solved"] == 1  # Great Wall's metrology room


def test_the_kpis_tell_the_articles_figures(demo):
    _story, district, _length = demo[0][0]
    # 34 brick makers and Great Wall's metrology room: 35 problems collected and solved
    assert district["problems_collected"] == district["problems_solved"] == 35
    assert district["services_online"] == 12 and district["services_offline"] == 23
    assert district["enterprises_helped"] == 35
    assert district["enterprises_registered"] == 83  # 34 brick makers, Great Wall, 48 suppliers
    assert district["enterprises_diagnosed"] == district["improvement_plans_issued"] == 34
    assert district["disputes_resolved"] == 21  # "20-odd disputes"
    assert district["units_recalled"] == district["units_destroyed"] == 820_000
    assert district["losses_recovered_yuan"] == "2050000.00"  # "over 2 million yuan"
    assert district["improvement_projects"] == 100 and district["supplier_problems_found"] == 48
    # 38.81 million on Great Wall's projects, plus what the resolved cases invested
    assert district["money_invested_yuan"] == "40330000.00"
    assert district["expected_benefit_yuan"] == "246100000.00"
    assert district["savings_per_year_yuan"] == "3720000.00"
    assert district["experts_used"] == district["instruments_used"] == 1


def test_the_kpis_match_the_events_the_demo_sent(demo):
    (story, district, length), events = demo[0][0], demo[1]

    def total(topic: str, field: str | None = None) -> Decimal:
        return sum((Decimal(str(body[field])) if field else Decimal(1)
                    for name, body in events if name == topic), Decimal(0))

    assert len(events) == length and story.steps > 900
    assert district["problems_collected"] == total("case.submitted")
    assert district["units_destroyed"] == total("recall.units_destroyed", "units")
    assert Decimal(district["losses_recovered_yuan"]) == total("recall.loss_recovered",
                                                               "amount_yuan")
    assert Decimal(district["compensation_yuan"]) == total("dispute.mediated",
                                                           "compensation_yuan")
    assert district["improvement_projects"] == total("improvement.opened")
    invested = (total("improvement.investment_recorded", "amount_yuan")
                + total("case.resolved", "invested_yuan"))  # no case was resolved twice
    assert Decimal(district["money_invested_yuan"]) == invested


def test_running_the_demo_twice_doubles_nothing(demo):
    (first_story, first, first_length), (second_story, second, second_length) = demo[0]
    assert second == first
    assert second_length == first_length
    assert second_story.steps == first_story.steps
