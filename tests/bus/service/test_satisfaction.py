"""好差评 on the bus: stage ratings from the window that took a case, a bad one followed up and
rectified, another appealed and overturned; the KPI view's satisfaction and rectification
rates by department and window, and the month's ranking."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest

from tests.bus_support import Service
from tests.domain.support import credit_code


def resolved_case(service: Service, station: str, lead: str) -> str:
    enterprise = service.applied(station, "enterprise.register", credit_code=credit_code(),
                                 name="永川页岩砖厂", scale="small_micro", industry="building_bricks",
                                 town="laisu")["id"]
    case = service.applied(station, "case.submit", enterprise_id=enterprise,
                           service_type="quality_management", description="砖块粉化",
                           channel="town_post" if station.startswith("post_") else "offline_window",
                           station=station)["id"]
    service.applied("samr", "case.accept", case_id=case, lead=lead)
    service.applied(lead, "case.resolve", case_id=case, outcome="配方调整", invested_yuan="0",
                    saved_per_year_yuan="0", expected_benefit_yuan="0")
    return case


@pytest.fixture
def rated(service):
    """Three ratings: jxw's case well accepted but badly resolved, then rectified; zjw's
    badly resolved, appealed and overturned."""
    laisu = resolved_case(service, "post_laisu", "jxw")
    window = resolved_case(service, "asc_window", "zjw")
    service.applied("post_laisu", "case.evaluate", case_id=laisu, stage="accepted",
                    level="very_satisfied")
    bad = service.applied("post_laisu", "case.evaluate", case_id=laisu, stage="resolved",
                          level="dissatisfied", comment="冬季仍掉粉")["id"]
    service.applied("jxw", "evaluation.follow_up", evaluation_id=bad, contact="电话回访厂长",
                    finding="冬季烧成温度不足")
    service.applied("jxw", "evaluation.report_rectification", evaluation_id=bad,
                    rectification="增加冬季烧成曲线", told="电话告知厂长")
    unfounded = service.applied("asc_window", "case.evaluate", case_id=window, stage="resolved",
                                level="very_dissatisfied")["id"]
    service.applied("zjw", "evaluation.follow_up", evaluation_id=unfounded, contact="上门",
                    finding="企业误解检测结论")
    service.applied("zjw", "evaluation.appeal", evaluation_id=unfounded, reason="差评不实")
    return service.applied("samr", "evaluation.review", evaluation_id=unfounded, upheld=False,
                           note="复核不属实")["position"]


def ask(service: Service, position: int, name: str, **params) -> dict:
    answer = service.query("samr", name, {"min_position": position, **params})
    assert answer["ok"], answer
    return answer["result"]


def test_the_rates_by_department_and_by_window(service, rated):
    by_department = ask(service, rated, "kpi.summary", by="department")["groups"]
    by_window = ask(service, rated, "kpi.summary", by="station")["groups"]

    assert by_department["samr"]["satisfaction_rate"] == 1.0, by_department["samr"]
    assert by_department["jxw"]["satisfaction_rate"] == 0.0
    assert by_department["jxw"]["rectification_rate"] == 1.0, by_department["jxw"]
    assert by_department["jxw"]["ratings_rectified_on_time"] == 1
    assert by_department["zjw"]["ratings_overturned"] == 1
    assert "satisfaction_rate" not in by_department["zjw"]  # its one rating no longer counts
    assert by_window["post_laisu"]["satisfaction_rate"] == 0.5
    assert by_window["post_laisu"]["ratings_very_satisfied"] == 1


def test_the_months_ranking_of_departments_and_windows(service, rated):
    month = datetime.now().strftime("%Y-%m")

    departments = ask(service, rated, "satisfaction.ranking", month=month)["items"]
    windows = ask(service, rated, "satisfaction.ranking", month=month, of="station")["items"]

    assert [(item["rank"], item["value"]) for item in departments] == [(1, "samr"), (2, "jxw")]
    assert [(item["rank"], item["value"], item["satisfaction_rate"]) for item in windows] == [
        (1, "post_laisu", 0.5)]
    assert ask(service, rated, "satisfaction.ranking", month="2021-01")["items"] == []


def test_only_the_taker_rates_and_only_the_department_at_fault_follows_up(service):
    case = resolved_case(service, "post_laisu", "jxw")
    not_taker = service.request("portal", "case.evaluate", {
        "command_id": uuid4().hex, "person": "p", "case_id": case, "stage": "resolved",
        "level": "satisfied"})
    bad = service.applied("post_laisu", "case.evaluate", case_id=case, stage="resolved",
                          level="very_dissatisfied")["id"]
    not_at_fault = service.request("zjw", "evaluation.follow_up", {
        "command_id": uuid4().hex, "person": "p", "evaluation_id": bad, "contact": "电话",
        "finding": "属实"})

    assert not_taker["error"]["code"] == "case.not_yours"
    assert not_at_fault["error"]["code"] == "evaluation.not_yours"
