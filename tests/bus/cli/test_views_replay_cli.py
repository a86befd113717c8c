"""`onestop replay` as an operator runs it beside a running service: a real process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from adapters.natsserver import free_port
from bus.service.security import OPERATOR
from tests.bus_support import Service
from tests.views_support import documents, open_views, run_stories, wait_for_views


@pytest.fixture
def service(district, unique_name, monkeypatch):
    monkeypatch.delenv("VIEWS_DSN", raising=False)
    running = Service(district, unique_name())
    yield running
    running.close()


def replay(service: Service, *arguments: str, url: str | None = None):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ONESTOP_") and name != "VIEWS_DSN"}
    env |= {"NATS_URL": url or service.district.url(OPERATOR), "NATS_STREAM": service.stream}
    return subprocess.run(
        [sys.executable, "-m", "bus.cli", "replay", *arguments, "--data-dir",
         str(service.bus.services.data_dir)], env=env, capture_output=True, text=True,
        timeout=120)


def generations(service: Service) -> dict[str, int]:
    with open_views(service.bus.services.data_dir) as store:
        return {s.name: s.generation for s in store.status() if s.active}


def test_replay_rebuilds_every_view_while_the_service_answers(service):
    positions = run_stories(service.request, 3)
    wait_for_views(service.query, max(positions))
    with open_views(service.bus.services.data_dir) as store:
        before = documents(store)

    result = replay(service)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    # Not a terminal: plain progress lines, then the summary.
    assert "%" in lines[0] and "events/s" in lines[0] and "left" in lines[0]
    assert lines[-1].startswith(f"replayed {max(positions):,} events in ")
    assert "now answering: cases (generation 2)" in lines[-1]
    assert "Traceback" not in result.stderr
    assert set(generations(service).values()) == {2}
    with open_views(service.bus.services.data_dir) as store:
        assert documents(store) == before
    # The service answers from the new tables, and keeps them up to date.
    positions = run_stories(service.request, 1)
    wait_for_views(service.query, max(positions))


def test_replay_of_named_views_leaves_the_others_alone(service):
    wait_for_views(service.query, max(run_stories(service.request, 1)))

    result = replay(service, "--view", "cases", "--view", "intake")

    assert result.returncode == 0, result.stderr
    assert generations(service) == {"cases": 2, "intake": 2, "worklists": 1,
                                    "enterprises": 1, "experts": 1, "equipment": 1, "audit": 1,
                                    "kpis": 1}


def test_a_view_name_that_does_not_exist_is_refused_in_one_line(service):
    result = replay(service, "--view", "cases", "--view", "casez")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "onestop: no view 'casez'; the views are: cases, worklists, enterprises, experts, "
        "equipment, intake, audit, kpis"]
    assert set(generations(service).values()) == {1}


def test_a_server_that_cannot_be_reached_is_refused_in_one_line(service):
    url = f"nats://127.0.0.1:{free_port()}"

    result = replay(service, url=url)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"onestop: cannot connect to NATS at {url} (")
