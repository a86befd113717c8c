"""Every subcommand at the edges an operator meets first: the service down, the wrong data
directory, a bad argument, a reader that went away. Each gets one line on stderr (or none), a
documented exit code, within seconds, and never a traceback (bus/cli.py lists the codes).

Real processes throughout: a traceback printed by a library's logger, or a hang in a retry
loop, shows only there.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.natsserver import free_port
from bus.cli.main import main
from bus.service.runtime import holder, read_runtime
from tests.bus.cli.test_cli import environment, start_onestop
from tests.processes import wait_until

ANSWER_WITHIN_SECONDS = 5
CANNOT_RUN, CLOSED_PIPE = 2, 141

# Every subcommand and action, as an operator would type it (without --data-dir).
ASKING_THE_SERVICE = [
    ["demo"], ["kpi"], ["kpi", "--by", "town", "--json"], ["status"], ["status", "--json"],
    ["deadletters", "list"], ["deadletters", "redrive", "99"], ["deadletters", "redrive", "--all"],
    ["replay"], ["views", "status"], ["audit", "verify"],
    ["audit", "export", "--department", "jxw"], ["audit-export", "--since", "2026-01-01T00:00Z"],
]
READING_THE_DATA_DIRECTORY = [
    ["creds", "jxw"], ["views", "clear", "cases"], ["views", "drop", "cases", "g2"],
    ["audit", "key"],
]
PRINTING = [  # what prints to stdout while the service runs
    ["kpi"], ["kpi", "--json"], ["status"], ["status", "--json"], ["views", "status"],
    ["deadletters", "list"], ["creds", "jxw"], ["asyncapi"], ["audit", "key"],
    ["audit", "verify"], ["audit", "export", "--department", "jxw"],
]
BAD_ARGUMENTS = [
    ["--bogus"], ["nosuch"], ["kpi", "--by", "x"],
    ["kpi", "--since", "2022-3"], ["kpi", "--since", "2022-13"], ["kpi", "--until", "2022-00"],
    ["views", "drop", "cases", "gx"], ["views", "nope"], ["deadletters", "redrive", "x"],
    ["deadletters", "redrive"], ["creds"], ["creds", "nobody"], ["nats-auth"],
    ["audit", "verify", "--bogus"], ["audit-export", "--format", "xml"], ["audit-export"],
    ["bench", "nosuch"], ["bench", "store", "--saves", "x"], ["bench", "bus", "--bogus"],
    ["bench", "views", "--bogus"], ["bench", "audit", "--bogus"], ["replay", "--view", "nope"],
    ["asyncapi", "--bogus"], ["status", "--bogus"], ["demo", "--bogus"],
]


@dataclass(frozen=True)
class Run:
    arguments: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    def __str__(self) -> str:
        return (f"onestop {' '.join(self.arguments)}: exit {self.exit_code} after "
                f"{self.seconds:.1f}s, stderr {self.stderr!r}")


def onestop(arguments: list[str], env: dict[str, str], reader_gone: bool = False) -> Run:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "bus.cli", *arguments], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    if reader_gone:
        # `| head` that has read what it wanted: every write now meets a closed pipe.
        process.stdout.close()
        stdout = ""
        stderr = process.stderr.read()
        process.wait(timeout=60)
    else:
        stdout, stderr = process.communicate(timeout=60)
    return Run(arguments, process.returncode, stdout, stderr, time.monotonic() - started)


def all_of(runs: list[tuple[list[str], dict, bool]]) -> list[Run]:
    # Side by side: each still has to answer within the limit on a busy machine.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda run: onestop(*run), runs))


def assert_one_line(run: Run, exit_code: int) -> None:
    assert "Traceback" not in run.stderr, str(run)
    assert run.exit_code == exit_code, str(run)
    assert run.stderr.count("\n") == 1 and run.stderr.strip(), str(run)
    assert run.seconds < ANSWER_WITHIN_SECONDS, str(run)


def with_data_dir(arguments: list[str], data_dir: Path) -> list[str]:
    if arguments[0] in ("asyncapi", "--bogus", "nosuch"):  # no data directory to name
        return arguments
    return [*arguments, "--data-dir", str(data_dir)]


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """`onestop up` on a port that is not the default one, with the demo's stories loaded
    by `onestop demo`, which finds it by its data directory alone."""
    tmp_path = tmp_path_factory.mktemp("edges")
    service = start_onestop(tmp_path, "--port", str(free_port()))
    try:
        service.wait_for_line("onestop is up")
        demo = onestop(["demo", "--data-dir", str(service.data_dir)], environment())
        assert demo.exit_code == 0, str(demo)
        yield service
    finally:
        if service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


@pytest.fixture(scope="module")
def env():
    return environment()


def test_every_operator_command_finds_the_service_by_its_data_directory(district, env):
    port = read_runtime(district.data_dir).url.rpartition(":")[2]
    status, kpi, creds, letters, verify, views = all_of([
        (with_data_dir(arguments, district.data_dir), env, False) for arguments in (
            ["status"], ["kpi"], ["creds", "jxw"], ["deadletters", "list"],
            ["audit", "verify"], ["views", "status"])])
    assert status.exit_code == 0 and "ok" in status.stdout, str(status)
    assert kpi.exit_code == 0 and "problems solved" in kpi.stdout, str(kpi)
    assert json.loads(creds.stdout)["servers"] == [f"nats://127.0.0.1:{port}"]
    assert letters.exit_code == 0 and "0 dead letter(s)" in letters.stdout, str(letters)
    # It read the service's log; whether a checkpoint covers the demo yet depends on timing
    # (exit 4 until one does).
    assert verify.exit_code in (0, 4) and "read the event log ONESTOP:" in verify.stdout, \
        str(verify)
    assert views.exit_code == 0 and "log head" in views.stdout, str(views)


def test_a_second_up_on_the_same_data_directory_is_refused_naming_the_pid(district, env):
    second = onestop(["up", "--data-dir", str(district.data_dir), "--port", str(free_port())],
                     env)
    assert_one_line(second, CANNOT_RUN)
    assert f"in use by another onestop up (PID {district.process.pid})" in second.stderr
    # Its server's configuration and its runtime file are the first one's still.
    assert read_runtime(district.data_dir).pid == district.process.pid


def test_a_reader_that_went_away_ends_the_command_quietly(district, env):
    runs = all_of([(with_data_dir(arguments, district.data_dir), env, True)
                   for arguments in PRINTING])
    for run in runs:
        assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, str(run)
        assert run.exit_code == CLOSED_PIPE, str(run)
        assert run.stderr == "", str(run)


def inline(arguments: list[str], capsys) -> Run:
    """In this process: argparse and the commands' own checks print nothing a real process
    would print differently, and this takes milliseconds instead of an interpreter each."""
    started = time.monotonic()
    try:
        exit_code = main(arguments)
    except SystemExit as exit:
        exit_code = exit.code
    out, err = capsys.readouterr()
    return Run(arguments, exit_code, out, err, time.monotonic() - started)


@pytest.mark.parametrize("arguments", BAD_ARGUMENTS, ids=" ".join)
def test_bad_arguments_get_one_line_naming_the_problem(arguments, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.delenv("NATS_URL", raising=False)
    assert_one_line(inline(with_data_dir(arguments, tmp_path), capsys), CANNOT_RUN)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made on the way


def test_up_with_a_bad_port_gets_one_line(env, tmp_path):
    for run in all_of([(["up", "--port", port, "--data-dir", str(tmp_path)], env, False)
                       for port in ("0", "http")]):
        assert_one_line(run, CANNOT_RUN)


def test_up_whose_results_screen_port_is_taken_gets_one_line(env, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        run = onestop(["up", "--port", str(free_port()), "--screen-port", port,
                       "--data-dir", str(tmp_path)], env)

    assert_one_line(run, CANNOT_RUN)
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr and "--screen-port" in run.stderr


def test_a_wrong_data_directory_is_named_and_nothing_is_made_in_it(env, tmp_path):
    wrong = tmp_path / "not-onestops"
    runs = all_of([(with_data_dir(arguments, wrong), env, False)
                   for arguments in ASKING_THE_SERVICE + READING_THE_DATA_DIRECTORY])
    for run in runs:
        assert_one_line(run, CANNOT_RUN)
        assert str(wrong) in run.stderr, str(run)
    assert not wrong.exists()


def test_a_data_directory_that_cannot_be_made_gets_one_line(env, tmp_path):
    (tmp_path / "a-file").write_text("")
    run = onestop(["up", "--data-dir", str(tmp_path / "a-file" / "var")], env)
    assert_one_line(run, CANNOT_RUN)
    assert "cannot use the data directory" in run.stderr


def test_with_the_service_killed_every_command_says_so_within_seconds(district, env):
    # Killed outright: its runtime.json still names the port it had.
    os.killpg(district.process.pid, signal.SIGKILL)
    district.process.wait()
    wait_until(lambda: holder(district.data_dir) is None, 30, "the server has stopped too")
    assert read_runtime(district.data_dir) is not None

    runs = all_of([(with_data_dir(arguments, district.data_dir), env, False)
                   for arguments in ASKING_THE_SERVICE])
    for run in runs:
        assert_one_line(run, CANNOT_RUN)
        assert f"no onestop up runs on the data directory {district.data_dir}" in run.stderr, \
            str(run)
    creds, clear, drop, key = all_of([(with_data_dir(arguments, district.data_dir), env, False)
                                      for arguments in READING_THE_DATA_DIRECTORY])
    # These need no service.
    assert creds.exit_code == 0 and json.loads(creds.stdout)["principal"] == "jxw", str(creds)
    assert clear.exit_code == 0 and "nothing to clear" in clear.stdout, str(clear)
    assert_one_line(drop, 1)
    assert "cases has no generation 2; it has 1" in drop.stderr
    assert key.exit_code == 0 and "PUBLIC KEY" in key.stdout, str(key)


def test_the_benchmarks_skip_postgresql_without_psycopg(monkeypatch):
    from bench.event_store import postgres_env
    from bench.view_queries import postgres_reachable

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    dsn = "postgresql://postgres@127.0.0.1:5432/test"
    assert postgres_env(dsn, "bench") is None
    assert postgres_reachable(dsn) is False
