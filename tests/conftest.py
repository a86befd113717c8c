"""One real nats-server for the whole test session, started from the same adapter as `onestop up`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port

NATS_URL_VARIABLE = "ONESTOP_TEST_NATS_URL"
POSTGRES_DSN = os.environ.get(
    "ONESTOP_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNatsServer]:
    config = EmbeddedServerConfig(
        data_dir=tmp_path_factory.mktemp("nats"),
        port=free_port(),
        server_name="onestop-test",
    )
    with EmbeddedNatsServer(config) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def nats_url(nats_server: EmbeddedNatsServer) -> Iterator[str]:
    # unittest-style conformance suites cannot take fixtures; they read the URL from here.
    os.environ[NATS_URL_VARIABLE] = nats_server.url
    yield nats_server.url
    os.environ.pop(NATS_URL_VARIABLE, None)


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Names for isolated resources (streams, durables, tables) on the shared server."""

    def make(prefix: str = "T") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=5) as connection:
            connection.execute("select 1")
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_DSN} ({error}). "
            "`.ci/run` starts the local cluster; elsewhere set ONESTOP_TEST_POSTGRES_DSN."
        )
    return POSTGRES_DSN


@pytest.fixture(scope="session")
def district(tmp_path_factory: pytest.TempPathFactory):
    """A second server for the session, enforcing every principal's permissions as
    `onestop up` does: the bus is tested the way department systems will meet it."""
    from tests.bus_support import district_server

    with district_server(tmp_path_factory.mktemp("district")) as secured_district:
        yield secured_district
