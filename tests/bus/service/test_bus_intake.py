"""The durable intake, on a server of its own (its subjects are fixed, like in production)."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from bus.cli.deadletters import list_dead_letters, redrive
from bus.contract import subjects
from bus.contract.identity import feed_stream
from bus.service import durable_intake as intake
from bus.service.security import OPERATOR
from tests.bus_support import Service, service_on_its_own_server
from tests.domain.support import credit_code

STATION = "post_laisu"


@pytest.fixture
def service(tmp_path):
    with service_on_its_own_server(tmp_path) as running:
        yield running


def registration(**overrides) -> dict:
    return {"command_id": uuid4().hex, "person": "窗口 小刘", "credit_code": credit_code(),
            "name": "永川页岩砖厂", "scale": "small_micro", "industry": "building_bricks",
            "town": "laisu", **overrides}


def drop(service: Service, name: str, body: dict | bytes, principal: str = STATION) -> None:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    js = service.client_for(principal).jetstream()
    service.runner.run(js.publish(subjects.intake(principal, name), data))


def read_stream(service: Service, stream: str, subject: str, count: int,
                reader: str = OPERATOR) -> list:
    """The first `count` messages of a stream, read as `reader` with a pull consumer of its own
    (as a department's system reads its feed: push consumers do not cross into a principal's
    account), waiting for them up to a deadline."""
    client = service.client_for(reader)  # connects on the service's loop: not from inside it

    async def read():
        subscription = await client.jetstream().pull_subscribe(subject, stream=stream)
        messages: list = []
        deadline = asyncio.get_running_loop().time() + 15
        try:
            while len(messages) < count and asyncio.get_running_loop().time() < deadline:
                try:
                    messages += await subscription.fetch(count - len(messages), timeout=1)
                except nats.errors.TimeoutError:
                    continue
            assert len(messages) >= count, f"{len(messages)} of {count} messages on {subject}"
            return messages[:count]
        finally:
            await subscription.unsubscribe()
    return service.runner.run(read())


def outcomes(service: Service, count: int, principal: str = STATION) -> list[dict]:
    messages = read_stream(service, feed_stream(principal), subjects.feed_outcome(principal),
                           count, reader=principal)
    return [orjson.loads(m.data) for m in messages]


def test_a_command_dropped_in_the_intake_is_processed_and_answered_on_the_feed(service):
    command = registration()
    drop(service, "enterprise.register", command)
    [outcome] = outcomes(service, 1)
    assert outcome["ok"] and outcome["command_id"] == command["command_id"]
    assert service.log_length() == 1


def test_a_poison_message_is_dead_lettered_and_does_not_block_the_next(service):
    drop(service, "enterprise.register", b"{this is not json")
    good = registration()
    drop(service, "enterprise.register", good)

    # Handled side by side: their outcomes come in either order.
    rejected, accepted = sorted(outcomes(service, 2), key=lambda outcome: outcome["ok"])
    assert rejected["error"]["code"] == "command.malformed_json"
    assert accepted["ok"] and accepted["command_id"] == good["command_id"]
    [letter] = read_stream(service, subjects.DEAD_LETTER_STREAM, f"{subjects.DEAD_LETTERS}.>", 1)
    assert letter.data == b"{this is not json"
    assert "not valid JSON" in letter.headers["Onestop-Reason"]
    assert letter.headers["Onestop-Original-Subject"] == subjects.intake(
        STATION, "enterprise.register")


def test_a_command_sent_twice_through_the_intake_is_applied_once(service):
    command = registration()
    drop(service, "enterprise.register", command)
    drop(service, "enterprise.register", command)
    first, second = outcomes(service, 2)
    assert second == {**first, "replayed": True}  # the first outcome, said again
    assert service.log_length() == 1


def test_a_message_that_keeps_failing_through_our_fault_is_retried_then_dead_lettered(
        service, monkeypatch):
    monkeypatch.setattr(intake, "BACKOFF_SECONDS", (0.01,))
    broken = {"calls": 0}

    async def failing(principal, name, body):
        broken["calls"] += 1
        raise intake.Unexpected("the store is on fire")

    monkeypatch.setattr(service.bus.services.dispatcher, "dispatch", failing)
    drop(service, "enterprise.register", registration())

    [outcome] = outcomes(service, 1)
    assert outcome["error"]["code"] == "internal.error"
    assert broken["calls"] == intake.MAX_DELIVER
    [letter] = read_stream(service, subjects.DEAD_LETTER_STREAM, f"{subjects.DEAD_LETTERS}.>", 1)
    assert "on fire" in letter.headers["Onestop-Reason"]
    assert service.log_length() == 0

    # The fault is mended; the operator sends the dead letter again and it goes through.
    monkeypatch.undo()
    [dead] = service.runner.run(list_dead_letters(service.client))
    service.runner.run(redrive(service.client, dead.sequence))
    retried = outcomes(service, 2)[1]
    assert retried["ok"]
    assert service.log_length() == 1
    assert service.runner.run(list_dead_letters(service.client)) == []
