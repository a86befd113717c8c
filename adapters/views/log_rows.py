"""The log's messages as the views read them: rows (adapters/views/rows.py) made from a stored
message's headers, without decoding its body. Shared by the follower and the rebuild, which
read the log in their own ways; the rebuild's worker processes get the rows themselves and
never import this (nor NATS)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import Stored
from adapters.views.rows import Row, logged_from_row
from projections.logged import Logged


def row_of(stored: Stored) -> Row:
    return row_of_headers(stored.sequence, stored.headers, stored.body)


def row_of_headers(position: int, headers: Mapping[str, str], body: bytes) -> Row:
    return (position, _unquoted(headers["ce-subject"]), int(headers[ce.VERSION]),
            _unquoted(headers[ce.TOPIC]), body)


def _unquoted(value: str) -> str:
    # Ids and topics are seldom quoted: skip the decoder when there is nothing to decode.
    return ce.decode_header_value(value) if "%" in value else value


def logged(stored: Stored) -> Logged:
    return logged_from_row(row_of(stored))
