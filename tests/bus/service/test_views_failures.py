"""Failures are loud: an event a view cannot apply stops that view alone, the `views.status`
query and `onestop views status` name it, and `onestop views clear` resumes it from the same
event once the cause is fixed."""

from __future__ import annotations

import os
import subprocess
import sys
from uuid import uuid4

import orjson
import pytest

from adapters.integrity.seal import Seal
from adapters.integrity.seal import key_path as seal_key_path
from adapters.jetstream import cloudevents as ce
from bus.contract import subjects
from bus.service.security import OPERATOR
from projections.cases import CaseView
from projections.worklists import Worklists
from tests.bus_support import Service
from tests.domain.support import credit_code
from tests.processes import wait_until
from tests.views_support import PROBES, run_story, sent, wait_for_views

STOPPED = ("cases", "worklists")  # the views that read an appointment's place and time
GOING_ON = tuple(view for view in PROBES if view not in STOPPED)


@pytest.fixture
def service(district, unique_name, monkeypatch):
    monkeypatch.delenv("VIEWS_DSN", raising=False)
    running = Service(district, unique_name())
    yield running
    running.close()


def onestop(service: Service, *arguments: str) -> subprocess.CompletedProcess:
    """The command line as the operator runs it beside the service."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ONESTOP_") and name != "VIEWS_DSN"}
    env |= {"NATS_URL": service.district.url(OPERATOR), "NATS_STREAM": service.stream}
    return subprocess.run(
        [sys.executable, "-m", "bus.cli", *arguments, "--data-dir",
         str(service.bus.services.data_dir)], env=env, capture_output=True, text=True,
        timeout=60)


def accepted_case(service: Service) -> str:
    enterprise = sent(service.request, "portal", "enterprise.register",
                      credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
                      industry="building_bricks", town="laisu")["id"]
    case = sent(service.request, "portal", "case.submit", enterprise_id=enterprise,
                service_type="quality_management", description="页岩砖强度不足",
                channel="online_platform")["id"]
    sent(service.request, "samr", "case.accept", case_id=case, lead="jxw")
    return case


def publish_poison(service: Service, case_id: str) -> int:
    """An appointment without its time and place, written into the log as only a bug of the
    service's could: the stream takes any body, and the service's seal is on it."""
    headers = {ce.TOPIC: "case.appointment_scheduled", ce.VERSION: "3",
               "ce-subject": case_id, "ce-type": "cn.gov.yongchuan.onestop.broken"}
    body = orjson.dumps({"timestamp": "2026-03-02T09:00:00+08:00", "command_id": uuid4().hex,
                         "actor": {"principal": "jxw", "person": "陈干事"},
                         "correlation_id": None, "causation_id": None})
    subject = f"{service.stream}.events.{case_id}"
    seal = Seal.load(seal_key_path(service.bus.services.data_dir))
    ack = service.runner.run(service.client.jetstream().publish(
        subject, body, headers=seal.stamped(subject, headers, body)))
    return ack.seq


def skip_event_at(monkeypatch, position: int, *classes) -> None:
    """The fix an engineer would release: these projections pass over that one event."""
    for cls in classes:
        original = cls.apply

        def apply(self, event, views, original=original):
            if event.position != position:
                original(self, event, views)

        monkeypatch.setattr(cls, "apply", apply)


def test_any_principal_may_ask_how_the_views_stand(service):
    positions = run_story(service.request)
    wait_for_views(service.query, max(positions))

    for principal in ("post_laisu", "portal", "jxw", "auditor"):
        answer = service.query(principal, "views.status", {})
        assert answer["ok"], (principal, answer)
        report = answer["result"]
        assert report["head"] == answer["position"] >= max(positions)
        assert sorted(view["name"] for view in report["views"]) == sorted(PROBES)
        for view in report["views"]:
            assert view["active"] and view["state"] == "running", view
            assert view["behind"] == 0 and view["position"] == report["head"]
            assert view["version"] == view["code_version"] and not view["needs_rebuild"]
            assert view["failure"] is None
        assert report["failed"] == []


def test_a_poison_event_stops_only_the_views_that_cannot_apply_it_until_cleared(
        service, monkeypatch):
    case_id = accepted_case(service)
    poison = publish_poison(service, case_id)
    # Work goes on after the poison: a new enterprise orders a service.
    later = sent(service.request, "portal", "enterprise.register", credit_code=credit_code(),
                 name="五间陶瓷", scale="small_micro", industry="ceramics", town="wujian")
    order = sent(service.request, "portal", "case.submit", enterprise_id=later["id"],
                 service_type="quality_management", description="釉面开裂",
                 channel="online_platform")

    # The other views go on past the poison.
    wait_for_views(service.query, order["position"], views=GOING_ON)
    # The stopped ones do not: the new case is not in the case view.
    behind = service.query("samr", "case.get", {"case_id": order["id"], "wait_ms": 200,
                                                "min_position": order["position"]})
    assert behind["error"]["code"] == "query.behind"
    # The status query names each stopped view with the event that stopped it (once each
    # has met it: the views are applied one after the other).
    def stopped() -> dict | None:
        report = service.query("post_laisu", "views.status", {})["result"]
        return report if report["failed"] == sorted(STOPPED) else None
    wait_until(stopped, 20, "both views have stopped on the poison")
    report = stopped()
    for view in report["views"]:
        if view["name"] in STOPPED:
            # Nothing of the batch that held the poison was applied.
            assert view["state"] == "failed" and view["position"] < poison, (view, poison)
            assert view["behind"] >= 1
            failure = view["failure"]
            assert (failure["position"], failure["topic"], failure["aggregate"]) == \
                (poison, "case.appointment_scheduled", case_id)
            assert failure["error"].startswith("KeyError")
        else:
            assert view["state"] == "running" and view["failure"] is None, view
    # The health check says the service is degraded, and which views stopped where.
    health = orjson.loads(service.runner.run(service.client_for("jxw").request(
        subjects.HEALTH, b"", timeout=5)).data)
    assert health["status"] == "degraded"
    # (Other tests in this process may have left warnings of their own: only the views'.)
    stopped_views = [w for w in health["warnings"] if w.startswith("the view ")]
    assert sorted(w.split()[2] for w in stopped_views) == sorted(STOPPED)
    assert all(f"stopped at log position {poison}" in w and "onestop views clear" in w
               for w in stopped_views)
    # So does the operator's command, which exits with 1 while a view is stopped.
    status = onestop(service, "views", "status")
    assert status.returncode == 1, status.stderr
    assert f"failed at position {poison} (case.appointment_scheduled of {case_id})" in \
        status.stdout
    assert "2 view(s) stopped: cases, worklists" in status.stdout
    as_json = onestop(service, "views", "status", "--json")
    assert as_json.returncode == 1
    assert orjson.loads(as_json.stdout)["failed"] == sorted(STOPPED)

    # A fix is released, and the operator clears both failures.
    skip_event_at(monkeypatch, poison, CaseView, Worklists)
    for view in STOPPED:
        cleared = onestop(service, "views", "clear", view)
        assert cleared.returncode == 0, cleared.stderr
        assert f"resumes it from position {poison}" in cleared.stdout

    # The service resumes them from the poison on: the new case arrives in both.
    wait_for_views(service.query, order["position"], views=STOPPED)
    case = service.query("samr", "case.get", {"case_id": order["id"],
                                              "min_position": order["position"]})
    assert case["ok"] and case["result"]["case"]["status"] == "submitted"
    report = service.query("samr", "views.status", {})["result"]
    assert report["failed"] == [] and all(v["behind"] == 0 for v in report["views"])
    assert onestop(service, "views", "status").returncode == 0
    health = orjson.loads(service.runner.run(service.client_for("jxw").request(
        subjects.HEALTH, b"", timeout=5)).data)
    assert health["status"] == "ok"
    assert not [w for w in health["warnings"] if w.startswith("the view ")]


def test_clearing_a_view_that_does_not_exist_is_refused_in_one_line(service):
    result = onestop(service, "views", "clear", "nope")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "onestop: no view 'nope'; the views are: cases, worklists, enterprises, experts, "
        "equipment, intake, audit, kpis"]
