"""Our header parser and nats-py's give the same headers for any header block: names with
whitespace in or around them, non-ASCII names and values, lines without a colon, empty
lines, the status line. Our header writer and nats-py's send the same bytes, or raise the
same error, for any headers: the same names and values, and values with line breaks, names
with spaces, empty names, names that are not tokens, values that are not strings."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client

import adapters.nats_address  # noqa: F401  (every connection's module installs it)
from adapters.nats_headers import (
    _send_publish,
    header_block,
    original,
    original_send_publish,
    parse_header_lines,
)

PIECES = st.sampled_from([b"Nats-Msg-Id", b"ce-type", b"A B", b" x", b"y\t", b"\x1cz", b"\xff",
                          b"", b":", b" ", b"\t", b"\x0b", b"v\xc3\xa9", b"\xe4\xb8\xad",
                          b"NATS/1.0", b"503", b"\r", b"\n"])
LINE = st.lists(PIECES, max_size=6).map(b"".join)
BLOCK = st.lists(LINE, max_size=12).map(b"\r\n".join)


@given(BLOCK)
def test_any_header_block_parses_as_nats_py_parses_it(raw):
    assert parse_header_lines(raw) == original(raw)


def test_the_clients_of_a_process_that_connects_through_our_addresses_use_it():
    assert Client._parse_header_lines is parse_header_lines
    headers = parse_header_lines(b"NATS/1.0\r\nOnestop-Topic: case.submitted\r\nBad Name: x\r\n"
                                 b"Nats-Sequence:\t42 \r\n")
    assert headers == {"Onestop-Topic": "case.submitted", "Nats-Sequence": "42"}


NAMES = st.sampled_from(["Nats-Msg-Id", "ce-type", "Onestop-Seal", " ce-id", "ce-time ", "",
                         "  ", "A B", "a:b", "caf\u00e9", "x\r", "X", "x"])
VALUES = st.one_of(
    st.lists(st.sampled_from(["v", "case.submitted", " ", "\t", "\r", "\n", "\r\n",
                              "\u00e9", "\u4e2d", ":", ""]), max_size=5).map("".join),
    st.sampled_from([1, b"bytes", None]))
HEADERS = st.one_of(st.none(), st.dictionaries(NAMES, VALUES, max_size=6))


def sent_by(send, headers) -> bytes | tuple[type, tuple]:
    """What `send` hands to the connection for a message with `headers`, or what it raised."""
    client = Client()
    sent: list[bytes] = []

    async def capture(command: bytes, priority: bool = False) -> None:
        sent.append(bytes(command))

    client._send_command = capture
    client._flush_queue = None
    try:
        asyncio.run(send(client, "onestop.events.x", "_INBOX.1", b"{}", headers))
    except Exception as error:  # noqa: BLE001 - compared with what nats-py raises
        return type(error), error.args
    return b"".join(sent)


async def ours(client, subject, reply, payload, headers):
    await _send_publish(client, subject, reply, payload, len(payload), headers)


@given(HEADERS)
def test_any_headers_are_sent_as_nats_py_sends_them(headers):
    expected = sent_by(original_send_publish, headers)
    assert sent_by(ours, headers) == expected
    # Again, now that the names it found valid are not checked again.
    assert sent_by(ours, headers) == expected


def test_the_clients_of_a_process_that_connects_through_our_addresses_write_with_it():
    assert Client._send_publish is _send_publish
    headers = {"Onestop-Topic": "case.submitted", "ce-subject": "line\r\nbreak "}
    header_block(headers)
    assert header_block(headers) == (b"NATS/1.0\r\nOnestop-Topic: case.submitted\r\n"
                                     b"ce-subject: line  break\r\n\r\n")
