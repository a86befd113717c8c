"""The hash chain over the event log: every message of the event stream, in sequence order.

    h_0 = 32 zero bytes
    h_n = SHA-256(h_(n-1) ‖ n as 8 bytes ‖ SHA-256(canonical message n))

The canonical message is the subject without the stream's own first token, the headers
sorted by name and the body, each length-prefixed so that no two messages share an encoding.
Left out are, by their exact names (`UNHASHED`, the one list of them), only the headers that
instruct the server at write time (the expectations and the atomic batch's) and those it adds
when serving a message: the same message read by a consumer or by a direct get, or faithfully
copied into another stream (a restored store, say), hashes the same. Any other header is
hashed, whatever its prefix: `Nats-Expected-Note` is no instruction, so it is part of the
message. Hashing each message on its own first lets a verifier tell a message that was
modified from one that was removed, inserted or moved (see verify.py).

What the canonical form cannot see, a verifier that reads the stored header block itself
checks apart (`header_form_problem`): a block that parses to the headers hashed but says more
(a name twice, a line parsers read differently) is a changed message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

GENESIS = bytes(32)
# What the server acts on when a message is written (JetStream's publish expectations and
# atomic batches): a copy into another stream cannot carry them unchanged.
WRITE_TIME_HEADERS = frozenset({
    "Nats-Expected-Stream", "Nats-Expected-Last-Msg-Id", "Nats-Expected-Last-Sequence",
    "Nats-Expected-Last-Subject-Sequence", "Nats-Expected-Last-Subject-Sequence-Subject",
    "Nats-Batch-Id", "Nats-Batch-Sequence", "Nats-Batch-Commit",
})
# What the server adds when it serves a stored message (direct gets, batches of them).
SERVED_HEADERS = frozenset({"Nats-Stream", "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp",
                            "Nats-Num-Pending", "Nats-Last-Sequence"})
UNHASHED = WRITE_TIME_HEADERS | SERVED_HEADERS


def kept(name: str) -> bool:
    return name not in UNHASHED


def canonical(subject: str, headers: Mapping[str, str] | None, body: bytes) -> bytes:
    _, _, tail = subject.partition(".")
    parts = [tail.encode()]
    names = sorted(name for name in (headers or ()) if kept(name))
    parts.append(len(names).to_bytes(4, "big"))
    for name in names:
        parts += [name.encode(), headers[name].encode()]
    parts.append(body)
    return b"".join(len(part).to_bytes(8, "big") + part for part in parts)


def digest(subject: str, headers: Mapping[str, str] | None, body: bytes) -> bytes:
    return hashlib.sha256(canonical(subject, headers, body)).digest()


def link(previous: bytes, sequence: int, message_digest: bytes) -> bytes:
    return hashlib.sha256(previous + sequence.to_bytes(8, "big") + message_digest).digest()


# A header line as nats-py writes one: a name of printable ASCII without ':' or space, one
# colon and one space, the value without spaces around it.
_HEADER_LINE = re.compile(rb"([!-9;-~]+): (\S(?:[^\r\n]*\S)?)?")


def header_form_problem(block: bytes) -> str | None:
    """What in a stored header block the canonical form would hide, or None.

    The chain hashes headers as parsed: one value per name, stripped. A block with a name
    twice, or a line a parser reads otherwise than it is stored, would hash the same as a
    block without it, while another client reads it differently (a second `ce-type` before
    the first is what the JavaScript client reads). onestop never writes such a block, so
    finding one is finding a changed message."""
    lines = block.split(b"\r\n")
    if not lines or not lines[0].startswith(b"NATS/1.0"):
        return "no NATS/1.0 header block"
    seen: set[bytes] = set()
    for line in lines[1:]:
        if not line:
            continue
        matched = _HEADER_LINE.fullmatch(line)
        if matched is None:
            return f"a header line not in the form onestop writes: {line[:60]!r}"
        name = matched.group(1)
        if name in seen and name.decode() not in SERVED_HEADERS:
            return f"the header {name.decode()} twice"
        seen.add(name)
    return None
