"""The deployment's own files: compose's nats-server configuration is one the real server
accepts, with the district's users that `onestop nats-auth` writes for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from adapters.natsserver import find_binary
from bus.security import district_accounts
from domain.reference import load_reference

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_composes_server_configuration_with_the_districts_users_is_valid(tmp_path):
    text = (DEPLOY / "nats-server.conf").read_text()
    assert 'include "onestop/accounts.conf"' in text  # where compose mounts the users
    (tmp_path / "nats-server.conf").write_text(
        text.replace('store_dir: "/data"', f'store_dir: "{tmp_path / "data"}"'))
    (tmp_path / "onestop").mkdir()
    (tmp_path / "onestop" / "accounts.conf").write_text(
        district_accounts(tmp_path / "onestop-data", load_reference(None), "ONESTOP"))

    checked = subprocess.run([str(find_binary()), "-c", str(tmp_path / "nats-server.conf"),
                              "-t"], capture_output=True, text=True, timeout=30)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is valid" in checked.stdout + checked.stderr


def test_without_the_users_the_server_does_not_start(tmp_path):
    # nats-auth has not run: better no server than one anyone may use as any department.
    (tmp_path / "nats-server.conf").write_text((DEPLOY / "nats-server.conf").read_text())
    checked = subprocess.run([str(find_binary()), "-c", str(tmp_path / "nats-server.conf"),
                              "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode != 0
