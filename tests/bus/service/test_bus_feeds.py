"""Department feeds: each department's system sees the cases it is involved in, and no others."""

from __future__ import annotations

import pytest

from bus.contract import subjects
from bus.contract.identity import feed_stream
from tests.bus.service.test_bus_intake import read_stream
from tests.bus_support import Service, service_on_its_own_server, when
from tests.domain.support import credit_code


@pytest.fixture
def service(tmp_path):
    with service_on_its_own_server(tmp_path) as running:
        yield running


def feed_types(service: Service, department: str, count: int) -> list[str]:
    messages = read_stream(service, feed_stream(department), subjects.all_feed(department), count,
                           reader=department)
    return [m.headers["ce-type"].split(".")[-2] for m in messages]


def feed_size(service: Service, department: str) -> int:
    client = service.client_for(department)

    async def size():
        info = await client.jetstream().stream_info(feed_stream(department))
        return info.state.messages
    return service.runner.run(size())


def test_each_department_sees_the_cases_it_is_involved_in(service):
    case, _ = service.accepted_case()
    service.applied("jxw", "case.transfer", case_id=case, to="jtj", reason="transport bricks")
    last = service.applied("jtj", "case.schedule_appointment", case_id=case,
                           at=when(7), place="factory")

    # The new lead gets the history it missed, then what happens next.
    assert feed_types(service, "jtj", 4) == ["submitted", "accepted", "transferred",
                                             "appointment_scheduled"]
    assert feed_types(service, "zjw", 4) == ["submitted", "accepted", "transferred",
                                             "appointment_scheduled"]
    # The old lead sees the transfer away, and nothing after it.
    assert feed_types(service, "jxw", 3) == ["submitted", "accepted", "transferred"]
    assert feed_size(service, "jxw") == 3
    # A department with nothing to do with the case sees nothing of it.
    assert feed_size(service, "kjj") == 0
    [message] = read_stream(service, feed_stream("jtj"), subjects.all_feed("jtj"), 4,
                            reader="jtj")[-1:]
    assert message.headers["ce-subject"] == case
    assert int(message.headers["Onestop-Log-Sequence"]) == last["position"]


def test_a_rating_goes_to_the_department_it_is_for_and_to_the_window_that_took_the_case(
        service):
    enterprise = service.applied("post_laisu", "enterprise.register", credit_code=credit_code(),
                                 name="厂", scale="small_micro", industry="building_bricks",
                                 town="laisu")["id"]
    case = service.applied("post_laisu", "case.submit", enterprise_id=enterprise,
                           service_type="quality_management", description="砖", channel="town_post",
                           station="post_laisu")["id"]
    service.applied("samr", "case.accept", case_id=case, lead="jxw")
    service.applied("jxw", "case.resolve", case_id=case, outcome="x", invested_yuan="0",
                    saved_per_year_yuan="0", expected_benefit_yuan="0")
    rating = service.applied("post_laisu", "case.evaluate", case_id=case, stage="resolved",
                             level="dissatisfied")["id"]
    service.applied("jxw", "evaluation.follow_up", evaluation_id=rating, contact="电话",
                    finding="属实")
    service.applied("jxw", "evaluation.report_rectification", evaluation_id=rating,
                    rectification="整改", told="电话")

    told = ["rated", "followed_up", "rectification_reported"]
    assert feed_types(service, "post_laisu", 3) == told  # it tells the enterprise
    assert feed_types(service, "jxw", 6) == ["submitted", "accepted", "resolved", *told]
    assert feed_size(service, "zjw") == 0
