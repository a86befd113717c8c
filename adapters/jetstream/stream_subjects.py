"""Subject names. A stream `S` owns `S.events.<aggregate>`, `S.tracking.<upstream>` and
`S.checkpoints` (the signed checkpoints of its hash chain, adapters/audit); its
snapshots live in the stream `S_SNAPSHOTS` on `S.snapshots.<aggregate>`. Stream names cannot
contain dots, so two stores never share a subject."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from uuid import UUID

_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENCODED_MARK = "~"


def token(identifier: UUID | str) -> str:
    """One subject token for an id; ids with dots, spaces or wildcards are base64url-encoded."""
    text = str(identifier)
    if _PLAIN_TOKEN.fullmatch(text):
        return text
    encoded = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return _ENCODED_MARK + encoded


def check_stream_name(name: str) -> str:
    if not _STREAM_NAME.fullmatch(name):
        raise ValueError(
            f"invalid NATS_STREAM {name!r}: use 1-64 letters, digits, '-' or '_'"
        )
    return name


@dataclass(frozen=True)
class StreamSubjects:
    stream: str
    kind: str  # "events" or "snapshots"

    @property
    def events(self) -> str:
        return f"{self.stream}.{self.kind}"

    @property
    def all_events(self) -> str:
        return f"{self.events}.>"

    def for_aggregate(self, originator_id: UUID | str) -> str:
        return f"{self.events}.{token(originator_id)}"

    def for_tracking(self, application_name: str) -> str:
        return f"{self.stream}.tracking.{token(application_name)}"

    @property
    def all_tracking(self) -> str:
        return f"{self.stream}.tracking.>"

    @property
    def checkpoints(self) -> str:
        return f"{self.stream}.checkpoints"
