"""The whole service on a permission-enforcing server, as `onestop up` runs it by default."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port
from bus import subjects
from bus.identity import feed_stream, inbox_prefix
from bus.security import SERVICE, credential_store, secured
from domain.reference import load_reference
from tests.bus_support import Service
from tests.domain.support import credit_code


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("district")
    config = secured(EmbeddedServerConfig(data_dir=data_dir, port=free_port(),
                                          server_name="district"),
                     load_reference(None), "ONESTOP")
    credentials = credential_store(data_dir)
    with EmbeddedNatsServer(config) as server:
        service = Service(credentials.url_for(SERVICE, server.url), "ONESTOP")
        yield server, credentials
        service.close()


async def as_principal(district, principal: str, action):
    server, credentials = district
    refusals: list[str] = []

    async def on_error(error):
        refusals.append(str(error))

    connection = await nats.connect(credentials.url_for(principal, server.url),
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


def test_a_principal_sends_commands_under_its_own_prefix_and_gets_replies(district):
    async def send(connection):
        reply = await connection.request(subjects.command("portal", "enterprise.register"),
                                         registration(), timeout=10)
        return orjson.loads(reply.data)

    reply, refusals = asyncio.run(as_principal(district, "portal", send))
    assert reply["ok"] and refusals == []


def test_acting_as_another_principal_is_refused_by_the_server(district):
    async def impersonate(connection):
        try:
            await connection.request(subjects.command("samr", "enterprise.register"),
                                     registration(), timeout=2)
        except Exception as error:  # no reply can come: the publish never got through
            return type(error).__name__
        return "answered"

    outcome, refusals = asyncio.run(as_principal(district, "portal", impersonate))
    assert outcome != "answered"
    assert any("permissions violation" in refusal.lower() for refusal in refusals)


def test_a_department_reads_its_own_feed_but_not_the_event_log(district):
    async def read(connection):
        js = connection.jetstream(timeout=2)
        own = await js.stream_info(feed_stream("jxw"))
        try:
            await js.get_msg("ONESTOP", 1, direct=True)
        except Exception as error:
            return own.config.name, type(error).__name__
        return own.config.name, "read the log"

    (own, log), _ = asyncio.run(as_principal(district, "jxw", read))
    assert own == feed_stream("jxw") and log != "read the log"


def test_a_station_reads_the_outcomes_of_its_intake_on_its_own_feed(district):
    async def read(connection):
        info = await connection.jetstream(timeout=2).stream_info(feed_stream("post_laisu"))
        return info.config.name

    name, refusals = asyncio.run(as_principal(district, "post_laisu", read))
    assert name == feed_stream("post_laisu") and refusals == []


def test_every_principal_may_ask_whether_the_service_is_up(district):
    async def ask(connection):
        reply = await connection.request(subjects.HEALTH, b"", timeout=5)
        return orjson.loads(reply.data)["status"]

    assert asyncio.run(as_principal(district, "portal", ask))[0] == "ok"
