"""The health check tells how each part stands: the store, the views, the feeds, the
checkpoints; a part that is behind and does not move is stuck, and the service degraded."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import nats
import orjson
from nats.js.api import StreamConfig

from adapters.jetstream.log import StreamLog
from bus.contract import subjects
from bus.service import parts
from domain.calendar import CHINA
from tests.bus.service.test_satisfaction import resolved_case
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


def test_a_position_missing_from_the_log_fails_the_checkpoints_at_once_saying_which(
        nats_url, unique_name):
    # The event log denies deletes: a hole in it is a store changed behind the server's back,
    # which no checkpoint can sign past. Here a stream of our own that allows them stands in.
    stream = unique_name("HOLED")

    async def check() -> tuple[list, list]:
        connection = await nats.connect(nats_url)
        try:
            js = connection.jetstream()
            # Read by direct gets, as the event log is.
            await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream}.>"],
                                             allow_direct=True))
            for _ in range(3):
                await js.publish(f"{stream}.events.a", b"{}")
            log = StreamLog(connection, stream, request_timeout=5)
            await log.start()
            look = parts.Parts(connection, log, None, stream, logging.getLogger("test"))
            whole = await look.check()
            await js.delete_msg(stream, 2)
            return whole, await look.check()
        finally:
            await connection.close()

    whole, holed = asyncio.run(check())
    assert [part.status for part in whole if part.name == "checkpoints"] == ["ok"]
    [checkpoints] = [part for part in holed if part.name == "checkpoints"]
    assert checkpoints.status == "failed"
    assert checkpoints.detail.startswith("position 2 is missing from the log (1 missing in all)")


def test_a_stuck_checkpointer_is_reported_with_its_reason(tmp_path, monkeypatch):
    with service_on_its_own_server(tmp_path) as service:
        checkpointer = service.bus.services.checkpointer
        position = register(service)["position"]
        assert service.runner.run(checkpointer.wait_covered(position, timeout=10))

        async def failing(force: bool = False) -> None:
            raise RuntimeError("the disk is full")
        monkeypatch.setattr(checkpointer, "catch_up", failing)
        register(service)
        wait_until(lambda: checkpointer.trouble is not None, 10, "a round has failed")

        monkeypatch.setattr(parts, "STUCK_SECONDS", 0.0)
        monkeypatch.setattr(parts, "INTERVAL_SECONDS", 0.0)
        health(service)  # the first look sees where they are
        report = health(service)
        [checkpoints] = [part for part in report["parts"] if part["name"] == "checkpoints"]
        assert checkpoints["status"] == "stuck" and report["status"] == "degraded"
        assert checkpoints["detail"].endswith(": RuntimeError: the disk is full"), checkpoints


def calendar_only_for(years: list[int], tmp_path: Path) -> Path:
    """The shipped reference data, its calendar listing a holiday in each of `years` only."""
    shipped = (Path(__file__).parents[3] / "domain" / "reference.toml").read_text()
    district = tmp_path / f"calendar-{'-'.join(map(str, years))}.toml"
    holidays = ", ".join(f"{year}-10-01" for year in years)
    district.write_text(shipped[:shipped.index("holidays = [")] + f"holidays = [{holidays}]\n")
    return district


def calendar_advice(service: Service) -> list[str]:
    # (Other tests in this process may have forged messages: those warnings are not ours.)
    return [line for line in health(service)["warnings"] if "calendar" in line]


def test_follow_ups_due_in_a_year_the_calendar_does_not_list_are_advice_to_the_operator(
        district, unique_name, tmp_path, monkeypatch, caplog):
    # Whatever year the suite runs in: a calendar that stopped years ago.
    this_year = datetime.now(CHINA).year
    monkeypatch.setenv("ONESTOP_OVERDUE_SECONDS", "0.1")
    monkeypatch.setenv("REFERENCE_DATA", str(calendar_only_for([2022], tmp_path)))
    service = Service(district, unique_name())
    try:
        # Said at start-up, in a year it does not list.
        assert f"lists no public holidays for {this_year}" in caplog.text
        assert calendar_advice(service) == []  # nothing is due yet
        case = resolved_case(service, "post_laisu", "jxw")
        service.applied("post_laisu", "case.evaluate", case_id=case, stage="resolved",
                        level="dissatisfied")
        wait_until(lambda: calendar_advice(service), 10, "the health check advises on it")
        [line] = calendar_advice(service)
        due_year = int(line.split(" are due in ")[1][:4])
        assert due_year in (this_year, this_year + 1)  # five working days on
        assert line.startswith("1 open follow-up(s) of bad ratings are due in")
        assert f"State Council's {due_year} schedule" in line and "REFERENCE_DATA" in line
        # Advice, no fault: the parts are whole and the status says so.
        assert health(service)["status"] == "ok"
    finally:
        service.close()

    caplog.clear()
    monkeypatch.setenv("REFERENCE_DATA", str(calendar_only_for([this_year, this_year + 1],
                                                                tmp_path)))
    service = Service(district, unique_name())
    try:
        assert "lists no public holidays" not in caplog.text
        case = resolved_case(service, "post_laisu", "jxw")
        service.applied("post_laisu", "case.evaluate", case_id=case, stage="resolved",
                        level="dissatisfied")
        watch = service.bus.services.overdue
        wait_until(lambda: watch.follow_ups_due, 10, "the watch has seen the follow-up")
        assert calendar_advice(service) == []
    finally:
        service.close()
