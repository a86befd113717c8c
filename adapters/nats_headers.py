"""nats-py's parser of a message's header block, and its writer of one, each giving the same
bytes and errors as nats-py's own without its slowest steps.

Reading. Measured (2-core machine): reading an aggregate of 1,000 events took 60 ms, and
nats-py's `Client._parse_header_lines` was four fifths of it — for each header name, a
generator over its characters asking `isspace()` (some 19 names a message, 380,000 steps a
read). Asking `str.split()`, which splits on exactly the characters `isspace()` accepts,
gives the same answer at C speed.

Writing. Each event the service writes carries a dozen headers, and nats-py's
`Client._send_publish` checks every name with a regular expression and cleans every value
with `str.translate`, a byte array extended piece by piece: 20 µs a publish, about a tenth of
the command process's CPU under `onestop bench bus`. Names already found valid are not
checked again, and the block is made in one join; 2 µs. A value with a line break in it, a
name not seen before or anything not a string takes nats-py's own steps.

Everything else is nats-py's own code, line for line in behaviour: tests/adapters/
test_nats_headers.py holds each to nats-py's output on any headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nats import errors
from nats.aio.client import Client
from nats.protocol import command

CRLF = b"\r\n"
_ORIGINAL = Client._parse_header_lines
_ORIGINAL_SEND = Client._send_publish
# nats-py's own rules (nats/aio/client.py): a name is a token; a value's CR and LF become
# spaces, so that no value can end the header block early.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LINE_BREAKS = str.maketrans({"\r": " ", "\n": " "})
_VALID_NAMES: set[str] = set()  # names found valid as given (no spaces around them)
MAX_VALID_NAMES = 1024  # bounded: a caller could make up names without end


def parse_header_lines(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.split(CRLF):
        if not line:
            continue
        name, separator, value = line.partition(b":")
        if not separator:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if key and key.split() != [key]:  # whitespace inside a name: not a header
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def header_block(headers: Mapping[str, Any]) -> bytes:
    """The header block nats-py would send for `headers`; its BadHeaderError for a bad name."""
    for name, value in headers.items():
        if name not in _VALID_NAMES or value.__class__ is not str:
            return _header_block_checked(headers)
    text = "".join([f"{name}: {value.strip()}\r\n" for name, value in headers.items()])
    if text.count("\n") != len(headers) or text.count("\r") != len(headers):
        return _header_block_checked(headers)  # a line break inside a value
    return b"NATS/1.0\r\n" + text.encode() + CRLF


def _header_block_checked(headers: Mapping[str, Any]) -> bytes:
    """nats-py's steps, one header at a time."""
    block = bytearray(b"NATS/1.0\r\n")
    for name, value in headers.items():
        key = name.strip()
        if not key:
            continue
        if not _NAME.fullmatch(key):
            raise errors.BadHeaderError(key)
        if key == name and len(_VALID_NAMES) < MAX_VALID_NAMES:
            _VALID_NAMES.add(name)
        block += key.encode() + b": " + value.strip().translate(_LINE_BREAKS).encode() + CRLF
    return bytes(block + CRLF)


async def _send_publish(self: Client, subject: str, reply: str, payload: bytes,
                        payload_size: int, headers: Mapping[str, Any] | None) -> None:
    # nats-py's Client._send_publish, with the header block made by `header_block`.
    if subject == "":
        raise errors.BadSubjectError
    if headers is None:
        publish = command.pub_cmd(subject, reply, payload)
    else:
        publish = command.hpub_cmd(subject, reply, header_block(headers), payload)
    self.stats["out_msgs"] += 1
    self.stats["out_bytes"] += payload_size
    await self._send_command(publish)
    if self._flush_queue is not None and self._flush_queue.empty():
        await self._flush_pending()


def install() -> None:
    """nats-py's clients, in this process, parse headers with `parse_header_lines` and write
    them with `header_block`."""
    Client._parse_header_lines = staticmethod(parse_header_lines)
    Client._send_publish = _send_publish


def original(raw: bytes) -> dict[str, str]:
    """nats-py's own parser, for the tests that compare the two."""
    return _ORIGINAL(raw)


async def original_send_publish(client: Client, subject: str, reply: str, payload: bytes,
                                headers: Mapping[str, Any] | None) -> None:
    """nats-py's own `_send_publish`, for the tests that compare the two."""
    await _ORIGINAL_SEND(client, subject, reply, payload, len(payload), headers)
