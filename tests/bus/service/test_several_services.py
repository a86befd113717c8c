"""Two onestop services on one NATS, sharing their views in PostgreSQL: the commands are shared
through the queue group, the log's followers (feeds, their records, checkpoints) and the shared
views are kept by one service at a time through a lease, every view stays exactly right, and
when the keeper's followers are killed outright the other service takes over within seconds."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import time
from uuid import uuid4

import orjson
import pytest

from adapters.audit.signing import PRIVATE_NAME, PUBLIC_NAME, key_directory
from adapters.integrity.seal import key_path as seal_key_path
from bus.contract import subjects
from bus.contract.identity import feed_stream
from tests.bus.service.test_bus_intake import read_stream
from tests.bus_support import Service, district_server
from tests.domain.support import credit_code
from tests.processes import wait_until

STREAM = "ONESTOP"
LEASE_SECONDS = 2


@pytest.fixture
def views_dsn(postgres_dsn, unique_name):
    import psycopg

    schema = unique_name("shared").lower()
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"create schema {schema}")
    separator = "&" if "?" in postgres_dsn else "?"
    yield f"{postgres_dsn}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"drop schema if exists {schema} cascade")


@pytest.fixture
def two_services(tmp_path, views_dsn, monkeypatch):
    monkeypatch.setenv("ONESTOP_LEASE_SECONDS", str(LEASE_SECONDS))
    with district_server(tmp_path / "nats", "several") as district:
        first = Service(district, STREAM, separate_followers=True, data_dir=tmp_path / "a",
                        views_dsn=views_dsn)
        # The second machine has the same keys: the seal that tells the services' writes,
        # and the key that signs the checkpoints.
        second_dir = tmp_path / "b"
        key_directory(second_dir).mkdir(parents=True, exist_ok=True)
        for name in (PRIVATE_NAME, PUBLIC_NAME):
            shutil.copy2(key_directory(first.data_dir) / name, key_directory(second_dir) / name)
        seal_key_path(second_dir).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(seal_key_path(first.data_dir), seal_key_path(second_dir))
        second = Service(district, STREAM, separate_followers=True, data_dir=second_dir,
                         views_dsn=views_dsn)
        try:
            yield first, second
        finally:
            second.close()
            first.close()


def holders(service: Service) -> dict[str, str]:
    async def read() -> dict[str, str]:
        kv = await service.client.jetstream().key_value(f"{STREAM}_LEASES")
        found = {}
        for key in await kv.keys():
            entry = await kv.get(key)
            found[key] = entry.value.decode()
        return found
    try:
        return service.runner.run(read())
    except Exception:  # noqa: BLE001 - no lease yet, or between two
        return {}


def cases(service: Service, count: int) -> int:
    """Submits `count` cases through whichever service takes each; the last position."""
    enterprise = service.applied("portal", "enterprise.register", credit_code=credit_code(),
                                 name="砖厂", scale="small_micro", industry="building_bricks",
                                 town="laisu")["id"]
    last = 0
    for _ in range(count):
        case = service.applied("portal", "case.submit", enterprise_id=enterprise,
                               service_type="quality_management", description="砖",
                               channel="online_platform")["id"]
        last = service.applied("samr", "case.accept", case_id=case, lead="jxw",
                               collaborators=["zjw"])["position"]
    return last


def listed(service: Service, position: int) -> list[str]:
    answer = service.query("samr", "case.list", {"min_position": position, "limit": 100})
    assert answer["ok"], answer
    return [item["case_id"] for item in answer["result"]["items"]]


def holder_name(service: Service) -> str:
    """Who a service is to the leases: its machine and data directory (bus/service/followers.py)."""
    place = hashlib.sha256(str(service.data_dir).encode()).hexdigest()[:12]
    return f"{socket.gethostname()}-{place}"


def test_one_service_keeps_each_follower_and_the_other_takes_over_when_it_dies(two_services):
    first, second = two_services
    names = {holder_name(first), holder_name(second)}
    wait_until(lambda: {key.split("-")[0] for key in holders(first)} == {"log", "views"}, 30,
               "the log's followers and the shared views each have a keeper")
    assert set(holders(first).values()) <= names

    position = cases(first, 6)
    # Each case once in the shared views, whichever service answers and whichever keeps them.
    for service in (first, second):
        ids = listed(service, position)
        assert len(ids) == len(set(ids)) == 6

    # The keeper of the log's followers is killed outright and does not come back.
    keeper = holders(first)["log"]
    dying, surviving = (first, second) if keeper == holder_name(first) else (second, first)
    followers = dying.bus.services.follower_process
    followers.RESTART_DELAY = 3600
    killed_at = time.monotonic()
    os.kill(followers.pid, signal.SIGKILL)
    wait_until(lambda: holders(surviving).get("log") == holder_name(surviving), 30,
               "the other service keeps the log's followers")
    taken_over = time.monotonic() - killed_at
    assert taken_over < 4 * LEASE_SECONDS, taken_over
    wait_until(lambda: set(holders(surviving).values()) == {holder_name(surviving)}, 30,
               "and the shared views")

    # The survivor goes on: new cases reach the views, each once.
    position = cases(surviving, 3)
    ids = listed(surviving, position)
    assert len(ids) == len(set(ids)) == 9


def test_the_intake_is_taken_by_both_services_and_each_message_answered_once(two_services):
    first, second = two_services
    js = first.client_for("portal").jetstream()
    for _ in range(12):
        first.runner.run(js.publish(subjects.intake("portal", "enterprise.register"), orjson.dumps({
            "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(),
            "name": "砖厂", "scale": "small_micro", "industry": "building_bricks",
            "town": "laisu"})))
    outcomes = read_stream(first, feed_stream("portal"), subjects.all_feed("portal"), 12,
                           reader="portal")
    assert len({m.headers["Onestop-Intake-Sequence"] for m in outcomes}) == 12
    assert all(orjson.loads(m.data)["ok"] for m in outcomes)
    # None more: each intake message answered once, whichever service took it.
    info = first.runner.run(first.client.jetstream().stream_info(feed_stream("portal")))
    assert info.state.messages == 12
