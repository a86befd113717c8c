"""`onestop demo` on a real nats-server: the article's figures come out of the KPIs, and a
second run changes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import orjson
import pytest

from bus.cli.demo import ARTICLE_FIGURES
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
    assert by_month["2022-03"]["above_scale_registered"] == 340


def test_the_kpis_tell_the_articles_figures(demo):
    _story, district, _length = demo[0][0]
    for metric, _says, figure in ARTICLE_FIGURES:
        assert district[metric] == figure, metric
    # Where the article says "more than" or "about", the demo's own figure.
    assert district["problems_collected"] == district["problems_solved"] == 72  # 70余个
    assert district["enterprises_helped"] == 35  # 30余家
    assert district["disputes_resolved"] == 21  # 20余起
    assert district["units_destroyed"] == 820_000  # 80余万块
    assert district["losses_recovered_yuan"] == "2050000.00"  # 200余万元
    # Money by programme: Great Wall's projects apart from the cases' resolutions.
    assert district["money_invested_yuan"] == "40330000.00"
    assert district["cases_money_invested_yuan"] == "1520000.00"
    assert district["projects_expected_benefit_yuan"] == "240000000.00"
    # 好差评 on the 37 problems of the service modes: 3 bad, 1 rectified, 2 overturned.
    assert (district["ratings"], district["ratings_bad"], district["ratings_rectified"],
            district["ratings_overturned"]) == (37, 3, 1, 2)
    assert district["satisfaction_rate"] == round(34 / 35, 4)
    assert district["rectification_rate"] == 1.0


def test_the_kpis_match_the_events_the_demo_sent(demo):
    (story, district, length), events = demo[0][0], demo[1]

    def total(topic: str, field: str | None = None) -> Decimal:
        return sum((Decimal(str(body[field])) if field else Decimal(1)
                    for name, body in events if name == topic), Decimal(0))

    # The signed checkpoints share the log: one every thousand messages at most.
    assert 0 <= length - len(events) <= length // 1000 and story.steps > 1400
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
