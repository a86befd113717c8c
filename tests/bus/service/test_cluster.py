"""onestop on a three-server NATS cluster: every stream and bucket it owns kept three times,
clients given every server with the password apart, so that losing any one server — the one
named first included — stops nothing: commands, queries and the health check answer again
within seconds, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from uuid import uuid4

import nats
import nats.errors
import orjson
import pytest
from nats.js.api import StorageType, StreamConfig

from adapters.nats_address import connect_options
from bus.contract import subjects
from bus.service.replicas import owned_streams
from bus.service.security import OPERATOR
from tests.bus_support import Service
from tests.cluster_support import district_cluster
from tests.domain.support import credit_code
from tests.processes import wait_until


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("NATS_REPLICAS", "3")
    with district_cluster(tmp_path) as running:
        yield running


def register(service: Service) -> dict:
    return service.request("portal", "enterprise.register", {
        "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(),
        "name": "砖厂", "scale": "small_micro", "industry": "building_bricks", "town": "laisu"})


def answered(ask) -> bool:
    """Whether `ask` got an answer that is no refusal; not yet, while the cluster elects new
    leaders and the connections move to the servers left (no responders, timeouts)."""
    try:
        return ask()["ok"] is True
    except (nats.errors.Error, TimeoutError):
        return False


def health_answered(service: Service) -> bool:
    """Whether the health check answered, with a status a reconnected service may have."""
    try:
        reply = service.runner.run(service.client_for("samr").request(
            subjects.HEALTH, b"", timeout=5))
    except (nats.errors.Error, TimeoutError):
        return False
    health = orjson.loads(reply.data)
    assert health["status"] in ("ok", "degraded"), health
    return True


def test_losing_the_server_named_first_stops_nothing(cluster):
    service = Service(cluster, "ONESTOP")
    try:
        registered = [register(service) for _ in range(5)]
        assert all(reply["ok"] for reply in registered)

        async def replicas() -> dict[str, int]:
            connection = service.client_for(OPERATOR)
            return {kept.stream: kept.replicas
                    for kept in await owned_streams(connection, "ONESTOP")}
        kept = service.runner.run(replicas())
        # The log, the outcomes, the trail, the intake, the dead letters, the
        # feeds and their cursor: three copies each.
        assert {"ONESTOP", "ONESTOP_AUDIT", "KV_ONESTOP_COMMANDS",
                "KV_ONESTOP_FEEDS", "ONESTOP_INTAKE", "ONESTOP_DEADLETTER",
                "FEED_JXW"} <= set(kept)
        assert set(kept.values()) == {3}, kept

        cluster.nodes[0].kill()  # the server every URL of the list names first

        wait_until(lambda: answered(lambda: register(service)), 60,
                   "commands are answered again")
        wait_until(lambda: answered(lambda: service.query("samr", "views.status", {})), 30,
                   "queries are answered again")
        # The health check is FastStream's, on a connection of its own: it finds its way back
        # by itself, as the others did, and may come a moment after them (seen in CI).
        wait_until(lambda: health_answered(service), 30, "the health check is answered again")
        # Nothing acknowledged before the loss is gone: each in the views once they have
        # caught up through the new leaders.
        for reply in registered:
            wait_until(lambda: answered(lambda: service.query("samr", "enterprise.history", {
                "enterprise_id": reply["id"], "min_position": reply["position"]})), 30,
                "the views hold what was acknowledged before the loss")
    finally:
        service.close()


def test_a_stream_kept_once_is_reported_and_onestop_scale_keeps_it_three_times(cluster):
    # Made before NATS_REPLICAS was set, say: one copy, on one server.
    async def dead_letters_once() -> None:
        connection = await nats.connect(**connect_options(cluster.url(OPERATOR)))
        try:
            await connection.jetstream().add_stream(StreamConfig(
                name="ONESTOP_DEADLETTER", subjects=["onestop.deadletter.>"],
                storage=StorageType.FILE, num_replicas=1))
        finally:
            await connection.close()
    asyncio.run(dead_letters_once())
    service = Service(cluster, "ONESTOP")
    try:
        def warnings() -> list[str]:
            return orjson.loads(service.runner.run(service.client_for("samr").request(
                subjects.HEALTH, b"", timeout=10)).data)["warnings"]
        [warning] = [line for line in warnings() if "NATS_REPLICAS" in line]
        assert "ONESTOP_DEADLETTER (1)" in warning and "`onestop scale`" in warning

        env = {name: value for name, value in os.environ.items()
               if not name.startswith("ONESTOP_")}
        env |= {"NATS_URL": cluster.servers, "ONESTOP_DATA_DIR": str(cluster.data_dir),
                "NATS_STREAM": "ONESTOP", "NATS_REPLICAS": "3"}
        scaled = subprocess.run([sys.executable, "-m", "bus.cli", "scale"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert scaled.returncode == 0, scaled.stderr
        assert "ONESTOP_DEADLETTER: 1 -> 3" in scaled.stdout
        assert not [line for line in warnings() if "NATS_REPLICAS" in line]
        # More copies than servers: refused in one line, exit 1, nothing half-said.
        env["NATS_REPLICAS"] = "5"
        refused = subprocess.run([sys.executable, "-m", "bus.cli", "scale"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1, refused
        assert refused.stderr.startswith("onestop: the cluster did not take 5 copies")
        assert len(refused.stderr.splitlines()) == 1
    finally:
        service.close()
