"""The health responder, through FastStream's own test client: its reply is the contract's
`HealthReport`, degraded when a part is in trouble or a warning stands, and nothing is sent
to a reply subject that is not the requester's. (How each part is judged is tested on a real
server, test_health.py.)"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from faststream.nats.annotations import NatsMessage

from bus.contract import subjects
from bus.contract.messages import HealthReport, Part
from bus.service import health
from bus.service.health import system_router


@pytest.fixture(autouse=True)
def nothing_passed_over_before(monkeypatch):
    # What other tests' services passed over is counted process-wide (adapters/integrity/
    # seal.py); here, none of it.
    monkeypatch.setattr(health.PASSED_OVER, "warnings", lambda: [])


def check_with(parts: list[Part], warnings: list[str]):
    async def check() -> tuple[list[Part], list[str]]:
        return parts, warnings
    return check


def ask(check, reply_to: str | None = None) -> tuple[dict | None, list]:
    async def request():
        broker = NatsBroker()
        broker.include_router(system_router("9.9", check))
        elsewhere: list = []

        @broker.subscriber("elsewhere.>")
        async def sent_elsewhere(message: NatsMessage) -> None:
            elsewhere.append(message.body)

        async with TestNatsBroker(broker) as client:
            if reply_to is not None:
                await client.publish(b"", subjects.HEALTH, reply_to=reply_to)
                return None, elsewhere
            reply = await client.request(b"", subjects.HEALTH)
            return orjson.loads(reply.body), elsewhere
    return asyncio.run(request())


def test_a_service_whose_parts_are_well_is_ok():
    report, _ = ask(check_with([Part(name="views", behind=0)], []))

    assert HealthReport.model_validate(report) == HealthReport(
        status="ok", version="9.9", parts=[Part(name="views", behind=0)])


def test_a_part_in_trouble_or_a_warning_makes_it_degraded():
    stuck, _ = ask(check_with([Part(name="feeds", status="stuck", behind=4)], []))
    warned, _ = ask(check_with([], ["streams at 1 copy of 3: run `onestop scale`"]))

    assert stuck["status"] == "degraded" and stuck["parts"][0]["status"] == "stuck"
    assert warned["status"] == "degraded"
    assert warned["warnings"][0] == "streams at 1 copy of 3: run `onestop scale`"


def test_nothing_is_sent_to_a_reply_subject_that_is_not_the_requesters():
    report, elsewhere = ask(check_with([], []), reply_to="elsewhere.jxw")

    assert report is None and elsewhere == []
