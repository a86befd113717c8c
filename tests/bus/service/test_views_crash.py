"""`onestop up` killed outright while its views follow the log: once restarted, every view is
exactly what a rebuild from the log gives, nothing applied twice and nothing lost."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from bus.service.security import OPERATOR, SERVICE
from tests.bus.cli.test_cli import environment, start_onestop
from tests.processes import wait_until
from tests.views_support import (
    Principals,
    documents,
    open_views,
    rebuild_all,
    run_story,
    run_stories,
    wait_for_views,
)

WRITERS = 3
COMMANDS_BEFORE_THE_KILL = 40


@pytest.fixture
def principals(district):
    # Short request timeouts: a request the kill cuts off fails soon.
    talking = Principals(district, timeout=5)
    yield talking
    talking.close()


@pytest.fixture
def started(tmp_path):
    processes = []

    def start(env):
        onestop = start_onestop(tmp_path, env=env)
        processes.append(onestop)
        onestop.wait_for_line("onestop is up")
        return onestop

    yield start
    for onestop in processes:  # a failed test must not leave a service behind
        if onestop.process.poll() is None:
            os.killpg(onestop.process.pid, signal.SIGKILL)
            onestop.process.wait()


class Writers:
    """Department systems working stories through the bus until told to stop."""

    def __init__(self, principals: Principals) -> None:
        self.principals, self.replies = principals, 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, daemon=True)
                        for _ in range(WRITERS)]
        for thread in self.threads:
            thread.start()

    def _send(self, principal: str, name: str, body: dict) -> dict:
        if self.stopping.is_set():
            raise InterruptedError("stopped")
        reply = self.principals.request(principal, name, body)
        self.replies += 1
        return reply

    def _work(self) -> None:
        try:
            while True:
                run_story(self._send)
        except Exception:  # stopped, or cut off by the kill
            return

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_a_service_killed_while_following_restarts_with_every_view_exactly_right(
        tmp_path, district, unique_name, principals, started):
    stream = unique_name()
    env = {name: value for name, value in environment(
        NATS_URL=district.url(SERVICE), NATS_STREAM=stream).items() if name != "VIEWS_DSN"}
    onestop = started(env)
    wait_for_views(principals.query, max(run_stories(principals.request, 2)))

    # Commands flow from several systems; the service is killed in the middle of them.
    writers = Writers(principals)
    wait_until(lambda: writers.replies >= COMMANDS_BEFORE_THE_KILL, 60, "commands flow")
    writers.stopping.set()
    onestop.process.kill()
    onestop.process.wait()
    writers.stop()

    # Restarted on the same data, it catches up, and takes more commands.
    started(env)
    positions = run_stories(principals.request, 2)
    wait_for_views(principals.query, max(positions))

    with open_views(onestop.data_dir) as store:
        live = documents(store)
        rebuild_all(district.url(OPERATOR), stream, store)
        rebuilt = documents(store)
    assert live["cases"] and live["case_steps"] and live["intake"]
    for table, docs in live.items():
        assert rebuilt[table] == docs, table
