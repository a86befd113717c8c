"""The bus application in a test: started and stopped like `onestop up` does it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import faulthandler
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import nats
import nats.aio.client
import orjson

from adapters.nats_address import connect_options
from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port
from bus.contract import subjects
from bus.contract.identity import CredentialStore, inbox_prefix
from bus.contract.operations import OPERATIONS
from bus.contract.queries import QUERIES
from bus.service.app import build_bus
from bus.service.security import OPERATOR, SERVICE, credential_store, secured
from domain.reference import load_reference
from tests.contract_support import contract
from tests.domain.support import credit_code

CST = timezone(timedelta(hours=8))


def when(days: float = 0) -> str:
    """A time `days` from now (before now if negative), Chongqing time, on the hour: the
    service holds every time a command gives near the moment it is sent."""
    now = datetime.now(CST).replace(minute=0, second=0, microsecond=0)
    return (now + timedelta(days=days)).isoformat()


def day(days: int = 0) -> str:
    """The date `days` from today."""
    return (datetime.now(CST) + timedelta(days=days)).date().isoformat()


class LoopThread:
    """An event loop running on its own thread, as a real service's loop runs all the time:
    its subscribers answer while the test waits elsewhere."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine):
        if threading.current_thread() is self.thread:
            coroutine.close()
            raise RuntimeError("LoopThread.run called from its own loop: it would wait forever")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout=60)
        except concurrent.futures.TimeoutError:
            self.dump()  # where it hangs: once seen, a rare hang can be found
            raise

    def dump(self) -> None:
        print("--- stuck: every thread, then every task of the loop ---", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        for task in list(asyncio.all_tasks(self.loop)):
            task.print_stack(file=sys.stderr)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class District:
    """A permission-enforcing server, as `onestop up` runs it, and every principal's password."""

    server: EmbeddedNatsServer
    credentials: CredentialStore

    def url(self, principal: str) -> str:
        return self.credentials.url_for(principal, self.server.url)


@contextmanager
def district_server(data_dir: Path, name: str = "district") -> Iterator[District]:
    config = secured(EmbeddedServerConfig(data_dir=data_dir, port=free_port(), server_name=name),
                     load_reference(None), "ONESTOP")
    with EmbeddedNatsServer(config) as server:
        yield District(server, credential_store(data_dir))


class Service:
    """The bus application on its own stream, connected as the `service` principal and started
    and stopped like `onestop up` does; principals talk to it with their own credentials."""

    def __init__(self, district: District, stream: str,
                 separate_followers: bool = False, data_dir: Path | None = None,
                 views_dsn: str | None = None, screen_port: int | None = None) -> None:
        self.district, self.stream = district, stream
        self.screen_port = screen_port  # the results screen, on this port (0: a free one)
        self.separate_followers = separate_followers  # as `onestop up` runs them
        self.data_dir = data_dir or district.server.config.data_dir / f"views-{stream}"
        self.views_dsn = views_dsn
        self.runner = LoopThread()
        self._clients: dict[str, nats.aio.client.Client] = {}
        self.client = self.client_for(OPERATOR)
        self.bus = None
        self.start()

    def client_for(self, principal: str) -> nats.aio.client.Client:
        if principal not in self._clients:
            # As a department's system connects: every server, the password apart, so that
            # it holds on when one server of a cluster is lost.
            self._clients[principal] = self.runner.run(nats.connect(
                **connect_options(self.district.url(principal)),
                inbox_prefix=inbox_prefix(principal)))
        return self._clients[principal]

    def start(self) -> None:
        self.bus = build_bus(self.district.url(SERVICE), stream=self.stream,
                             data_dir=self.data_dir, views_dsn=self.views_dsn,
                             separate_followers=self.separate_followers,
                             screen_port=self.screen_port)
        # Signing in to the results screen: with the district's passwords.
        self.bus.services.credentials = self.district.credentials
        self.runner.run(self.bus.app.start())

    def stop(self) -> None:
        self.runner.run(self.bus.app.stop())

    def request(self, principal: str, name: str, body: dict | bytes) -> dict:
        """The reply to a command; whatever the test, it must be one the contract names."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        client = self.client_for(principal)
        reply = orjson.loads(self.runner.run(client.request(subjects.command(principal, name),
                                                            data, timeout=10)).data)
        if name in OPERATIONS:
            contract().check_reply(f"send.cmd.{name}", reply)
        return reply

    def command(self, principal: str, name: str, person: str = "经办人", /, **fields) -> dict:
        """A command with a fresh id, sent by `person` of `principal`: its reply, whatever it is."""
        return self.request(principal, name, {"command_id": uuid4().hex, "person": person,
                                              **fields})

    def applied(self, principal: str, name: str, person: str = "经办人", /, **fields) -> dict:
        """`command`, which must be applied: its reply."""
        reply = self.command(principal, name, person, **fields)
        assert reply["ok"], (name, reply)
        return reply

    def accepted_case(self, lead: str = "jxw", collaborators: tuple[str, ...] = ("zjw",)
                      ) -> tuple[str, dict]:
        """A new enterprise's case, accepted by the bureau for `lead` with `collaborators`:
        its id, and the acceptance's reply."""
        enterprise = self.applied("portal", "enterprise.register", credit_code=credit_code(),
                                  name="永川页岩砖厂", scale="small_micro",
                                  industry="building_bricks", town="laisu")["id"]
        case = self.applied("portal", "case.submit", enterprise_id=enterprise,
                            service_type="quality_management", description="Bricks crumble",
                            channel="online_platform")["id"]
        return case, self.applied("samr", "case.accept", case_id=case, lead=lead,
                                  collaborators=list(collaborators))

    def query(self, principal: str, name: str, body: dict | None = None) -> dict:
        """The answer to a query; whatever the test, it must be one the contract names."""
        client = self.client_for(principal)
        answer = orjson.loads(self.runner.run(client.request(
            subjects.query(principal, name), orjson.dumps(body or {}), timeout=10)).data)
        if name in QUERIES:
            contract().check_reply(f"send.query.{name}", answer)
        return answer

    def log_length(self) -> int:
        return self.bus.services.dispatcher.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        try:
            self.stop()
        finally:  # a stop that failed (a server lost, say) still leaves no client behind
            for client in self._clients.values():
                self.runner.run(client.close())
            self.runner.close()


@contextmanager
def service_on_its_own_server(data_dir: Path) -> Iterator[Service]:
    """For tests of the bus's fixed subjects (intake, feeds), which another test's service on a
    shared server would also consume."""
    with district_server(data_dir, "bus") as district:
        running = Service(district, "ONESTOP")
        try:
            yield running
        finally:
            running.close()
