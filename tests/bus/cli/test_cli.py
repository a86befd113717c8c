"""`onestop up` as an operator runs it: a real process, real signals, a real nats-server."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import nats
import nats.js.errors
import pytest

from adapters.natsserver import (
    EmbeddedNatsServer,
    EmbeddedServerConfig,
    free_port,
    port_is_free,
)
from bus.contract import subjects
from bus.service.runtime import holder, read_runtime
from bus.service.security import OPERATOR, SERVICE, credential_store
from tests.processes import running_with_argument, wait_until

START_TIMEOUT = 60
STOP_TIMEOUT = 30


@dataclass
class Onestop:
    process: subprocess.Popen
    data_dir: Path
    stdout: queue.Queue = field(default_factory=queue.Queue)
    lines: list[str] = field(default_factory=list)

    def read_stdout(self) -> None:
        for line in self.process.stdout:
            self.stdout.put(line.rstrip("\n"))

    def wait_for_line(self, prefix: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.stdout.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.lines.append(line)
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
        raise AssertionError(f"onestop printed no {prefix!r} line: {self.lines}, "
                             f"exit code {self.process.poll()}")

    @property
    def server_config(self) -> str:
        return str(self.data_dir / "nats-server.conf")


def environment(**overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name != "NATS_URL" and not name.startswith("ONESTOP_")}
    return env | overrides


def start_onestop(tmp_path: Path, *arguments: str, env: dict[str, str] | None = None) -> Onestop:
    data_dir = tmp_path / "data"
    env = env or environment()
    if "--port" not in arguments and "NATS_URL" not in env:
        # Never the default port: another suite beside this one may be using it.
        arguments = (*arguments, "--port", str(free_port()))
    if "--screen-port" not in arguments:
        arguments = (*arguments, "--screen-port", str(free_port()))  # the results screen
    process = subprocess.Popen(
        [sys.executable, "-m", "bus.cli", "up", "--data-dir", str(data_dir), *arguments],
        cwd=tmp_path, env=env, text=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=open(tmp_path / "stderr.txt", "w"),
        # Its own session, so a test can send Ctrl-C to the whole group as a terminal does.
        start_new_session=True,
    )
    onestop = Onestop(process, data_dir)
    threading.Thread(target=onestop.read_stdout, daemon=True).start()
    return onestop


@pytest.fixture
def onestop_processes():
    started: list[Onestop] = []
    yield started
    for onestop in started:  # a failed test must not leave onestop or its server behind
        if onestop.process.poll() is None:
            os.killpg(onestop.process.pid, signal.SIGKILL)
            onestop.process.wait()


async def ask_health_and_jetstream(url: str) -> tuple[dict, int]:
    connection = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        reply = await connection.request(subjects.HEALTH, b"", timeout=5)
        account = await connection.jetstream().account_info()
        return json.loads(reply.data), account.limits.max_streams
    finally:
        await connection.close()


async def stream_exists(url: str, stream: str) -> bool:
    connection = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        await connection.jetstream().stream_info(stream)
        return True
    except nats.js.errors.NotFoundError:
        return False
    finally:
        await connection.close()


def stop(onestop: Onestop, how: str) -> int:
    if how == "SIGTERM":
        onestop.process.send_signal(signal.SIGTERM)
    else:  # Ctrl-C in a terminal signals the whole foreground process group
        os.killpg(onestop.process.pid, signal.SIGINT)
    return onestop.process.wait(timeout=STOP_TIMEOUT)


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_up_serves_the_bus_on_an_embedded_server_and_stops_cleanly(
        tmp_path, onestop_processes, how):
    port = free_port()
    onestop = start_onestop(tmp_path, "--port", str(port))
    onestop_processes.append(onestop)

    # It says where to connect and where its data is.
    url = onestop.wait_for_line("NATS:")
    assert url == f"nats://127.0.0.1:{port}"
    assert onestop.wait_for_line("Data:").startswith(str(onestop.data_dir))
    # The server admits only principals with credentials; the operator's answer on that URL.
    with pytest.raises(nats.errors.Error):
        asyncio.run(ask_health_and_jetstream(url))
    operator_url = credential_store(onestop.data_dir).url_for(OPERATOR, url)
    health, _max_streams = asyncio.run(ask_health_and_jetstream(operator_url))
    parts = health.pop("parts")
    assert health == {"status": "ok", "service": "onestop", "version": version("onestop"),
                      "warnings": []}
    assert [(part["name"], part["status"]) for part in parts] == [
        ("store", "ok"), ("views", "ok"), ("feeds", "ok"), ("checkpoints", "ok")]
    # The operator's own command says the same.
    status = subprocess.run([sys.executable, "-m", "bus.cli", "status", "--data-dir",
                             str(onestop.data_dir)], capture_output=True, text=True,
                            timeout=60, env=environment())  # the port: from runtime.json
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"onestop {version('onestop')}: ok")
    assert "  store        ok" in status.stdout
    server_pids = running_with_argument(onestop.server_config)
    assert len(server_pids) == 1

    assert stop(onestop, how) == 0

    # Its nats-server is gone with it, and the port is free again.
    assert running_with_argument(onestop.server_config) == []
    wait_until(lambda: port_is_free("127.0.0.1", port), STOP_TIMEOUT, "the port is free")
    said = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in said
    # Nothing of FastStream's own start-up chatter, and no colours: only our lines.
    assert "\x1b[" not in said and "FastStream app" not in said, said
    # The data directory is free again, and says no service runs there.
    assert holder(onestop.data_dir) is None and read_runtime(onestop.data_dir) is None


def test_up_stops_with_one_line_and_exit_code_3_when_its_server_dies(tmp_path,
                                                                     onestop_processes):
    onestop = start_onestop(tmp_path, "--port", str(free_port()))
    onestop_processes.append(onestop)
    onestop.wait_for_line("onestop is up")
    [server] = running_with_argument(onestop.server_config)

    os.kill(server, signal.SIGKILL)

    assert onestop.process.wait(timeout=STOP_TIMEOUT) == 3
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr
    [said] = [line for line in stderr.splitlines() if line.startswith("onestop: ")]
    assert said.startswith("onestop: the embedded nats-server stopped on its own (exit "
                           "code -9;")
    assert running_with_argument(onestop.server_config) == []


def test_up_on_a_taken_port_fails_with_one_line_and_exit_code_2(tmp_path, onestop_processes):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        onestop = start_onestop(tmp_path, "--port", str(port))
        onestop_processes.append(onestop)
        exit_code = onestop.process.wait(timeout=START_TIMEOUT)

    assert exit_code == 2
    errors = (tmp_path / "stderr.txt").read_text().strip().splitlines()
    assert len(errors) == 1
    assert f"port {port}" in errors[0] and "already in use" in errors[0]
    assert "Traceback" not in errors[0]


def test_up_with_rules_of_authority_that_miss_a_command_fails_with_one_line(
        tmp_path, onestop_processes):
    rules = tmp_path / "authority.toml"
    rules.write_text('[commands]\n"case.accept" = ["lead_bureau"]\n')
    onestop = start_onestop(tmp_path, env=environment(AUTHORITY_RULES=str(rules)))
    onestop_processes.append(onestop)

    assert onestop.process.wait(timeout=START_TIMEOUT) == 2
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("onestop: ") and "commands.case.close: missing" in last


def test_up_with_nats_url_uses_that_server_and_starts_none(
        tmp_path, onestop_processes, nats_url, unique_name):
    # Its own event stream, so the shared session server stays as other tests expect it.
    stream = unique_name("UP")
    onestop = start_onestop(tmp_path, env=environment(NATS_URL=nats_url, NATS_STREAM=stream))
    onestop_processes.append(onestop)

    assert onestop.wait_for_line("NATS:") == nats_url
    assert "started no server" in onestop.wait_for_line("Data:")
    health, _max_streams = asyncio.run(ask_health_and_jetstream(nats_url))
    assert health["status"] == "ok"
    assert asyncio.run(stream_exists(nats_url, stream))
    assert running_with_argument(onestop.server_config) == []
    # The data directory holds the views and the signing key only: no server store, no
    # credentials.
    assert sorted(p.name for p in onestop.data_dir.iterdir()) == [
        "audit", "onestop.lock", "runtime.json", "views"]

    assert stop(onestop, "SIGTERM") == 0


def test_up_with_an_unreachable_nats_url_fails_fast_with_exit_code_2(
        tmp_path, onestop_processes):
    nowhere = f"nats://127.0.0.1:{free_port()}"
    onestop = start_onestop(tmp_path, env=environment(NATS_URL=nowhere))
    onestop_processes.append(onestop)

    assert onestop.process.wait(timeout=START_TIMEOUT) == 2
    errors = (tmp_path / "stderr.txt").read_text().strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith(f"onestop: cannot connect to NATS at {nowhere} (")
    assert "Connect call failed" in errors[0]


def test_up_says_so_when_the_server_it_was_given_died_before_it_could_drain(
        tmp_path, onestop_processes):
    # A server of its own (NATS_URL): onestop does not supervise it, and goes on trying to
    # reconnect until the operator stops it. (Its embedded server's death stops it: above.)
    config = EmbeddedServerConfig(data_dir=tmp_path / "server", port=free_port(),
                                  server_name="given")
    server = EmbeddedNatsServer(config).start()
    onestop = start_onestop(tmp_path, env=environment(NATS_URL=server.url))
    onestop_processes.append(onestop)
    onestop.wait_for_line("onestop is up")

    server.kill()  # as in a crash; then the operator stops onestop

    assert stop(onestop, "SIGTERM") == 1
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "onestop: stopped, but the NATS connection was lost before it could drain" in stderr
    assert "Traceback" not in stderr


def test_up_with_demo_loads_the_stories_and_prints_the_districts_results(
        tmp_path, onestop_processes):
    port = free_port()
    onestop = start_onestop(tmp_path, "--port", str(port), "--demo")
    onestop_processes.append(onestop)

    sent = onestop.wait_for_line("1427 commands sent")
    results = {}
    for label in ("problems collected", "units destroyed", "improvement projects",
                  "satisfaction rate"):
        line = onestop.wait_for_line(label)
        results[label] = line.split()[-1]

    assert "a second run changes nothing" in sent
    assert results == {"problems collected": "72", "units destroyed": "820000",
                       "improvement projects": "100", "satisfaction rate": "97.1%"}
    # The same results, asked of the running service from the command line
    asked = subprocess.run(
        [sys.executable, "-m", "bus.cli", "kpi", "--by", "town", "--json",
         "--data-dir", str(onestop.data_dir)],
        env=environment(ONESTOP_NATS_PORT=str(port)), capture_output=True, text=True,
        timeout=60)
    assert asked.returncode == 0, asked.stderr
    towns = json.loads(asked.stdout)["groups"]
    assert sum(town.get("problems_collected", 0) for town in towns.values()) == 72
    assert stop(onestop, "SIGTERM") == 0


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_up_killed_outright_takes_its_server_and_its_followers_with_it(
        tmp_path, onestop_processes):
    onestop = start_onestop(tmp_path, "--port", str(free_port()))
    onestop_processes.append(onestop)
    onestop.wait_for_line("onestop is up")
    children = children_of(onestop.process.pid)
    # the embedded nats-server and the followers' process
    assert len(children) == 2 and len(followers_of(onestop.process.pid)) == 1

    onestop.process.kill()
    onestop.process.wait()

    wait_until(lambda: not any(alive(child) for child in children), 10,
               "the server and the followers have ended")


def followers_of(pid: int) -> list[int]:
    """The followers' process among onestop's children."""
    found = []
    for child in children_of(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                arguments = cmdline.read()
        except FileNotFoundError:  # it ended while we looked
            continue
        if b"bus.service.followers_process" in arguments:
            found.append(child)
    return found


def test_a_followers_process_that_dies_is_started_again_and_the_views_go_on(
        tmp_path, onestop_processes):
    port = free_port()
    onestop = start_onestop(tmp_path, "--port", str(port))
    onestop_processes.append(onestop)
    onestop.wait_for_line("onestop is up")
    [followers] = followers_of(onestop.process.pid)

    os.kill(followers, signal.SIGKILL)
    wait_until(lambda: followers_of(onestop.process.pid) not in ([], [followers]), 30,
               "a new followers' process runs")

    # The demo waits until the KPI view has applied all it sent: the views follow again.
    demo = subprocess.run(
        [sys.executable, "-m", "bus.cli", "demo", "--data-dir", str(onestop.data_dir)],
        env=environment(ONESTOP_NATS_PORT=str(port)), capture_output=True, text=True,
        timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "problems collected" in demo.stdout
    assert stop(onestop, "SIGTERM") == 0


def test_up_with_nats_url_to_a_server_with_the_districts_users_connects_as_the_service(
        tmp_path, onestop_processes):
    # compose's shape: the operator writes the district's users with `onestop nats-auth`,
    # the server includes them, and onestop, given a NATS_URL without a user, connects as
    # the service with the password kept in its data directory.
    data_dir, server_dir = tmp_path / "data", tmp_path / "server"
    server_dir.mkdir()
    env = environment(NATS_STREAM="DISTRICT")
    written = subprocess.run(
        [sys.executable, "-m", "bus.cli", "nats-auth", "--data-dir", str(data_dir),
         "--write", str(server_dir / "accounts.conf")],
        env=env, capture_output=True, text=True, timeout=START_TIMEOUT)
    assert written.returncode == 0, written.stderr
    store = credential_store(data_dir)
    assert store.password(OPERATOR) not in written.stdout  # never printed
    assert (server_dir / "accounts.conf").stat().st_mode & 0o077 == 0
    config = EmbeddedServerConfig(
        data_dir=server_dir, port=free_port(), server_name="district",
        extra_config='include "accounts.conf"\n',
        probe_userinfo=f"{OPERATOR}:{store.password(OPERATOR)}")
    with EmbeddedNatsServer(config) as server:
        onestop = start_onestop(tmp_path, env=env | {"NATS_URL": server.url})
        onestop_processes.append(onestop)

        assert onestop.wait_for_line("NATS:") == server.url
        assert f"as the principal {SERVICE}" in onestop.wait_for_line("Data:")
        with pytest.raises(nats.errors.Error):  # no user: no entry
            asyncio.run(ask_health_and_jetstream(server.url))
        health, _max_streams = asyncio.run(ask_health_and_jetstream(
            store.url_for(OPERATOR, server.url)))
        assert health["status"] == "ok"
        assert asyncio.run(stream_exists(store.url_for(OPERATOR, server.url), "DISTRICT"))
        # The operator's commands, on the same machine, connect as the operator.
        status = subprocess.run(
            [sys.executable, "-m", "bus.cli", "views", "status", "--json", "--data-dir",
             str(data_dir)], env=env | {"NATS_URL": server.url}, capture_output=True,
            text=True, timeout=START_TIMEOUT)
        assert status.returncode == 0, status.stderr
        assert {view["name"] for view in json.loads(status.stdout)["views"]} >= {"cases"}

        assert stop(onestop, "SIGTERM") == 0
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
