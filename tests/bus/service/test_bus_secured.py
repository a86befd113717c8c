"""The whole service on a permission-enforcing server, as `onestop up` runs it by default."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from bus.contract import subjects
from bus.contract.identity import feed_stream, inbox_prefix
from tests.bus_support import Service
from tests.domain.support import credit_code


@pytest.fixture(scope="module")
def running(district):
    """The service on the district's event stream `ONESTOP`, whose writing only it may do."""
    service = Service(district, "ONESTOP")
    yield district
    service.close()


async def as_principal(district, principal: str, action):
    refusals: list[str] = []

    async def on_error(error):
        refusals.append(str(error))

    connection = await nats.connect(district.url(principal),
                                    inbox_prefix=inbox_prefix(principal), error_cb=on_error,
                                    allow_reconnect=False)
    try:
        return await action(connection), refusals
    finally:
        await connection.close()


def registration() -> bytes:
    return orjson.dumps({"command_id": uuid4().hex, "person": "厂长", "credit_code": credit_code(),
                         "name": "永川页岩砖厂", "scale": "small_micro",
                         "industry": "building_bricks", "town": "laisu"})


def test_a_principal_sends_commands_under_its_own_prefix_and_gets_replies(running):
    async def send(connection):
        reply = await connection.request(subjects.command("portal", "enterprise.register"),
                                         registration(), timeout=10)
        return orjson.loads(reply.data)

    reply, refusals = asyncio.run(as_principal(running, "portal", send))
    assert reply["ok"] and refusals == []


def test_acting_as_another_principal_is_refused_by_the_server(running):
    async def impersonate(connection):
        try:
            await connection.request(subjects.command("samr", "enterprise.register"),
                                     registration(), timeout=2)
        except Exception as error:  # no reply can come: the publish never got through
            return type(error).__name__
        return "answered"

    outcome, refusals = asyncio.run(as_principal(running, "portal", impersonate))
    assert outcome != "answered"
    assert any("permissions violation" in refusal.lower() for refusal in refusals)


def test_a_department_reads_its_own_feed_but_not_the_event_log(running):
    async def read(connection):
        js = connection.jetstream(timeout=2)
        own = await js.stream_info(feed_stream("jxw"))
        try:
            await js.get_msg("ONESTOP", 1, direct=True)
        except Exception as error:
            return own.config.name, type(error).__name__
        return own.config.name, "read the log"

    (own, log), _ = asyncio.run(as_principal(running, "jxw", read))
    assert own == feed_stream("jxw") and log != "read the log"


def test_a_station_reads_the_outcomes_of_its_intake_on_its_own_feed(running):
    async def read(connection):
        info = await connection.jetstream(timeout=2).stream_info(feed_stream("post_laisu"))
        return info.config.name

    name, refusals = asyncio.run(as_principal(running, "post_laisu", read))
    assert name == feed_stream("post_laisu") and refusals == []


def test_every_principal_may_ask_whether_the_service_is_up(running):
    async def ask(connection):
        reply = await connection.request(subjects.HEALTH, b"", timeout=5)
        return orjson.loads(reply.data)["status"]

    assert asyncio.run(as_principal(running, "portal", ask))[0] == "ok"
