"""Anchors: the heads of the signed checkpoints, kept by an auditor outside the store.

Whoever can rewrite the store can cut the log back to an earlier checkpoint, or rewrite all
that follows one and drop the later checkpoints: what remains verifies, intact, as far as it
goes. What such a rewrite cannot change is a copy of the checkpoints' heads that the auditor
took earlier and keeps where the operator of the store cannot write. `onestop audit anchor`
appends to that copy every checkpoint signed since the last one kept (its signature checked
first), one JSON line each; `onestop audit verify --anchor FILE` then requires the log to
still hash, at each kept checkpoint's last position, to the head kept for it, and to reach
the position of the last one.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

from Crypto.PublicKey import ECC

from adapters.audit.checkpoints import Checkpoint, MalformedCheckpoint, checkpoint_subject
from adapters.jetstream.log import StreamLog


class AnchorError(Exception):
    """The anchor file cannot be read or written; the message says which line or why."""


@dataclass(frozen=True)
class Anchor:
    stream: str
    position: int  # of the checkpoint message in the log
    last: int  # the last position it signs
    head: str  # the chain hash there, hex
    key_id: str
    signed_at: str


def read_anchors(path: Path) -> list[Anchor]:
    """The anchors kept in `path`, in order; none for a file not there yet."""
    if not path.exists():
        return []
    anchors = []
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise AnchorError(f"cannot read {path} ({error.strerror})") from None
    for number, line in enumerate(lines, start=1):
        try:
            anchors.append(Anchor(**json.loads(line)))
        except (ValueError, TypeError) as error:
            raise AnchorError(f"{path}, line {number}: not an anchor ({error})") from None
    return anchors


async def new_anchors(log: StreamLog, stream: str, public_key: ECC.EccKey,
                      after: int) -> AsyncIterator[Anchor | str]:
    """Each checkpoint after position `after`, as an anchor if its signature is the
    service's, else as the line that says why it is not kept."""
    async for stored in log.read(checkpoint_subject(stream), after + 1, page=100):
        try:
            checkpoint = Checkpoint.parse(stored.body)
        except MalformedCheckpoint as error:
            yield f"checkpoint at position {stored.sequence}: unreadable ({error}); not kept"
            continue
        if not checkpoint.signature_valid(public_key):
            yield f"checkpoint at position {stored.sequence}: bad signature; not kept"
            continue
        yield Anchor(stream, stored.sequence, checkpoint.last, checkpoint.head,
                     checkpoint.key_id, checkpoint.signed_at)


def keep(path: Path, anchors: list[Anchor]) -> None:
    """Appends, flushed to disk: an anchor the auditor was told of is not lost."""
    try:
        with path.open("a") as file:
            for anchor in anchors:
                file.write(json.dumps(asdict(anchor), sort_keys=True) + "\n")
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        raise AnchorError(f"cannot write {path} ({error.strerror})") from None
