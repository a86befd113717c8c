"""Reading a stream in bulk over a raw NATS connection, for rebuilds that read the whole log.

`StreamReader` (reader.py) reads through nats-py, which spends some 13-16 µs of CPU on every
message: its protocol parser, a `Msg` object, a dict of every header, a callback. A rebuild
reads hundreds of thousands of messages on a two-core machine, where that CPU is taken from
the views being applied. `WireReader` reads the same ephemeral pull consumer, but speaks the
NATS client protocol itself on a connection of its own and cuts each message out of a large
buffer with `bytes.find` and slices: per message it makes the row and nothing else. On
200,000 events of some 900 bytes: 3.3 µs of CPU per event, against 18 for StreamReader and
`row_of_headers`.

What it keeps from nats-py: the consumer is created and deleted through the given nats-py
connection's JetStream API, and the raw connection goes to the server that connection is on,
with the same credentials (user and password, or a token) and under the same inbox prefix
(a principal may only subscribe under its own). What it does not do: TLS, nkeys or JWT
credentials, reconnecting. It raises `WireUnavailable` where it cannot connect, so that a
caller can fall back on `StreamReader`.

One read at a time. A read that fails (ReadFailed: a timeout, the server's refusal, the
connection lost) or is cancelled leaves the reader unusable: close it, and start another
after the last position read. Between reads nothing is in flight (a read takes in all of its
own pull), and the server's PINGs wait for the next read: a reader left idle for minutes is
dropped, as its consumer is after INACTIVE_SECONDS anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from typing import Self

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.integrity.seal import SealedStream
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.stream_reader import INACTIVE_SECONDS, Message, ReadFailed

# An event as read (adapters/views/follower.py): position, originator id, version, topic,
# body. Spelled out, not imported: the views import this package, not the other way round.
Row = tuple[int, str, int, str, bytes]

CHUNK = 1 << 20  # bytes asked of the socket at a time: each read serves many messages
CLIENT_NAME = "onestop-wire-reader"

_CRLF = b"\r\n"
# Header names as they are found in a header block: after the end of the line before them.
_SUBJECT = b"\r\nce-subject:"
_VERSION = b"\r\n" + ce.VERSION.encode() + b":"
_TOPIC = b"\r\n" + ce.TOPIC.encode() + b":"
_STATUS_LINE = b"NATS/1.0 "  # a status message's header block: "NATS/1.0 404 No Messages"
# One header line, for `read`: a name (printable ASCII, no colon), a colon, the value. What
# bytes.strip() removes in nats-py; str.strip() alone would also take Unicode spaces.
_HEADER_LINE = re.compile(r"^[ \t\x0b\x0c]*([!-9;-~]+)[ \t\x0b\x0c]*:([^\r\n]*)", re.MULTILINE)
_WHITESPACE = " \t\n\r\x0b\x0c"


class WireUnavailable(Exception):
    """The raw connection cannot be made here (TLS, nkeys, refused...): use StreamReader."""


class WireRefused(WireUnavailable):
    """The server answered the raw connection's CONNECT (or its subscription) with -ERR."""


class WireReader:
    """Reads `stream` (only `subject`, if given: wildcards allowed) from a position on, as
    `StreamReader` does, at a fraction of its CPU. One read at a time."""

    def __init__(self, connection: Client, stream: str, timeout: float = 30.0,
                 subject: str | None = None, chunk: int = CHUNK) -> None:
        self.connection, self.stream, self.timeout = connection, stream, timeout
        self.subject = subject or f"{stream}.>"
        self.chunk = chunk
        self._name: str | None = None
        self._inbox = connection.new_inbox().encode()
        self._pulls = itertools.count(1)
        self._next: bytes = b""  # the subject a pull is published on
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        # What has been read from the socket and not parsed yet: _buffer[_position:].
        self._buffer = b""
        self._position = 0
        self._reading = False  # a read under way, or one that was cut short
        self.sealed: SealedStream | None = None
        self.passed_over: list[tuple[int, str]] = []  # by the last read_rows

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _connect_in_time(self) -> None:
        """Its own connection, within the timeout; nothing left open when it fails."""
        try:
            await asyncio.wait_for(self._connect(), self.timeout)
        except TimeoutError:
            await self._hang_up()
            raise WireUnavailable(
                f"no answer from nats-server to the wire reader within {self.timeout} s"
            ) from None
        except BaseException:
            await self._hang_up()
            raise

    async def start(self, after: int = 0) -> None:
        # The connection first: when it cannot be made, no consumer is left behind.
        await self._connect_in_time()
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE, filter_subject=self.subject, mem_storage=True,
            num_replicas=1, inactive_threshold=INACTIVE_SECONDS,
            **({"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": after + 1}
               if after else {"deliver_policy": DeliverPolicy.ALL}))
        try:
            info = await self.connection.jetstream().add_consumer(self.stream, config,
                                                                   timeout=self.timeout)
        except BaseException:
            await self._hang_up()
            raise
        self._name = info.name
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self._name}".encode()

    async def close(self) -> None:
        await self._hang_up()
        if self._name is not None:
            name, self._name = self._name, None
            # Gone already, or the connection is: the server drops it anyway when inactive.
            with contextlib.suppress(Exception):
                await self.connection.jetstream().delete_consumer(self.stream, name)

    async def read_rows(self, limit: int, sealed: SealedStream | None = None) -> list[Row]:
        """The next events as rows, at most `limit`; none at the head of the stream. A row is
        what `row_of_headers` in adapters/views/follower.py makes of the message. With
        `sealed`, a message the service did not write (seal.py) is no row but is listed in
        `passed_over`, as (sequence, subject); checking seals costs every header's parse."""
        self.sealed = sealed
        return await self._read(limit, True)

    async def read(self, limit: int) -> list[Message]:
        """The next messages, at most `limit`, with all their headers, as StreamReader reads
        them; none at the head of the stream. Slower than `read_rows`."""
        return await self._read(limit, False)

    async def _read(self, limit: int, rows: bool) -> list:
        if limit < 1:
            return []
        if self._writer is None or self._name is None:
            raise ReadFailed("the wire reader is not started, or closed")
        if self._reading:
            # Either two reads at once, or one cut short by a timeout or a cancellation in
            # the middle of a pull: what is left in the buffer can no longer be trusted.
            raise ReadFailed("the wire reader is busy, or broken by a read cut short: close it")
        self._reading = True
        try:
            found = await asyncio.wait_for(self._pull(limit, rows), self.timeout)
        except TimeoutError:
            raise ReadFailed(f"no end of a pull from {self.stream} within {self.timeout} s"
                             ) from None
        self._reading = False
        return found

    async def _pull(self, limit: int, rows: bool) -> list:
        # Each pull has a reply subject of its own, so that the end of an earlier pull (one
        # that stopped at `limit`) is told from the end of this one.
        reply = b"%s.%d" % (self._inbox, next(self._pulls))
        request = b'{"batch":%d,"no_wait":true}' % limit
        self._writer.write(b"PUB %s %s %d\r\n%s\r\n" % (self._next, reply, len(request), request))
        found: list = []
        append = found.append
        sealed, self.passed_over = (self.sealed if rows else None), []
        passed_over = self.passed_over
        buffer, position = self._buffer, self._position
        read, read_exactly = self._reader.read, self._reader.readexactly
        while len(found) + len(passed_over) < limit:  # the pull asked for `limit` messages
            end_of_line = buffer.find(_CRLF, position)
            if end_of_line < 0:  # a control line not all here: read on
                more = await read(self.chunk)
                if not more:
                    raise ReadFailed(f"nats-server closed the wire reader's connection "
                                     f"while reading {self.stream}")
                buffer, position = buffer[position:] + more, 0
                continue
            headered = buffer.startswith(b"HMSG ", position)
            if headered or buffer.startswith(b"MSG ", position):
                # HMSG <subject> <sid> [<reply>] <header bytes> <total bytes>, or
                # MSG <subject> <sid> [<reply>] <total bytes> for one without headers.
                arguments = buffer[position + (5 if headered else 4):end_of_line].split(b" ")
                start = end_of_line + 2
                end = start + int(arguments[-1])
                if end + 2 > len(buffer):
                    # The message is not all here: wait for exactly the rest of it. Parsing
                    # its control line again afterwards costs nothing next to reading it.
                    buffer = buffer[position:] + await read_exactly(end + 2 - len(buffer))
                    position = 0
                    continue
                position = end + 2
                if not headered:
                    # Stored without headers: no event of ours is, a foreign message may be.
                    if len(arguments) == 4:
                        sequence = _stream_sequence(arguments[2])
                        if sealed is not None and sealed.foreign(
                                sequence, arguments[0].decode(), None, buffer[start:end]):
                            passed_over.append((sequence, arguments[0].decode()))
                        elif rows:
                            raise ReadFailed(f"message {sequence} of {self.stream} has no "
                                             "headers")
                        else:
                            append(Message(sequence, arguments[0].decode(), None,
                                           buffer[start:end]))
                    continue
                headers_end = start + int(arguments[-2])
                if len(arguments) == 5:
                    sequence = _stream_sequence(arguments[2])
                    if sealed is not None and sealed.foreign(
                            sequence, arguments[0].decode(),
                            _headers(buffer[start:headers_end]), buffer[headers_end:end]):
                        passed_over.append((sequence, arguments[0].decode()))
                    elif rows:
                        # Three searches in the header block, no dict of all its headers.
                        version = buffer.rfind(_VERSION, start, headers_end) + len(_VERSION)
                        if version < len(_VERSION):
                            raise _missing(sequence, ce.VERSION)
                        append((sequence,
                                _text(buffer, _SUBJECT, start, headers_end, sequence),
                                int(buffer[version:buffer.find(_CRLF, version, headers_end)]),
                                _text(buffer, _TOPIC, start, headers_end, sequence),
                                buffer[headers_end:end]))
                    else:
                        block = buffer[start:headers_end]
                        append(Message(sequence, arguments[0].decode(), _headers(block),
                                       buffer[headers_end:end], block))
                elif headers_end == end and buffer.startswith(_STATUS_LINE, start):
                    # No reply subject and no body: a status, the end of a pull.
                    if arguments[0] != reply:
                        continue  # the end of an earlier pull, which had all it asked for
                    status = buffer[start + len(_STATUS_LINE):buffer.find(_CRLF, start)]
                    code, _, description = status.decode("utf-8", "replace").partition(" ")
                    if code in ("404", "408"):  # nothing more: the head of the stream
                        break
                    raise ReadFailed(f"pull from {self.stream}: {code} {description}")
                # Anything else sent to the inbox is not a stream's message: skipped.
            else:
                line = buffer[position:end_of_line]
                position = end_of_line + 2
                if line == b"PING":  # the server checks the connection is alive
                    self._writer.write(b"PONG\r\n")
                elif line.startswith(b"-ERR"):
                    raise ReadFailed(f"nats-server, reading {self.stream}: "
                                     f"{line[5:].decode('utf-8', 'replace')}")
                # INFO (the cluster changed), PONG, +OK: nothing to do.
        self._buffer, self._position = buffer, position
        return found

    async def _connect(self) -> None:
        connection = self.connection
        url = connection.connected_url
        if url is None:
            raise WireUnavailable("the nats-py connection is not connected")
        if url.scheme not in ("nats", ""):
            raise WireUnavailable(f"the wire reader speaks plain TCP only, not {url.scheme}://")
        if connection.options.get("tls") is not None:
            raise WireUnavailable("the wire reader does not do TLS")
        if any(getattr(connection, signing, None) is not None for signing in (
                "_user_credentials", "_nkeys_seed", "_nkeys_seed_str", "_signature_cb")):
            raise WireUnavailable("the wire reader does not sign in with nkeys or JWTs")
        host, port = url.hostname, url.port or 4222
        try:
            # A limit above the chunk: the socket is not paused before a chunk is ready. It
            # bounds the INFO line too.
            self._reader, self._writer = await asyncio.open_connection(
                host, port, limit=max(2 * self.chunk, CHUNK))
        except OSError as error:
            raise WireUnavailable(f"the wire reader cannot reach {host}:{port}: {error}"
                                  ) from error
        line = await self._reader.readline()
        try:
            info = json.loads(line[5:]) if line.startswith(b"INFO ") else None
        except ValueError:
            info = None
        if not isinstance(info, dict):
            raise WireUnavailable(f"not a NATS server's greeting: {line[:80]!r}")
        if info.get("tls_required"):
            raise WireUnavailable("the server requires TLS, which the wire reader does not do")
        if not info.get("headers"):
            raise WireUnavailable("the server does not support headers")
        options = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1, "lang": "python3", "version": "onestop",
                   "name": CLIENT_NAME, **_credentials(connection)}
        # CONNECT, the subscription and a PING at once: the PONG says both were taken, an
        # -ERR before it says why not (credentials, or a subscription not allowed).
        self._writer.write(b"CONNECT %s\r\nSUB %s.* 1\r\nPING\r\n"
                           % (json.dumps(options).encode(), self._inbox))
        while True:
            line = await self._reader.readline()
            if not line:
                raise WireRefused("nats-server closed the wire reader's connection")
            if line.startswith(b"-ERR"):
                raise WireRefused(f"nats-server refused the wire reader: "
                                  f"{line[5:].strip().decode('utf-8', 'replace')}")
            if line.startswith(b"PONG"):
                return
            if line.startswith(b"PING"):
                self._writer.write(b"PONG\r\n")

    async def _hang_up(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        self._buffer, self._position, self._reading = b"", 0, False
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _credentials(connection: Client) -> dict[str, str]:
    # As nats-py chooses them: options first, then the URL, where a lone name is a token.
    options = connection.options

    def value(option: object) -> object:
        return option() if callable(option) else option

    if options.get("user") is not None and options.get("password") is not None:
        return {"user": value(options["user"]), "pass": value(options["password"])}
    if options.get("token") is not None:
        return {"auth_token": value(options["token"])}
    url = connection.connected_url
    if url is not None and url.username is not None:
        if url.password is None:
            return {"auth_token": url.username}
        return {"user": url.username, "pass": url.password}
    return {}


def _stream_sequence(reply: bytes) -> int:
    # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>,
    # or with <domain>.<account hash> after ACK and a token at the end.
    tokens = reply.split(b".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])


def _text(buffer: bytes, name: bytes, start: int, end: int, sequence: int) -> str:
    """The value of header `name` in the header block buffer[start:end] as row_of_headers has
    it: the last header of that name (nats-py keeps the last one), stripped, unquoted."""
    at = buffer.rfind(name, start, end)
    if at < 0:
        raise _missing(sequence, name[2:-1].decode())
    at += len(name)
    value = buffer[at:buffer.find(_CRLF, at, end)].strip().decode("utf-8", "replace")
    return ce.decode_header_value(value) if "%" in value else value


def _missing(sequence: int, header: str) -> ReadFailed:
    return ReadFailed(f"message {sequence} has no {header} header: not an event")


def _headers(block: bytes) -> dict[str, str]:
    """All the headers of a block (its first line is NATS/1.0), as nats-py parses them: names
    of printable ASCII with no space in them, values stripped, the last of a name kept."""
    return {name: value.strip(_WHITESPACE)
            for name, value in _HEADER_LINE.findall(block.decode("utf-8", "replace"))}


class DirectWireReader(WireReader):
    """Reads `stream` by batched direct gets on the wire reader's raw connection, for a reader
    that may create no consumer on it (an auditor). Slower than a consumer; what it adds over
    nats-py's direct gets is each message's header block as it came, for a verifier to check
    byte for byte. The server adds its own headers to a direct get's answer (the stored
    sequence and subject among them: chain.SERVED_HEADERS)."""

    def __init__(self, connection: Client, stream: str, timeout: float = 30.0,
                 subject: str | None = None) -> None:
        super().__init__(connection, stream, timeout, subject)
        self._from = 1  # the next position asked for

    async def start(self, after: int = 0) -> None:
        await self._connect_in_time()
        self._from = after + 1

    async def close(self) -> None:
        await self._hang_up()

    async def read(self, limit: int) -> list[Message]:
        if self._writer is None:
            raise ReadFailed("the wire reader is not started, or closed")
        try:
            found = await asyncio.wait_for(self._get(limit), self.timeout)
        except TimeoutError:
            raise ReadFailed(f"no end of a direct get from {self.stream} within "
                             f"{self.timeout} s") from None
        if found:
            self._from = found[-1].sequence + 1
        return found

    async def _get(self, limit: int) -> list[Message]:
        reply = b"%s.%d" % (self._inbox, next(self._pulls))
        request = json.dumps({"seq": self._from, "batch": limit,
                              "next_by_subj": self.subject}).encode()
        self._writer.write(b"PUB $JS.API.DIRECT.GET.%s %s %d\r\n%s\r\n" % (
            self.stream.encode(), reply, len(request), request))
        found: list[Message] = []
        while True:
            line = await self._reader.readline()
            if not line:
                raise ReadFailed(f"nats-server closed the wire reader's connection while "
                                 f"reading {self.stream}")
            if line.startswith((b"HMSG ", b"MSG ")):
                arguments = line.rstrip(_CRLF).split(b" ")
                header_bytes = int(arguments[-2]) if line.startswith(b"HMSG ") else 0
                total = int(arguments[-1])
                payload = await self._reader.readexactly(total + 2)
                if arguments[1] != reply or not header_bytes:
                    continue  # the end of an earlier request, or not a stream's message
                block, body = payload[:header_bytes], payload[header_bytes:total]
                if block.startswith(_STATUS_LINE):  # 204: the end of the batch; 404: none
                    status = block[len(_STATUS_LINE):block.find(_CRLF)].decode("utf-8",
                                                                             "replace")
                    if status[:3] in ("204", "404", "408"):
                        return found
                    raise ReadFailed(f"direct get from {self.stream}: {status}")
                headers = _headers(block)
                found.append(Message(int(headers["Nats-Sequence"]), headers["Nats-Subject"],
                                     headers, body, block))
            elif line.startswith(b"PING"):
                self._writer.write(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                raise ReadFailed(f"nats-server, reading {self.stream}: "
                                 f"{line[5:].decode('utf-8', 'replace').strip()}")
