"""A fuzzer of its own, bounded in count and time, over every command and query subject of the
published contract on the real bus.

Each command is sent first as a principal allowed to send it, with a valid payload, then with
mutations of it: wrong types, nulls, edge dates and numbers, odd unicode, missing and unknown
fields, empty, broken and oversized bodies, and request headers that mean something to a NATS
client (`Status: 503`). Every request gets a structured reply within the timeout, one the
published contract names for it (a refusal with a code its contract lists); a refusal writes
nothing; a reply never carries a request's headers; and at the end every view is still
running and the health check is ok.
"""

from __future__ import annotations

import json
import random
from typing import Any
from uuid import uuid4

import orjson
import pytest

from bus.contract import subjects
from bus.contract.messages import MAX_COMMAND_BYTES
from bus.contract.operations import OPERATIONS
from bus.contract.queries import QUERIES
from tests.bus.service.test_authority import PROBES, District
from tests.bus_support import Service, service_on_its_own_server
from tests.contract_support import contract

SEED = 20261205
MUTATIONS_PER_SUBJECT = 14
TIMEOUT = 10.0
EDGE_VALUES: list[Any] = [
    None, True, 0, -1, 2**63, 10**30, -10**30, 1.5e308, "", " ", "\u0000", "\u202e\u0635",
    "😀" * 3, "x" * 5000, [], [None], {}, {"$gt": ""}, "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+14:00", "2026-02-30T09:00:00+08:00", 253402300799,
    "00000000-0000-0000-0000-000000000000", "NaN", "1e400", "-0.001", "../../etc/passwd",
]
HEADERS: list[dict[str, str] | None] = [
    None, {"Status": "503"}, {"Status": "100", "Description": "Idle Heartbeat"},
    {"Status": "404"}, {"Nats-Msg-Id": "x"}, {"Nats-Expected-Stream": "ONESTOP"},
]
BODIES = [b"", b"null", b"[]", b"{", b'"text"', b"\xff\xfe", b"{" + b" " * MAX_COMMAND_BYTES + b"}"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_on_its_own_server(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def district(service):
    return District(service)


def mutations(valid: dict[str, Any], rng: random.Random) -> list[bytes]:
    """Bodies near a valid one: a field changed, dropped or added, or no JSON object at all."""
    found: list[bytes] = []
    fields = [name for name in valid if name not in ("command_id", "person")]
    for _ in range(MUTATIONS_PER_SUBJECT):
        body = dict(valid, command_id=uuid4().hex)
        roll = rng.random()
        if fields and roll < 0.7:
            body[rng.choice(fields)] = rng.choice(EDGE_VALUES)
        elif fields and roll < 0.8:
            del body[rng.choice(fields)]
        elif roll < 0.9:
            body[rng.choice(["extra", "__proto__", "ok", "Status"])] = rng.choice(EDGE_VALUES)
        else:
            found.append(rng.choice(BODIES))
            continue
        # The standard library's encoder: it writes integers of any size, as a sender may.
        found.append(json.dumps(body, ensure_ascii=rng.random() < 0.5).encode())
    return found


def request(service: Service, principal: str, subject: str, body: bytes,
            headers: dict[str, str] | None) -> tuple[dict, dict | None]:
    client = service.client_for(principal)
    reply = service.runner.run(client.request(subject, body, timeout=TIMEOUT, headers=headers))
    return orjson.loads(reply.data), reply.headers


def test_every_command_answers_every_mutation_with_a_structured_reply(service, district):
    rng = random.Random(SEED)
    for name in OPERATIONS:
        probe = PROBES[name]
        principal = sorted(probe.allowed)[0]
        valid = {"command_id": uuid4().hex, "person": "模糊测试", **probe.fields(district)}
        for body in mutations(orjson.loads(orjson.dumps(valid)), rng):
            headers = rng.choice(HEADERS)
            before = service.log_length()
            answer, reply_headers = request(service, principal,
                                            subjects.command(principal, name), body, headers)
            assert isinstance(answer.get("ok"), bool), (name, body[:200], answer)
            contract().check_reply(f"send.cmd.{name}", answer)
            assert "Status" not in (reply_headers or {}), (name, headers, reply_headers)
            if not answer["ok"]:
                assert answer["error"]["code"] != "internal.error", (name, body[:300], answer)
                assert service.log_length() == before, (name, body[:300], "written")


def test_every_query_answers_every_mutation_without_an_internal_error(service, district):
    rng = random.Random(SEED + 1)
    case = district.case()
    ids = {"case_id": case, "enterprise_id": district.enterprise,
           "expert_id": district.expert(), "equipment_id": district.instrument()}
    valid_params = {
        "since": "2026-01-01T00:00:00+08:00", "until": "2026-12-31T00:00:00+08:00",
        "at": "2026-03-09T09:00:00+08:00", "credit_code": "91500118MA5U000000",
        "department": "jxw",
    }
    for name, query in QUERIES.items():
        fields = query.schema.model_fields
        valid = {field: ids.get(field, valid_params.get(field)) for field in fields
                 if field in ids or (field in valid_params and fields[field].is_required())}
        for body in mutations(valid, rng):
            for principal in ("samr", "jxw", "auditor"):
                answer, _ = request(service, principal, subjects.query(principal, name), body,
                                    rng.choice(HEADERS))
                assert isinstance(answer.get("ok"), bool), (name, body[:200], answer)
                contract().check_reply(f"send.query.{name}", answer)
                if not answer["ok"]:
                    assert answer["error"]["code"] != "internal.error", (name, body[:300],
                                                                        answer)


def test_after_the_fuzzing_every_view_runs_and_the_service_is_healthy(service, district):
    status = service.query("samr", "views.status", {})["result"]
    assert all(view["state"] == "running" for view in status["views"]), status
    health, headers = request(service, "jxw", subjects.HEALTH, b"", {"Status": "503"})
    # (Warnings of foreign messages other tests forged in this process may be there.)
    assert health["status"] == "ok" and not any("view" in w for w in health["warnings"])
    assert "Status" not in (headers or {})
