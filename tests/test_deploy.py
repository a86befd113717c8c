"""The deployment's own files: compose's nats-server configuration is one the real server
accepts, with the district's users that `onestop nats-auth` writes for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from adapters.natsserver import find_binary, free_port
from bus.service.security import district_accounts
from domain.reference import load_reference
from tests.processes import wait_until

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


def deploy_config_on(tmp_path: Path, port: int, http_port: int) -> Path:
    """deploy/nats-server.conf as compose runs it, on this machine's free ports."""
    text = (DEPLOY / "nats-server.conf").read_text()
    assert "listen: 0.0.0.0:4222" in text and "http: 127.0.0.1:8222" in text
    config = tmp_path / "nats-server.conf"
    config.write_text(text.replace('store_dir: "/data"', f'store_dir: "{tmp_path / "data"}"')
                      .replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}")
                      .replace("http: 127.0.0.1:8222", f"http: 127.0.0.1:{http_port}"))
    (tmp_path / "onestop").mkdir()
    (tmp_path / "onestop" / "accounts.conf").write_text(
        district_accounts(tmp_path / "onestop-data", load_reference(None), "ONESTOP"))
    return config


def test_the_health_endpoint_composes_check_asks_answers_once_jetstream_is_ready(tmp_path):
    port, http_port = free_port(), free_port()
    server = subprocess.Popen([str(find_binary()), "-c", str(deploy_config_on(
        tmp_path, port, http_port))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz",
                                            timeout=2) as answer:
                    return answer.status == 200 and json.load(answer)["status"] == "ok"
            except OSError:
                return False
        wait_until(healthy, 30, "nats-server's /healthz answers 200")
    finally:
        server.terminate()
        server.wait(timeout=30)


COMPOSE = DEPLOY.parent / "compose.yaml"


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed (.ci/run installs it)")
def test_compose_waits_for_healthy_nats_and_publishes_where_it_is_told():
    def config(**env: str) -> str:
        checked = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config"],
                                 env={**os.environ, **env}, capture_output=True, text=True,
                                 timeout=60)
        assert checked.returncode == 0, checked.stderr
        return checked.stdout

    default = config()
    assert "127.0.0.1:4222:4222" in default  # this machine only, unless told otherwise
    assert default.count("healthcheck:") == 2  # nats and onestop
    assert "condition: service_healthy" in default
    assert "- onestop\n      - status" in default  # `onestop status` is onestop's check
    assert "0.0.0.0:4333:4222" in config(NATS_BIND="0.0.0.0", NATS_PORT="4333")


CLUSTER_COMPOSE = DEPLOY / "compose.cluster.yaml"


def test_the_cluster_servers_configuration_with_its_routes_is_valid(tmp_path):
    text = (DEPLOY / "nats-cluster.conf").read_text()
    assert "sync_interval: always" in text and 'include "onestop/accounts.conf"' in text
    (tmp_path / "nats-server.conf").write_text(
        text.replace('store_dir: "/data"', f'store_dir: "{tmp_path / "data"}"'))
    (tmp_path / "onestop").mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")},
           "ONESTOP_DATA_DIR": str(tmp_path / "onestop-data")}
    written = subprocess.run([sys.executable, "-m", "bus.cli", "nats-auth", "--write",
                              str(tmp_path / "onestop" / "accounts.conf"), "--cluster",
                              "nats-1:6222,nats-2:6222,nats-3:6222"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    accounts = (tmp_path / "onestop" / "accounts.conf").read_text()
    assert accounts.count("nats-route://cluster-route:") == 3  # routes authenticated
    # The route password is kept with the others: written again, the same.
    subprocess.run(written.args, env=env, capture_output=True, timeout=60, check=True)
    assert (tmp_path / "onestop" / "accounts.conf").read_text() == accounts

    checked = subprocess.run([str(find_binary()), "-c", str(tmp_path / "nats-server.conf"),
                              "--name", "nats-1", "-t"], capture_output=True, text=True,
                             timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is not installed (.ci/run installs it)")
def test_the_cluster_compose_file_has_three_servers_two_services_and_a_check_on_each():
    def config(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker-compose", "-f", str(CLUSTER_COMPOSE), "config"],
                              env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=60)

    # No password in the repository: the database's must be given.
    assert config().returncode != 0
    checked = config(POSTGRES_PASSWORD="example")
    assert checked.returncode == 0, checked.stderr
    text = checked.stdout
    for name in ("nats-1", "nats-2", "nats-3"):
        assert f"- --name\n    - {name}\n" in text  # each server its own name
    assert text.count("healthcheck:") == 6  # three servers, PostgreSQL, two onestops
    assert text.count("condition: service_healthy") == 5
    assert text.count("NATS_REPLICAS: '3'") == 2
    assert text.count("NATS_URL: nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222") == 2
    assert "127.0.0.1:4222:4222" in text  # this machine only, unless told otherwise
