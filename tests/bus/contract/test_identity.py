"""Identity comes from NATS credentials, and nats-server itself enforces each principal's lane."""

from __future__ import annotations

import asyncio
import os
import stat

import nats
import pytest
from nats.js.api import StreamConfig

from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port
from bus.contract.identity import CredentialStore, Principal, feed_stream, inbox_prefix, render_accounts
from bus.service.security import adopt_global_account_store

EVENT_STREAM = "ONESTOP"
PRINCIPALS = [
    Principal("service", "service"),
    Principal("operator", "operator"),
    Principal("samr", "lead"),
    Principal("housing", "department"),
    Principal("transport", "department"),
    Principal("auditor", "auditor"),
]


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("secured")
    credentials = CredentialStore(data_dir / "credentials", make_missing=True)
    config = EmbeddedServerConfig(
        data_dir=data_dir, port=free_port(), server_name="secured",
        extra_config=render_accounts(
            PRINCIPALS, credentials.passwords(PRINCIPALS), EVENT_STREAM),
        probe_userinfo=f"operator:{credentials.password('operator')}",
    )
    with EmbeddedNatsServer(config) as server:
        asyncio.run(_prepare_streams(credentials.url_for("service", server.url)))
        yield server, credentials


async def _prepare_streams(service_url: str) -> None:
    connection = await nats.connect(service_url, inbox_prefix=inbox_prefix("service"))
    js = connection.jetstream()
    await js.add_stream(StreamConfig(name=EVENT_STREAM, subjects=[f"{EVENT_STREAM}.>"],
                                     allow_direct=True))
    for department in ("housing", "transport"):
        await js.add_stream(StreamConfig(name=feed_stream(department),
                                         subjects=[f"onestop.feed.{department}.>"]))
        await js.publish(f"onestop.feed.{department}.case", b"{}")
    await js.publish(f"{EVENT_STREAM}.events.case-1", b"{}")
    await connection.close()


class Session:
    """A principal's connection that collects the server's permission refusals."""

    def __init__(self, server, credentials, principal_id):
        self.url = credentials.url_for(principal_id, server.url)
        self.principal_id = principal_id
        self.refusals: list[str] = []

    async def __aenter__(self):
        self.refusal_arrived = asyncio.Event()

        async def on_error(error):
            self.refusals.append(str(error))
            self.refusal_arrived.set()

        self.connection = await nats.connect(
            self.url, inbox_prefix=inbox_prefix(self.principal_id), error_cb=on_error,
            allow_reconnect=False)
        return self

    async def __aexit__(self, *exc):
        await self.connection.close()

    async def refused(self, action) -> bool:
        """True when the server refuses `action`: a permission violation, or an error reply.
        Waits for whichever comes first, so a refused request does not sit out its timeout."""
        self.refusal_arrived.clear()
        attempt = asyncio.ensure_future(action())
        violation = asyncio.ensure_future(self.refusal_arrived.wait())
        await asyncio.wait({attempt, violation}, return_when=asyncio.FIRST_COMPLETED)
        if violation.done():
            attempt.cancel()
            return True
        violation.cancel()
        if attempt.exception() is not None:
            return True
        await self.connection.flush()  # a violation of a plain publish comes after the flush
        return self.refusal_arrived.is_set()


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_department_publishes_under_its_own_prefix_only(secured):
    async def scenario():
        async with Session(*secured, "housing") as housing:
            mine = await housing.refused(
                lambda: housing.connection.publish("onestop.cmd.housing.case.submit", b"{}"))
            theirs = await housing.refused(
                lambda: housing.connection.publish("onestop.cmd.transport.case.submit", b"{}"))
            return mine, theirs

    assert run(scenario()) == (False, True)


def test_nobody_but_the_service_writes_the_event_log(secured):
    async def scenario():
        async with Session(*secured, "samr") as lead:
            return await lead.refused(lambda: lead.connection.jetstream().publish(
                f"{EVENT_STREAM}.events.forged", b"{}", timeout=1))

    assert run(scenario()) is True


def test_a_department_reads_its_own_feed_but_not_another(secured):
    async def scenario():
        async with Session(*secured, "housing") as housing:
            js = housing.connection.jetstream()

            async def read(stream, subject):
                subscription = await js.pull_subscribe(subject, stream=stream, durable=None)
                await subscription.fetch(1, timeout=2)

            own = await housing.refused(lambda: read(feed_stream("housing"), "onestop.feed.housing.>"))
            other = await housing.refused(
                lambda: read(feed_stream("transport"), "onestop.feed.transport.>"))
            log = await housing.refused(lambda: js.get_msg(EVENT_STREAM, 1, direct=True))
            return own, other, log

    assert run(scenario()) == (False, True, True)


def test_the_lead_bureau_and_auditors_read_the_whole_log(secured):
    async def scenario(principal_id):
        async with Session(*secured, principal_id) as reader:
            message = await reader.connection.jetstream().get_msg(EVENT_STREAM, 1, direct=True)
            return message.subject

    assert run(scenario("samr")) == f"{EVENT_STREAM}.events.case-1"
    assert run(scenario("auditor")) == f"{EVENT_STREAM}.events.case-1"


def test_only_the_operator_may_purge_or_delete_streams(secured):
    async def scenario(principal_id):
        async with Session(*secured, principal_id) as session:
            js = session.connection.jetstream()
            return [await session.refused(lambda: js.purge_stream(feed_stream("transport"))),
                    await session.refused(lambda: js.delete_stream(feed_stream("transport")))]

    assert run(scenario("service")) == [True, True]
    assert run(scenario("auditor")) == [True, True]
    assert run(scenario("operator")) == [False, False]


def test_no_one_can_listen_on_another_principals_inbox(secured):
    async def scenario():
        async with Session(*secured, "housing") as housing:
            return await housing.refused(
                lambda: housing.connection.subscribe(f"{inbox_prefix('transport')}.>"))

    assert run(scenario()) is True


def test_credentials_are_private_to_the_operator_and_stable(tmp_path):
    store = CredentialStore(tmp_path / "credentials", make_missing=True)
    first = store.password("housing")
    assert store.password("housing") == first
    mode = stat.S_IMODE(os.stat(store.path("housing")).st_mode)
    assert mode == 0o600
    assert first not in render_accounts([], {}, EVENT_STREAM)


def test_a_store_written_before_accounts_is_moved_into_the_services_account(tmp_path):
    # A data directory of an older onestop: its streams in the server's global account.
    plain = EmbeddedServerConfig(data_dir=tmp_path, port=free_port(), server_name="older")
    with EmbeddedNatsServer(plain) as server:
        async def write():
            connection = await nats.connect(server.url)
            js = connection.jetstream()
            await js.add_stream(StreamConfig(name=EVENT_STREAM, subjects=[f"{EVENT_STREAM}.>"]))
            await js.publish(f"{EVENT_STREAM}.events.case-1", b"{}")
            await connection.close()
        run(write())

    assert adopt_global_account_store(plain.store_dir) is True
    assert adopt_global_account_store(plain.store_dir) is False  # once only

    credentials = CredentialStore(tmp_path / "credentials", make_missing=True)
    secured_config = EmbeddedServerConfig(
        data_dir=tmp_path, port=free_port(), server_name="older",
        extra_config=render_accounts(PRINCIPALS, credentials.passwords(PRINCIPALS),
                                     EVENT_STREAM),
        probe_userinfo=f"operator:{credentials.password('operator')}")
    with EmbeddedNatsServer(secured_config) as server:
        async def read():
            connection = await nats.connect(credentials.url_for("operator", server.url))
            info = await connection.jetstream().stream_info(EVENT_STREAM)
            await connection.close()
            return info.state.messages
        assert run(read()) == 1
