"""Our header parser and nats-py's give the same headers for any header block: names with
whitespace in or around them, non-ASCII names and values, lines without a colon, empty
lines, the status line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client

import adapters.nats_address  # noqa: F401  (every connection's module installs it)
from adapters.nats_headers import original, parse_header_lines

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
