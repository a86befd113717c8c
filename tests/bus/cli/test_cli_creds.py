"""`onestop creds`: an integrator's credentials, printed or written privately."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from bus.service.runtime import DataDirLock, runtime_of
from bus.service.security import credential_store, district_principals
from domain.reference import load_reference


@pytest.fixture
def data_dir(tmp_path):
    """A data directory as `onestop up --port 4977` leaves it while it runs: every principal's
    password, and where its server listens."""
    credential_store(tmp_path, make_missing=True).passwords(district_principals(load_reference()))
    lock = DataDirLock.take(tmp_path)
    lock.publish(runtime_of(tmp_path, url="nats://127.0.0.1:4977", version="test",
                            event_stream="ONESTOP", embedded=True))
    yield tmp_path
    lock.release()


def onestop(*arguments: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL" and not k.startswith("ONESTOP_")}
    return subprocess.run([sys.executable, "-m", "bus.cli", *arguments], env=env,
                          capture_output=True, text=True, timeout=60)


def test_creds_prints_what_a_department_system_needs_to_connect(data_dir):
    result = onestop("creds", "jxw", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    password = credential_store(data_dir).password("jxw")
    # The port `up` was given, found in the data directory; the password apart from the
    # servers, so that it holds for every one of them.
    assert document["servers"] == ["nats://127.0.0.1:4977"]
    assert (document["user"], document["password"]) == ("jxw", password)
    assert password not in json.dumps(document["servers"])
    assert document["inbox_prefix"] == "_INBOX.jxw"
    assert document["commands"] == "onestop.cmd.jxw.<command>"
    assert document["feed"] == {"stream": "FEED_JXW", "subjects": "onestop.feed.jxw.>",
                                "read_with": "pull consumers (durable or ephemeral)"}
    assert document["account"] == "jxw"


def test_creds_written_to_a_file_are_readable_by_their_owner_only(data_dir):
    target = data_dir / "jxw.json"
    result = onestop("creds", "jxw", "--data-dir", str(data_dir), "--write", str(target))
    assert result.returncode == 0 and "jxw" in result.stdout
    assert json.loads(target.read_text())["user"] == "jxw"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["password"] not in result.stdout


def test_an_unknown_principal_gets_one_line_and_exit_code_2(data_dir):
    result = onestop("creds", "nobody", "--data-dir", str(data_dir))
    assert result.returncode == 2
    assert "not a principal" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_directory_without_credentials_is_named_and_left_as_it_was(tmp_path):
    elsewhere = tmp_path / "not-the-data-dir"
    result = onestop("creds", "jxw", "--data-dir", str(elsewhere))
    assert result.returncode == 2
    assert f"no credentials of jxw in {elsewhere}/credentials" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not elsewhere.exists()  # no new password that no server knows


def test_creds_written_into_a_missing_folder_get_one_line(data_dir):
    result = onestop("creds", "jxw", "--data-dir", str(data_dir),
                     "--write", str(data_dir / "no" / "such" / "jxw.json"))
    assert result.returncode == 2
    assert result.stderr.startswith("onestop: cannot write ") and result.stderr.count("\n") == 1
