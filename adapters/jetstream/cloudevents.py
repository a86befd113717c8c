"""CloudEvents attributes (binary mode, `ce-` headers) so any NATS client can read the log.

The body stays the event's JSON exactly as stored; what the `eventsourcing` library needs
beyond CloudEvents (its topic and the aggregate version) travels in `Onestop-` headers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import quote, unquote
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

TYPE_PREFIX = "cn.gov.yongchuan.onestop"
SPEC_VERSION = "1.0"

TOPIC = "Onestop-Topic"
VERSION = "Onestop-Version"
# When the service recorded the event; `ce-time` is when it happened, as its sender said.
RECORDED_TIME = "Onestop-Recorded-Time"
TRACKING_ID = "Onestop-Tracking-Id"
# On a snapshot: the event-stream sequence of the version it was taken at.
EVENT_SEQUENCE = "Onestop-Event-Sequence"
MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"

# On every event a command wrote: the command's id and the digest of its request. A command
# sent again is recognised in the log itself, with no second record written per command.
COMMAND = "Onestop-Command"
COMMAND_DIGEST = "Onestop-Command-Digest"

_UNSAFE = re.compile(r"[^a-z0-9]+")
_command: ContextVar[tuple[str, str] | None] = ContextVar("onestop_command", default=None)


@contextmanager
def written_for_command(command_id: str, digest: str) -> Iterator[None]:
    """Events written in this context (this task, and threads it starts) name the command."""
    token = _command.set((command_header_value(command_id), digest))
    try:
        yield
    finally:
        _command.reset(token)


@lru_cache(maxsize=4096)
def cloudevent_type(topic: str) -> str:
    """`cn.gov.yongchuan.onestop.<public_name>.v<class_version>` for our domain events."""
    try:
        event_class = resolve_topic(topic)
    except Exception:  # a topic from another codebase, or from a test
        event_class = None
    public_name = getattr(event_class, "public_name", None)
    if isinstance(public_name, str) and public_name:
        version = getattr(event_class, "class_version", 1) or 1
        return f"{TYPE_PREFIX}.{public_name}.v{version}"
    # No public name: still a stable, dotted, lowercase name, marked as unregistered.
    return f"{TYPE_PREFIX}.unregistered.{_UNSAFE.sub('.', topic.lower()).strip('.')}"


def event_id(stored_event: StoredEvent) -> str:
    """Content-derived: the same event sent twice (a retry) has the same id, so NATS
    de-duplicates it; two different events can never share one."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (str(stored_event.originator_id), str(stored_event.originator_version),
                 stored_event.topic):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(stored_event.state)
    return content_uuid(digest.digest())


def tracking_message_id(stream: str, application_name: str, notification_id: int) -> str:
    digest = hashlib.blake2b(f"{stream}\x00{application_name}\x00{notification_id}".encode(),
                             digest_size=16)
    return content_uuid(digest.digest())


def content_uuid(digest: bytes) -> str:
    """A UUID of version 8 (RFC 9562: laid out by the application) from 16 bytes of a hash:
    122 of its bits, with the version and variant bits set so that any UUID validator
    accepts it, and the same content always gives the same UUID."""
    laid_out = bytearray(digest)
    laid_out[6] = (laid_out[6] & 0x0F) | 0x80  # version 8
    laid_out[8] = (laid_out[8] & 0x3F) | 0x80  # variant 10: RFC 9562
    return str(UUID(bytes=bytes(laid_out)))


def command_header_value(command_id: str) -> str:
    return _header_value(command_id)


def _header_value(value: str) -> str:
    # The NATS binding percent-encodes attribute values; keep plain ASCII readable.
    return quote(value, safe=" !#$&'()*+,-./:;<=>?@[]^_`{|}~")


def decode_header_value(value: str) -> str:
    return unquote(value)


def _times(state: bytes) -> tuple[str, str]:
    """When the event happened and when it was recorded, as its JSON says them; what it does
    not say (an event of another application, a snapshot) is now, as it is being written."""
    data = {}
    if state[:1] == b"{":
        try:
            data = orjson.loads(state)
        except orjson.JSONDecodeError:
            pass
    now = None
    stamps = []
    for name in ("timestamp", "recorded_at"):
        stamp = data.get(name) if isinstance(data, dict) else None
        if isinstance(stamp, dict):  # the library's JSONTranscoder wraps datetimes
            stamp = stamp.get("_data_")
        if not isinstance(stamp, str):
            stamp = now = now or datetime.now(timezone.utc).isoformat()
        stamps.append(stamp)
    return stamps[0], stamps[1]


def event_headers(stored_event: StoredEvent, *, source: str, message_id: str) -> dict[str, str]:
    is_json = stored_event.state[:1] in (b"{", b"[")
    occurred, recorded = _times(stored_event.state)
    headers = {
        MSG_ID: message_id,
        "ce-specversion": SPEC_VERSION,
        "ce-id": message_id,
        "ce-source": _header_value(source),
        "ce-type": cloudevent_type(stored_event.topic),
        "ce-subject": _header_value(str(stored_event.originator_id)),
        "ce-time": occurred,
        "ce-datacontenttype": "application/json" if is_json else "application/octet-stream",
        TOPIC: _header_value(stored_event.topic),
        VERSION: str(stored_event.originator_version),
        RECORDED_TIME: recorded,
    }
    command = _command.get()
    if command is not None:
        headers[COMMAND], headers[COMMAND_DIGEST] = command
    return headers
