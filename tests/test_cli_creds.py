"""`onestop creds`: an integrator's credentials, printed or written privately."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from bus.security import credential_store


def onestop(*arguments: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL" and not k.startswith("ONESTOP_")}
    return subprocess.run([sys.executable, "-m", "bus.cli", *arguments], env=env,
                          capture_output=True, text=True, timeout=60)


def test_creds_prints_what_a_department_system_needs_to_connect(tmp_path):
    result = onestop("creds", "jxw", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    password = credential_store(tmp_path).password("jxw")
    assert document["url"] == f"nats://jxw:{password}@127.0.0.1:4244"
    assert document["inbox_prefix"] == "_INBOX.jxw"
    assert document["commands"] == "onestop.cmd.jxw.<command>"
    assert document["feed"] == {"stream": "FEED_JXW", "subjects": "onestop.feed.jxw.>",
                                "read_with": "pull consumers (durable or ephemeral)"}
    assert document["account"] == "jxw"


def test_creds_written_to_a_file_are_readable_by_their_owner_only(tmp_path):
    target = tmp_path / "jxw.json"
    result = onestop("creds", "jxw", "--data-dir", str(tmp_path), "--write", str(target))
    assert result.returncode == 0 and "jxw" in result.stdout
    assert json.loads(target.read_text())["user"] == "jxw"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["password"] not in result.stdout


def test_an_unknown_principal_gets_one_line_and_exit_code_2(tmp_path):
    result = onestop("creds", "nobody", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "not a principal" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
