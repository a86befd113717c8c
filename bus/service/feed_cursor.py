"""How far the department feeds are, kept in a key-value bucket: the one thing that makes them
exactly-once whatever crashes.

The cursor says up to which log position every event is in the feeds (`position`) and,
while a batch is being published, up to where it reaches (`until`) and who publishes it.
A publisher claims a batch before publishing it and marks it done after, both by a write the
server accepts only if nobody wrote in between (the key's revision): so one service at a time
publishes, batch after batch, in log order. A batch claimed but never marked done (its
publisher was killed, or the server went away) is taken up again from `position`, by its
publisher or, once its lease is over, by another; only within that batch can an event
already be in a feed, and only there is each feed asked what it last received.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import orjson
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from adapters.jetstream.streams import configured_replicas

KEY = "position"
LEASE_SECONDS = 30.0  # a claim older than this, not marked done, is anybody's to take up


@dataclass(frozen=True)
class Cursor:
    position: int = 0  # every event up to here is in the feeds
    until: int = 0  # a batch up to here is being published, when above `position`
    holder: str = ""
    claimed_at: float = 0.0  # wall-clock time of the claim

    @property
    def publishing(self) -> bool:
        return self.until > self.position

    def held_by_another(self, me: str) -> bool:
        return (self.publishing and self.holder != me
                and time.time() - self.claimed_at < LEASE_SECONDS)


class Moved(Exception):
    """Another publisher wrote the cursor first: read it again."""


class FeedCursor:
    def __init__(self, connection: Client, bucket: str) -> None:
        self.connection, self.bucket = connection, bucket
        self._kv = None
        self._revision: int | None = None  # of the cursor as last read or written

    async def open(self, replicas: int | None = None) -> None:
        js = self.connection.jetstream()
        try:
            self._kv = await js.key_value(self.bucket)
        except BucketNotFoundError:
            self._kv = await js.create_key_value(KeyValueConfig(
                bucket=self.bucket, history=1, storage=StorageType.FILE,
                replicas=replicas or configured_replicas(),
                description="how far the onestop department feeds are"))

    async def read(self) -> Cursor | None:
        try:
            entry = await self._kv.get(KEY)
        except KeyNotFoundError:
            self._revision = None
            return None
        self._revision = entry.revision
        return Cursor(**orjson.loads(entry.value))

    async def write(self, cursor: Cursor) -> None:
        """Moved if anyone wrote it since this publisher last read or wrote it."""
        value = orjson.dumps(asdict(cursor))
        try:
            if self._revision is None:
                self._revision = await self._kv.create(KEY, value)
            else:
                self._revision = await self._kv.update(KEY, value, last=self._revision)
        except KeyWrongLastSequenceError:  # also what `create` raises for a key that exists
            raise Moved from None
