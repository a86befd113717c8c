"""The command path when the server goes away and comes back, on a server of its own."""

from __future__ import annotations

import time
from uuid import uuid4

import nats.errors
import orjson

from adapters.jetstream.log import StreamLog
from bus.contract import subjects

from tests.bus_support import service_on_its_own_server
from tests.domain.support import credit_code
from tests.processes import wait_until


def registration() -> dict:
    return {"command_id": uuid4().hex, "person": "厂长", "credit_code": credit_code(),
            "name": "永川页岩砖厂", "scale": "small_micro", "industry": "building_bricks",
            "town": "laisu"}


def send_until_answered(service, body: dict, seconds: float = 30) -> dict:
    """The same command (same id) again until an answer comes: what a client retrying after
    timeouts does. Each attempt waits for a reply or fails at once (no responders while the
    service reconnects); the attempts go on up to a deadline."""
    answers: list[dict] = []

    def answered() -> bool:
        try:
            reply = service.request("portal", "enterprise.register", body)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError,
                nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
            return False
        if reply["ok"] or reply["error"]["code"] != "internal.error":
            answers.append(reply)
            return True
        return False
    try:
        wait_until(answered, seconds, "the service answers again")
    except AssertionError:
        pass
    else:
        return answers[-1]
    raise AssertionError("the service never answered again")


def test_commands_are_answered_again_after_the_server_restarts_and_none_is_lost(tmp_path):
    with service_on_its_own_server(tmp_path) as service:
        # Given an enterprise registered, so the service holds it in its cache
        before = send_until_answered(service, registration())
        assert before["ok"]

        # When the server restarts
        server = service.district.server
        server.stop()
        server.start()

        # Then a command sent (and retried with its id) is applied exactly once
        body = registration()
        after = send_until_answered(service, body)
        assert after["ok"], after
        assert send_until_answered(service, body) == {**after, "replayed": True}
        assert service.log_length() == 2


def test_a_command_while_the_store_is_away_is_answered_service_unavailable_then_applied_once(
        tmp_path, monkeypatch):
    monkeypatch.setenv("ONESTOP_STORE_TIMEOUT", "1")
    with service_on_its_own_server(tmp_path) as service:
        assert send_until_answered(service, registration())["ok"]

        # The store stops taking writes (JetStream without a leader answers "no responders").
        async def away(*_arguments, **_options):
            raise nats.errors.NoRespondersError
        monkeypatch.setattr(StreamLog, "publish", away)
        monkeypatch.setattr(StreamLog, "publish_batch", away)
        body = registration()
        started = time.monotonic()
        reply = service.request("portal", "enterprise.register", body)
        assert reply["error"]["code"] == "service.unavailable", reply
        assert reply["command_id"] == body["command_id"]
        assert time.monotonic() - started < 5  # within a client's timeout, not after it
        assert service.log_length() == 1

        # Back: the same command is applied, once.
        monkeypatch.undo()
        again = send_until_answered(service, body)
        assert again["ok"], again
        assert send_until_answered(service, body) == {**again, "replayed": True}
        assert service.log_length() == 2


def test_health_and_queries_answer_again_after_an_outage_longer_than_the_reconnect_budget(
        tmp_path, monkeypatch):
    # Attempts 20 ms apart: the 60 that nats-py makes by default are over in about a second.
    monkeypatch.setenv("ONESTOP_RECONNECT_WAIT", "0.02")
    with service_on_its_own_server(tmp_path) as service:
        assert send_until_answered(service, registration())["ok"]
        server = service.district.server
        server.stop()
        connection = service.bus.services.connection
        wait_until(lambda: max(s.reconnects for s in connection.server_pool) > 60, 60,
                   "the service has tried more than 60 times to reconnect")
        server.start()

        def answers() -> bool:
            try:
                reply = service.runner.run(service.client_for("jxw").request(
                    subjects.HEALTH, b"", timeout=2))
                views = service.query("jxw", "views.status", {})
            except Exception:  # noqa: BLE001 - not back yet
                return False
            return orjson.loads(reply.data)["status"] == "ok" and views["ok"]
        wait_until(answers, 60, "health and queries answer again")
