"""On the bus: a command may say when what it records happened (`occurred_at`). Its events
keep that as `ce-time` and when the service recorded them as `Onestop-Recorded-Time`; the
case view and the results go by when it happened. What each kind of wrong time gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from adapters.jetstream.cloudevents import RECORDED_TIME
from adapters.jetstream.log import StreamLog
from tests.bus_support import Service
from tests.domain.support import credit_code

MARCH_2022 = "2022-03-01T08:30:00+08:00"


def backfilled_case(service: Service) -> tuple[str, int]:
    enterprise = service.command("post_laisu", "enterprise.register", occurred_at=MARCH_2022,
                                 credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
                                 industry="building_bricks", town="laisu")
    assert enterprise["ok"], enterprise
    case = service.command("post_laisu", "case.submit", occurred_at="2022-03-02T10:00:00+08:00",
                           enterprise_id=enterprise["id"], service_type="quality_management",
                           description="砖块一碰就碎", channel="town_post")
    assert case["ok"], case
    return case["id"], case["position"]


def last_message_on(service: Service, subject: str):
    async def read():
        log = StreamLog(service.client, service.stream, request_timeout=5)
        await log.start()
        try:
            return await log.last(subject)
        finally:
            await log.close()
    return service.runner.run(read())


def test_a_backfilled_case_is_dated_when_it_happened_and_recorded_now(service):
    case_id, position = backfilled_case(service)

    stored = last_message_on(service, f"{service.stream}.events.{case_id}")
    assert stored.headers["ce-time"] == "2022-03-02T10:00:00+08:00"
    recorded = datetime.fromisoformat(stored.headers[RECORDED_TIME])
    assert abs(datetime.now(timezone.utc) - recorded) < timedelta(minutes=1)

    case = service.query("samr", "case.get", {"case_id": case_id, "min_position": position})
    assert case["ok"], case
    assert case["result"]["case"]["submitted_at"] == "2022-03-02T10:00:00+08:00"
    [step] = case["result"]["timeline"]
    assert step["at"] == "2022-03-02T10:00:00+08:00"
    assert step["recorded_at"] == stored.headers[RECORDED_TIME]
    # The audit trail keeps both times too.
    changes = service.query("samr", "audit.changes", {"limit": 10, "min_position": position})
    [change] = [c for c in changes["result"]["items"] if c["aggregate_id"] == case_id]
    assert (change["at"], change["recorded_at"]) == ("2022-03-02T10:00:00+08:00",
                                                     stored.headers[RECORDED_TIME])


def test_the_results_count_a_backfilled_case_in_the_month_it_happened(service):
    _, position = backfilled_case(service)

    def summary(**span) -> dict:
        answer = service.query("samr", "kpi.summary", {"by": "month", "min_position": position,
                                                       **span})
        assert answer["ok"], answer
        return answer["result"]["groups"]

    assert summary()["2022-03"]["problems_collected"] == 1
    assert summary(since_month="2022-03", until_month="2022-03")["2022-03"][
        "enterprises_registered"] == 1
    assert summary(until_month="2022-02") == {}
    assert datetime.now().strftime("%Y-%m") not in summary()


def test_what_happened_in_the_future_is_refused_and_nothing_is_written(service):
    ahead = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()

    reply = service.command("portal", "enterprise.register", occurred_at=ahead,
                            credit_code=credit_code(), name="厂", scale="small_micro",
                            industry="building_bricks", town="laisu")

    assert reply["error"]["code"] == "command.occurred_in_future"
    assert service.log_length() == 0


def test_what_happened_to_a_case_before_it_began_is_refused(service):
    case_id, position = backfilled_case(service)

    reply = service.command("samr", "case.accept", occurred_at=MARCH_2022, case_id=case_id,
                            lead="jxw")

    assert reply["error"]["code"] == "case.occurred_before_it_existed"
    assert service.log_length() == position


@pytest.mark.parametrize("occurred_at", [
    "2022-03-01T08:30:00",  # no offset: whose morning?
    "1900-01-01T00:00:00+08:00",  # outside the years the district keeps
    "yesterday",
    1646094600,  # a number is no time
])
def test_a_time_that_is_no_time_is_invalid(service, occurred_at):
    reply = service.command("portal", "enterprise.register", occurred_at=occurred_at,
                            credit_code=credit_code(), name="厂", scale="small_micro",
                            industry="building_bricks", town="laisu")

    assert reply["error"]["code"] == "command.invalid"
    assert list(reply["error"]["fields"]) == ["occurred_at"]
    assert service.log_length() == 0
