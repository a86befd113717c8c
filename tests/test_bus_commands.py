"""Commands over NATS request/reply, against the running bus application on a real server."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from bus import subjects
from bus.app import build_bus
from tests.domain.support import credit_code


class Service:
    """The bus application on its own stream, started and stopped like `onestop up` does."""

    def __init__(self, nats_url: str, stream: str) -> None:
        self.nats_url, self.stream = nats_url, stream
        self.runner = asyncio.Runner()
        self.client = self.runner.run(nats.connect(nats_url))
        self.bus = None
        self.start()

    def start(self) -> None:
        self.bus = build_bus(self.nats_url, stream=self.stream)
        self.runner.run(self.bus.app.start())

    def stop(self) -> None:
        self.runner.run(self.bus.app.stop())

    def request(self, principal: str, name: str, body: dict | bytes) -> dict:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        reply = self.runner.run(self.client.request(subjects.command(principal, name), data,
                                                    timeout=10))
        return orjson.loads(reply.data)

    def log_length(self) -> int:
        return self.bus.services.dispatcher.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        self.stop()
        self.runner.run(self.client.close())
        self.runner.close()


@pytest.fixture
def service(nats_url, unique_name):
    running = Service(nats_url, unique_name())
    yield running
    running.close()


def registration(**overrides) -> dict:
    return {"command_id": uuid4().hex, "person": "厂长", "credit_code": credit_code(),
            "name": "永川页岩砖厂", "scale": "small_micro", "industry": "building_bricks",
            "town": "laisu", **overrides}


def test_a_command_is_answered_with_ids_and_a_log_position(service):
    reply = service.request("portal", "enterprise.register", registration())
    assert reply["ok"] is True and reply["position"] == 1 and reply["id"]


def test_malformed_json_on_the_wire_gets_a_structured_error(service):
    reply = service.request("portal", "enterprise.register", b"\xff\xfe not json")
    assert reply == {"ok": False, "command_id": None, "error": {
        "code": "command.malformed_json", "message": reply["error"]["message"], "fields": {}}}
    assert service.log_length() == 0


def test_the_principal_comes_from_the_subject_never_from_the_payload(service):
    reply = service.request("portal", "enterprise.register", registration(principal="samr"))
    assert reply["error"]["code"] == "command.invalid"
    assert "principal" in reply["error"]["fields"]


def test_a_retried_command_after_a_service_restart_returns_the_first_outcome(service):
    command = registration()
    first = service.request("portal", "enterprise.register", command)
    service.stop()
    service.start()
    assert service.request("portal", "enterprise.register", command) == first
    assert service.log_length() == 1


def test_the_health_responder_still_answers(service):
    reply = service.runner.run(service.client.request(subjects.HEALTH, b"", timeout=5))
    assert orjson.loads(reply.data)["status"] == "ok"
