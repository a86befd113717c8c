"""The embedded nats-server: serves JetStream, stops without a trace, keeps its data, fails clearly."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from adapters.natsserver import (
    EmbeddedNatsServer,
    EmbeddedServerConfig,
    EmbeddedServerError,
    free_port,
    port_is_free,
)
from tests.processes import process_is_gone, running_with_argument


def server_in(data_dir: Path, port: int | None = None) -> EmbeddedNatsServer:
    return EmbeddedNatsServer(EmbeddedServerConfig(data_dir=data_dir, port=port or free_port()))


async def store_event(url: str, stream: str, body: bytes) -> int:
    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream}.>"]))
        ack = await js.publish(f"{stream}.case.1", body)
        return ack.seq
    finally:
        await connection.close()


async def read_event(url: str, stream: str, sequence: int) -> bytes:
    connection = await nats.connect(url)
    try:
        message = await connection.jetstream().get_msg(stream, sequence)
        return message.data
    finally:
        await connection.close()


def test_serves_jetstream_durably_by_default(tmp_path):
    with server_in(tmp_path) as server:
        # A stream is created, written and read back on the embedded server.
        sequence = asyncio.run(store_event(server.url, "CASES", b'{"case": 1}'))
        assert asyncio.run(read_event(server.url, "CASES", sequence)) == b'{"case": 1}'
    # Acknowledged writes are fsynced first unless an operator relaxes it.
    assert "sync_interval: always" in (tmp_path / "nats-server.conf").read_text()


def test_stops_without_leaving_a_process(tmp_path):
    server = server_in(tmp_path).start()
    pid = server.process.pid
    assert running_with_argument(str(tmp_path / "nats-server.conf")) == [pid]

    server.stop()

    assert process_is_gone(pid)
    assert running_with_argument(str(tmp_path / "nats-server.conf")) == []
    assert port_is_free(server.config.host, server.config.port)


def test_keeps_its_data_across_a_restart_on_the_same_data_dir(tmp_path):
    # Written on one run...
    with server_in(tmp_path) as first_run:
        sequence = asyncio.run(store_event(first_run.url, "KEPT", b"before restart"))
    # ...read on the next, on another port, from the same store.
    with server_in(tmp_path) as second_run:
        assert asyncio.run(read_event(second_run.url, "KEPT", sequence)) == b"before restart"


def test_a_taken_port_is_a_clear_error(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(EmbeddedServerError, match=f"port {port} .* already in use"):
            server_in(tmp_path, port).start()

    assert running_with_argument(str(tmp_path / "nats-server.conf")) == []


def test_a_missing_binary_is_a_clear_error(tmp_path):
    bogus = tmp_path / "no-such-nats-server"
    config = EmbeddedServerConfig(data_dir=tmp_path / "data", port=free_port(), binary=bogus)

    with pytest.raises(EmbeddedServerError, match="nats-server binary not found") as raised:
        EmbeddedNatsServer(config).start()

    assert str(bogus) in str(raised.value)


def test_an_unwritable_store_is_a_clear_error(tmp_path):
    # A directory under a regular file cannot be created, even by root.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")

    with pytest.raises(EmbeddedServerError, match="store directory .* is not writable"):
        server_in(blocker / "data").start()
