"""The seal on every message the service writes: what tells its own messages from any other.

NATS accounts keep every principal out of the service's streams (bus/contract/identity.py). The seal
is the line behind that one, for the day it fails (a server configured by hand, a leaked
service password, an operator's `nats pub`): an HMAC-SHA-256, under a key only the services
hold, over the canonical form the hash chain hashes (the subject, the headers, the body). A
message in a sealed stream without a valid seal is *foreign*, one the service did not write:
whatever reads the log for the service passes over it with a warning (`PASSED_OVER`, shown by
the health check), instead of acting on it, stopping on it, or answering with it.

The key lies in `<data dir>/audit/seal.key`, beside the signing key, and like it is created
by the first service to start. A stream's metadata says from which sequence on every message
is sealed (`onestop.sealed_from`), set when the service creates the stream. A stream created
before there were seals has none, and its messages are not told apart (with a warning): the
service may not change its own streams' configuration, and an operator who marks such a
stream (`nats stream edit --metadata onestop.sealed_from=<next sequence>`) turns it on.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from adapters.integrity.chain import canonical
from adapters.integrity.keyfiles import create_once

log = logging.getLogger(__name__)

SEAL = "Onestop-Seal"
KEY_NAME = "seal.key"
SEALED_FROM = "onestop.sealed_from"  # the stream metadata
SEAL_KEY_ID = "onestop.seal_key"  # which key seals a stream: its id (metadata)
_VERSION = "1:"  # the seal's format, so that another can follow it
_WHITESPACE = " \t\n\r\x0b\x0c"  # what nats-py strips from a header value it reads


class SealKeyError(Exception):
    """A key file that cannot be read or holds no key."""


class SealKeyMismatch(SealKeyError):
    """The key in the data directory is not the one that sealed the stream: every message
    would be taken for foreign. Restoring the key is the way out, not a new one."""


def key_path(data_dir: Path) -> Path:
    return data_dir / "audit" / KEY_NAME


class Seal:
    """Seals messages, and checks them, under the services' shared key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise SealKeyError("a seal key has at least 32 bytes")
        self._key = key

    def __repr__(self) -> str:  # never the key itself, in a log or a traceback
        return "Seal(<key>)"

    @property
    def key_id(self) -> str:
        """Names the key (a hash of it) without giving it away."""
        return hashlib.sha256(b"onestop seal key id\x00" + self._key).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Seal:
        path = key_path(data_dir)
        if not path.exists():
            create_once(path, secrets.token_hex(32).encode() + b"\n")
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> Seal:
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except (OSError, ValueError) as error:
            raise SealKeyError(f"cannot read the seal key {path} ({type(error).__name__})"
                               ) from None

    def of(self, subject: str, headers: Mapping[str, str] | None, body: bytes) -> str:
        # As a reader will see the headers: stripped values, the seal itself left out.
        seen = {name: value.strip(_WHITESPACE) for name, value in (headers or {}).items()
                if name != SEAL}
        mac = hmac.new(self._key, canonical(subject, seen, body), hashlib.sha256)
        return _VERSION + mac.hexdigest()[:32]  # 128 bits: no one forges that by trying

    def stamped(self, subject: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        """`headers` with the seal of the message they belong to."""
        return {**headers, SEAL: self.of(subject, headers, body)}

    def holds(self, subject: str, headers: Mapping[str, str] | None, body: bytes) -> bool:
        found = (headers or {}).get(SEAL)
        return found is not None and hmac.compare_digest(found,
                                                         self.of(subject, headers, body))


@dataclass(frozen=True)
class SealedStream:
    """What tells a stream's foreign messages: the seal, and where sealing began."""

    seal: Seal
    sealed_from: int = 1

    def foreign(self, sequence: int, subject: str, headers: Mapping[str, str] | None,
                body: bytes) -> bool:
        return sequence >= self.sealed_from and not self.seal.holds(subject, headers, body)


def sealed_metadata(seal: Seal | None) -> dict[str, str]:
    """For a stream being created: every message in it is sealed, with this key."""
    return {} if seal is None else {SEALED_FROM: "1", SEAL_KEY_ID: seal.key_id}


async def sealed_stream(js: JetStreamContext, stream: str, seal: Seal) -> SealedStream | None:
    """The stream's seal check; None for a stream that predates seals. SealKeyMismatch if
    another key sealed it."""
    metadata = (await js.stream_info(stream)).config.metadata or {}
    start = _sealed_from(metadata)
    if start is None:
        log.warning("%s was created before onestop sealed its messages: a message it did not "
                    "write is not told apart there (see adapters/integrity/seal.py)", stream)
        return None
    if metadata.get(SEAL_KEY_ID, seal.key_id) != seal.key_id:
        raise SealKeyMismatch(
            f"the seal key here (id {seal.key_id}) is not the one that sealed the stream "
            f"{stream} (id {metadata[SEAL_KEY_ID]}): restore audit/seal.key from a backup of "
            "the data directory that ran with this log")
    return SealedStream(seal, start)


async def check_seal_key(js: JetStreamContext, stream: str, seal: Seal) -> None:
    """SealKeyMismatch if `stream` exists and another key sealed it."""
    try:
        await sealed_stream(js, stream, seal)
    except NotFoundError:
        pass


async def sealed_from(js: JetStreamContext, stream: str) -> int | None:
    """Where sealing began in `stream`: None if it never did."""
    return _sealed_from((await js.stream_info(stream)).config.metadata or {})


def _sealed_from(metadata: dict[str, str]) -> int | None:
    try:
        return int(metadata[SEALED_FROM])
    except (KeyError, ValueError):
        return None


class PassedOver:
    """The foreign messages this process met and passed over, for the health check."""

    REMEMBERED = 10_000  # positions kept so that each is reported once per reader

    def __init__(self) -> None:
        self.count = 0
        self.last: str | None = None
        self._seen: set[tuple[str, str, int]] = set()
        # Told of each one noted here (a process of followers telling the service's)...
        self.on_note: Callable[[str], None] | None = None
        # ... and asked, for the health check, what others passed over: (count, last).
        self._elsewhere: list[Callable[[], tuple[int, str | None]]] = []

    def also_count(self, source: Callable[[], tuple[int, str | None]]) -> None:
        self._elsewhere.append(source)

    def note(self, reader: str, stream: str, sequence: int, subject: str) -> None:
        key = (reader, stream, sequence)
        if key in self._seen:
            return
        if len(self._seen) >= self.REMEMBERED:
            self._seen.clear()
        self._seen.add(key)
        self.count += 1
        self.last = f"{stream} position {sequence} ({subject}), met by the {reader}"
        if self.on_note is not None:
            self.on_note(self.last)
        log.warning("%s: the message at %s position %s (%s) has no valid seal: onestop did "
                    "not write it; passed over", reader, stream, sequence, subject)

    def warnings(self) -> list[str]:
        count, last = self.count, self.last
        for source in self._elsewhere:
            their_count, their_last = source()
            count, last = count + their_count, last or their_last
        if not count:
            return []
        return [f"{count} time(s) a message that onestop did not write was found in its "
                f"streams and passed over (`onestop audit verify` names them); one: {last}"]


PASSED_OVER = PassedOver()
