"""The log under a crashing server: acknowledged events survive, the recorder carries on."""

from __future__ import annotations

import threading
from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.jetstream import JetStreamFactory
from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port


def event(originator_id, version: int = 1) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="topic",
                       state=orjson.dumps({"v": version}))


@pytest.fixture
def own_server(tmp_path):
    """A server of this test's own, so killing it disturbs nobody else."""
    config = EmbeddedServerConfig(data_dir=tmp_path, port=free_port(), server_name="crash")
    servers = [EmbeddedNatsServer(config).start()]

    def restart() -> EmbeddedNatsServer:
        servers.append(EmbeddedNatsServer(config).start())
        return servers[-1]

    yield servers[0], restart
    for server in servers:
        server.stop()


@pytest.fixture
def crash_store(own_server):
    """Factories on the server of this test, closed when it ends whatever happened."""
    server, _restart = own_server
    made: list[JetStreamFactory] = []

    def make(**env: str) -> JetStreamFactory:
        made.append(JetStreamFactory({"NATS_URL": server.url, "NATS_STREAM": "CRASH", **env}))
        return made[-1]

    yield make
    for factory in made:
        factory.close()


def test_killing_the_server_between_saves_loses_no_acknowledged_event(own_server, crash_store):
    server, restart = own_server
    factory = crash_store()
    recorder = factory.application_recorder()
    ids = [uuid4() for _ in range(40)]
    for originator_id in ids[:20]:
        recorder.insert_events([event(originator_id)])

    server.kill()
    # A save that starts while the server is down completes once it is back.
    outcome: dict[str, object] = {}
    saving = threading.Thread(
        target=lambda: outcome.update(ids=recorder.insert_events([event(ids[20])]))
    )
    saving.start()
    restart()
    saving.join(timeout=60)
    assert outcome == {"ids": [21]}

    for originator_id in ids[21:]:
        recorder.insert_events([event(originator_id)])
    notifications = recorder.select_notifications(None, 100)
    assert [n.originator_id for n in notifications] == ids
    assert [n.id for n in notifications] == list(range(1, 41))


def test_an_aggregate_keeps_its_concurrency_check_across_a_restart(own_server, crash_store):
    server, restart = own_server
    factory = crash_store()
    recorder = factory.application_recorder()
    case_id = uuid4()
    recorder.insert_events([event(case_id, 1), event(case_id, 2)])
    server.kill()
    restart()
    recorder.insert_events([event(case_id, 3)])
    assert [e.originator_version for e in recorder.select_events(case_id)] == [1, 2, 3]


def test_no_server_at_all_is_an_operational_error(unique_name):
    from eventsourcing.persistence import OperationalError

    with pytest.raises(OperationalError, match="cannot connect to NATS"):
        JetStreamFactory({"NATS_URL": f"nats://127.0.0.1:{free_port()}",
                          "NATS_STREAM": unique_name(), "NATS_CONNECT_TIMEOUT": "0.5"})


def test_a_server_down_longer_than_the_write_timeout_is_an_operational_error(own_server,
                                                                           crash_store):
    from eventsourcing.persistence import OperationalError

    server, restart = own_server
    factory = crash_store(NATS_WRITE_TIMEOUT="1", NATS_REQUEST_TIMEOUT="0.5")
    recorder = factory.application_recorder()
    recorder.insert_events([event(uuid4())])
    server.kill()
    with pytest.raises(OperationalError, match="did not acknowledge"):
        recorder.insert_events([event(uuid4())])
    # Nothing written late: once the server is back the log holds only the first event.
    restart()
    assert [n.id for n in recorder.select_notifications(None, 10)] == [1]


def test_a_subscription_carries_on_after_the_server_restarts(own_server, crash_store):
    server, restart = own_server
    factory = crash_store()
    recorder = factory.application_recorder()
    ids = [uuid4() for _ in range(4)]
    recorder.insert_events([event(ids[0]), event(ids[1])])
    with recorder.subscribe(gt=None) as subscription:
        received = [next(subscription).originator_id, next(subscription).originator_id]
        server.kill()
        restart()
        recorder.insert_events([event(ids[2]), event(ids[3])])
        received += [next(subscription).originator_id, next(subscription).originator_id]
    assert received == ids
