"""The running service escalates what is overdue by itself: a case past its due date, and a
bad rating whose follow-up was not rectified in its working days; each once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.bus.service.test_occurred_time import last_message_on
from tests.bus_support import Service
from tests.domain.support import credit_code
from tests.processes import wait_until


@pytest.fixture
def service(district, unique_name, monkeypatch):
    monkeypatch.setenv("ONESTOP_OVERDUE_SECONDS", "0.2")
    # The cases are loaded as from a ledger, in the past: judged at once here.
    monkeypatch.setenv("ONESTOP_OVERDUE_SETTLING_SECONDS", "0")
    running = Service(district, unique_name())
    yield running
    running.close()


def test_an_overdue_case_and_an_overdue_follow_up_are_escalated_once(service):
    weeks_ago = (datetime.now(timezone.utc) - timedelta(days=70)).isoformat()
    enterprise = service.applied("post_laisu", "enterprise.register", occurred_at=weeks_ago,
                                 credit_code=credit_code(), name="厂", scale="small_micro",
                                 industry="building_bricks", town="laisu")["id"]

    def case() -> str:
        case_id = service.applied("post_laisu", "case.submit", occurred_at=weeks_ago,
                                  enterprise_id=enterprise, service_type="metrology",
                                  description="检定", channel="town_post", station="post_laisu")["id"]
        service.applied("samr", "case.accept", occurred_at=weeks_ago, case_id=case_id)
        return case_id

    overdue_case = case()  # metrology: due in ten days, seventy days ago
    rated = case()
    service.applied("samr", "case.resolve", occurred_at=weeks_ago, case_id=rated,
                    outcome="x", invested_yuan="0", saved_per_year_yuan="0",
                    expected_benefit_yuan="0")
    rating = service.applied("post_laisu", "case.evaluate", occurred_at=weeks_ago,
                             case_id=rated, stage="resolved", level="very_dissatisfied")["id"]

    def last_topic(record: str) -> str:
        stored = last_message_on(service, f"{service.stream}.events.{record}")
        return stored.headers["Onestop-Topic"]

    wait_until(lambda: last_topic(overdue_case) == "case.escalated", 20, "the case escalated")
    wait_until(lambda: last_topic(rating) == "evaluation.escalated", 20,
               "the follow-up escalated")
    watch = service.bus.services.overdue
    escalated, rounds, length = watch.escalated, watch.rounds, service.log_length()
    wait_until(lambda: watch.rounds >= rounds + 3, 10, "three rounds more")
    assert (watch.escalated, service.log_length()) == (escalated, length)  # each once
    assert last_topic(rated) == "case.resolved"  # resolved in time: nothing to escalate
