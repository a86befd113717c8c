"""Commands over NATS request/reply, against the running bus application on a real server."""

from __future__ import annotations

import json
from uuid import uuid4

from bus.contract import subjects
from tests.domain.support import credit_code


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
    assert service.request("portal", "enterprise.register", command) == {**first, "replayed": True}
    assert service.log_length() == 1


def test_the_health_responder_still_answers(service):
    reply = service.runner.run(service.client_for("jxw").request(subjects.HEALTH, b"", timeout=5))
    assert json.loads(reply.data)["status"] == "ok"
