"""The health check tells how each part stands: the store, the views, the feeds, the
checkpoints; a part that is behind and does not move is stuck, and the service degraded."""

from __future__ import annotations

from uuid import uuid4

import orjson

from bus import parts, subjects
from tests.bus_support import Service, service_on_its_own_server
from tests.domain.support import credit_code
from tests.processes import wait_until


def health(service: Service) -> dict:
    reply = service.runner.run(service.client_for("jxw").request(subjects.HEALTH, b"",
                                                                 timeout=10))
    return orjson.loads(reply.data)


def register(service: Service) -> dict:
    return service.request("portal", "enterprise.register", {
        "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(), "name": "厂",
        "scale": "small_micro", "industry": "building_bricks", "town": "laisu"})


def test_each_part_is_reported_and_one_that_stops_moving_is_stuck(tmp_path, monkeypatch):
    with service_on_its_own_server(tmp_path) as service:
        position = register(service)["position"]

        def caught_up() -> bool:
            report = health(service)
            return report["status"] == "ok" and all(
                part["behind"] in (None, 0) for part in report["parts"]
                if part["name"] in ("views", "feeds"))
        wait_until(caught_up, 30, "every part has taken in the log")
        assert [part["name"] for part in health(service)["parts"]] == [
            "store", "views", "feeds", "checkpoints"]

        # The views stop following (as a hung process would), and the log goes on.
        monkeypatch.setattr(parts, "STUCK_SECONDS", 0.0)
        service.runner.run(service.bus.services.followers.views_follower.stop())
        assert register(service)["position"] > position
        health(service)  # the first look sees where they are
        report = health(service)
        [views] = [part for part in report["parts"] if part["name"] == "views"]
        assert views["status"] == "stuck" and views["behind"] >= 1, views
        assert report["status"] == "degraded"
