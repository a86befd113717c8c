"""The wire reader reads what StreamReader reads, row for row, on real nats-servers: the
session's, one that requires a user and password, one that takes a token, and one that offers
TLS (which the wire reader declines)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import uuid
from pathlib import Path

import nats
import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.jetstream import JetStreamFactory
from adapters.jetstream.stream_reader import ReadFailed, StreamReader
from adapters.jetstream.stream_subjects import token
from adapters.jetstream.wire import (
    CHUNK,
    DirectWireReader,
    WireReader,
    WireRefused,
    WireUnavailable,
)
from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port
from adapters.views.log_rows import row_of_headers
from tests.audit_support import write_cases

# Percent-encoded in its header (not plain ASCII, a '%', a space): the reader must unquote it.
ODD_TOPIC = "主题/with space%and:colon"
ODD_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
BIG_BODY = orjson.dumps({"blob": "x" * 900_000})  # most of the server's 1 MB max payload


def event(originator_id: uuid.UUID, version: int, topic: str = "case.noted",
          body: bytes = b'{"n":1}') -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic=topic,
                       state=body)


def record(url: str, stream: str, events: list[StoredEvent]) -> None:
    """Writes through the log of record, as the application does: with its headers."""
    factory = JetStreamFactory({"NATS_URL": url, "NATS_STREAM": stream})
    try:
        factory.application_recorder().insert_events(events)
    finally:
        factory.close()


@pytest.fixture(scope="module")
def log(nats_url) -> str:
    """A stream of real cases through the domain, one event with a quoted topic, one with a
    body far larger than a socket read."""
    stream = f"WIRE_{uuid.uuid4().hex[:12]}"
    write_cases(nats_url, stream)
    record(nats_url, stream, [event(ODD_ID, 1, ODD_TOPIC), event(ODD_ID, 2, body=BIG_BODY)])
    write_cases(nats_url, stream)
    return stream


def events_of(stream: str) -> str:
    return f"{stream}.events.>"


async def rows_of_stream_reader(url: str, stream: str, subject: str, after: int = 0,
                                batch: int = 50) -> list:
    connection = await nats.connect(url)
    reader = StreamReader(connection, stream, timeout=10, subject=subject)
    try:
        await reader.start(after=after)
        rows = []
        while messages := await reader.read(batch):
            rows += [row_of_headers(m.sequence, m.headers, m.body) for m in messages]
        return rows
    finally:
        await reader.close()
        await connection.close()


async def rows_of_wire_reader(url: str, stream: str, subject: str, after: int = 0,
                              batch: int = 50, chunk: int = CHUNK, **options) -> list:
    connection = await nats.connect(url, **options)
    reader = WireReader(connection, stream, timeout=10, subject=subject, chunk=chunk)
    try:
        await reader.start(after=after)
        rows = []
        while batch_rows := await reader.read_rows(batch):
            assert len(batch_rows) <= batch
            rows += batch_rows
        return rows
    finally:
        await reader.close()
        await connection.close()


def test_rows_are_those_of_stream_reader(nats_url, log):
    expected = asyncio.run(rows_of_stream_reader(nats_url, log, events_of(log)))
    # Pulls of a few messages each: many end at their limit, the last one at the head.
    rows = asyncio.run(rows_of_wire_reader(nats_url, log, events_of(log), batch=7))

    assert rows == expected
    assert len(rows) > 50
    assert [row[0] for row in rows] == sorted({row[0] for row in rows})
    assert (ODD_TOPIC, str(ODD_ID)) in {(row[3], row[1]) for row in rows}


def test_messages_are_those_of_stream_reader(nats_url, log):
    async def read(reader_class) -> list:
        connection = await nats.connect(nats_url)
        try:
            async with reader_class(connection, log, subject=events_of(log)) as reader:
                messages = []
                while batch := await reader.read(100):
                    messages += batch
                return messages
        finally:
            await connection.close()

    messages = asyncio.run(read(WireReader))

    assert messages == asyncio.run(read(StreamReader))
    assert all(message.headers["ce-specversion"] == "1.0" for message in messages)


def test_direct_gets_read_the_same_messages_with_their_header_blocks(nats_url, log):
    async def read(reader_class, batch: int) -> list:
        connection = await nats.connect(nats_url)
        try:
            reader = reader_class(connection, log, subject=events_of(log))
            await reader.start()
            try:
                messages = []
                while found := await reader.read(batch):
                    messages += found
                return messages
            finally:
                await reader.close()
        finally:
            await connection.close()

    direct = asyncio.run(read(DirectWireReader, 7))  # many batches, each ending early
    consumed = asyncio.run(read(StreamReader, 100))

    assert [(m.sequence, m.subject, m.body) for m in direct] == [
        (m.sequence, m.subject, m.body) for m in consumed]
    served = {"Nats-Stream", "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp",
              "Nats-Num-Pending", "Nats-Last-Sequence"}
    for got, stored in zip(direct, consumed, strict=True):
        assert {k: v for k, v in got.headers.items() if k not in served} == stored.headers
        assert got.raw_headers.startswith(b"NATS/1.0\r\n")


def test_reading_from_a_position(nats_url, log):
    everything = asyncio.run(rows_of_stream_reader(nats_url, log, events_of(log)))
    after = everything[20][0]

    rows = asyncio.run(rows_of_wire_reader(nats_url, log, events_of(log), after=after))

    assert rows == everything[21:]


def test_reading_one_subject(nats_url, log):
    subject = f"{log}.events.{token(ODD_ID)}"

    rows = asyncio.run(rows_of_wire_reader(nats_url, log, subject))

    assert rows == asyncio.run(rows_of_stream_reader(nats_url, log, subject))
    assert [(row[1], row[2], row[3]) for row in rows] == [
        (str(ODD_ID), 1, ODD_TOPIC), (str(ODD_ID), 2, "case.noted")]
    assert rows[1][4] == BIG_BODY


@pytest.mark.parametrize("chunk", [1, 13, 4096])
def test_messages_split_anywhere_across_socket_reads(nats_url, log, chunk):
    # Socket reads of a byte, or a few: every control line, header block and body (the
    # large one above all) arrives in pieces.
    subject = f"{log}.events.{token(ODD_ID)}"
    rows = asyncio.run(rows_of_wire_reader(nats_url, log, subject, chunk=chunk))

    assert rows == asyncio.run(rows_of_wire_reader(nats_url, log, subject))
    assert rows[1][4] == BIG_BODY


def test_whole_log_read_in_small_socket_reads(nats_url, log):
    rows = asyncio.run(rows_of_wire_reader(nats_url, log, events_of(log), batch=1000,
                                           chunk=1000))

    assert rows == asyncio.run(rows_of_stream_reader(nats_url, log, events_of(log)))


def test_reading_ends_at_the_head_and_picks_up_what_is_written_later(nats_url, unique_name):
    stream = unique_name("WIRE")
    first, later = uuid.uuid4(), uuid.uuid4()
    record(nats_url, stream, [event(first, 1), event(first, 2)])

    async def scenario() -> tuple[list, list, list, list]:
        connection = await nats.connect(nats_url)
        try:
            async with WireReader(connection, stream, subject=events_of(stream)) as reader:
                written = await reader.read_rows(10)
                at_head = await reader.read_rows(10)
                await asyncio.to_thread(record, nats_url, stream,
                                        [event(later, 1), event(later, 2), event(later, 3)])
                picked_up = await reader.read_rows(2)
                rest = await reader.read_rows(2)
                return written, at_head, picked_up, rest + await reader.read_rows(2)
        finally:
            await connection.close()

    written, at_head, picked_up, rest = asyncio.run(scenario())

    assert [(row[1], row[2]) for row in written] == [(str(first), 1), (str(first), 2)]
    assert at_head == []
    assert [(row[1], row[2]) for row in picked_up] == [(str(later), 1), (str(later), 2)]
    assert [(row[1], row[2]) for row in rest] == [(str(later), 3)]
    assert [row[0] for row in written + picked_up + rest] == [1, 2, 3, 4, 5]


# A server that requires a user and password, and lets this user subscribe under its own
# inbox prefix only: the raw connection must sign in and subscribe as nats-py does.

USER, ADMIN, PASSWORD, PREFIX = "reader", "admin", "s3cret-Pa55", "_INBOX.reader"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> EmbeddedNatsServer:
    users = {"users": [
        {"user": USER, "password": PASSWORD, "permissions": {
            "publish": {"allow": [">"]}, "subscribe": {"allow": [f"{PREFIX}.>"]}}},
        # The start-up probe and the log's writer, with nats-py's default inbox prefix.
        {"user": ADMIN, "password": PASSWORD}]}
    config = EmbeddedServerConfig(
        data_dir=tmp_path_factory.mktemp("guarded"), port=free_port(), server_name="guarded",
        extra_config=f"authorization {orjson.dumps(users).decode()}\n",
        probe_userinfo=f"{ADMIN}:{PASSWORD}")
    with EmbeddedNatsServer(config) as server:
        yield server


def with_user(server_url: str, user: str = USER, password: str = PASSWORD) -> str:
    return server_url.replace("nats://", f"nats://{user}:{password}@")


def test_a_server_requiring_a_user_and_password(guarded):
    url = with_user(guarded.url)
    stream = f"GUARDED_{uuid.uuid4().hex[:8]}"
    record(with_user(guarded.url, ADMIN), stream,
           [event(uuid.uuid4(), version) for version in (1, 2, 3)])

    rows = asyncio.run(rows_of_wire_reader(url, stream, events_of(stream), batch=2,
                                           inbox_prefix=PREFIX))

    assert [row[2] for row in rows] == [1, 2, 3]


def test_wrong_credentials_are_refused_clearly_and_leave_no_consumer(guarded):
    url = with_user(guarded.url)
    stream = f"GUARDED_{uuid.uuid4().hex[:8]}"
    record(with_user(guarded.url, ADMIN), stream, [event(uuid.uuid4(), 1)])

    async def scenario() -> tuple[str, int]:
        connection = await nats.connect(url, inbox_prefix=PREFIX)
        try:
            # nats-py's own user and password options win over the URL's, for nats-py as for
            # the wire reader: here they are wrong ones, met after nats-py has signed in.
            connection.options["user"], connection.options["password"] = USER, "wrong"
            with pytest.raises(WireRefused) as refused:
                await WireReader(connection, stream, subject=events_of(stream)).start()
            info = await connection.jetstream().stream_info(stream)
            return str(refused.value), info.state.consumer_count
        finally:
            await connection.close()

    message, consumers = asyncio.run(scenario())

    assert "authorization violation" in message.lower()
    assert consumers == 0


@pytest.fixture(scope="module")
def token_server(tmp_path_factory) -> EmbeddedNatsServer:
    config = EmbeddedServerConfig(
        data_dir=tmp_path_factory.mktemp("token"), port=free_port(), server_name="token",
        extra_config=f'authorization {{ token: "{PASSWORD}" }}\n', probe_userinfo=PASSWORD)
    with EmbeddedNatsServer(config) as server:
        yield server


def test_a_token_alone_in_the_url_is_a_token(token_server):
    url = token_server.url.replace("nats://", f"nats://{PASSWORD}@")
    stream = f"TOKEN_{uuid.uuid4().hex[:8]}"
    record(url, stream, [event(uuid.uuid4(), 1)])

    assert [row[0] for row in asyncio.run(rows_of_wire_reader(url, stream,
                                                               events_of(stream)))] == [1]


# A server that offers TLS: the wire reader does not do TLS, and says so before anything else.

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> tuple[EmbeddedNatsServer, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the TLS server's certificate")
    directory = tmp_path_factory.mktemp("tls")
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    # Plain clients allowed too, so that the start-up probe needs no certificate.
    config = EmbeddedServerConfig(
        data_dir=directory, port=free_port(), server_name="tls",
        extra_config=f'tls {{ cert_file: "{certificate}", key_file: "{key}" }}\n'
                     "allow_non_tls: true\n")
    with EmbeddedNatsServer(config) as server:
        yield server, certificate


def test_a_tls_url_is_unavailable(tls_server):
    server, certificate = tls_server

    async def scenario() -> str:
        context = ssl.create_default_context(cafile=str(certificate))
        connection = await nats.connect(server.url.replace("nats://", "tls://"), tls=context)
        try:
            with pytest.raises(WireUnavailable) as unavailable:
                await WireReader(connection, "ANY").start()
            return str(unavailable.value)
        finally:
            await connection.close()

    assert "tls" in asyncio.run(scenario()).lower()


def test_a_pull_the_server_refuses_fails_with_its_status(nats_url, log):
    async def scenario() -> str:
        connection = await nats.connect(nats_url)
        try:
            async with WireReader(connection, log, subject=events_of(log)) as reader:
                assert len(await reader.read_rows(3)) == 3
                # The consumer gone (as when the server dropped it for inactivity): nothing
                # answers the pull but the server, with 503 No Responders.
                await connection.jetstream().delete_consumer(log, reader._name)
                with pytest.raises(ReadFailed) as failed:
                    await reader.read_rows(3)
                return str(failed.value)
        finally:
            await connection.close()

    assert asyncio.run(scenario()).startswith(f"pull from {log}: 503")
