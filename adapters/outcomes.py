"""The first outcome of every command, kept in a JetStream key-value bucket.

A command sent again with the same id (a retry after a timeout, a redelivery from the intake,
a restart of the service) is answered from here: exactly the first reply, nothing written.
The fingerprint of the first payload tells a retry from a different command reusing the id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

BUCKET = "ONESTOP_COMMANDS"


@dataclass(frozen=True)
class FirstOutcome:
    fingerprint: str
    reply: dict[str, Any]


class CommandOutcomes:
    def __init__(self, bucket: KeyValue) -> None:
        self._bucket = bucket

    @classmethod
    async def open(cls, connection: Client, bucket: str = BUCKET,
                   replicas: int = 1) -> CommandOutcomes:
        js = connection.jetstream()
        try:
            return cls(await js.key_value(bucket))
        except BucketNotFoundError:
            return cls(await js.create_key_value(KeyValueConfig(
                bucket=bucket, history=1, storage=StorageType.FILE, replicas=replicas,
                description="first outcome of every onestop command")))

    @staticmethod
    def _key(principal: str, command_id: str) -> str:
        return f"{principal}.{command_id}"

    async def first(self, principal: str, command_id: str) -> FirstOutcome | None:
        try:
            entry = await self._bucket.get(self._key(principal, command_id))
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        stored = orjson.loads(entry.value)
        return FirstOutcome(stored["fingerprint"], stored["reply"])

    async def record(self, principal: str, command_id: str, fingerprint: str,
                     reply: dict[str, Any]) -> FirstOutcome:
        """Keeps this outcome unless another was kept first, and returns the one kept."""
        value = orjson.dumps({"fingerprint": fingerprint, "reply": reply})
        try:
            await self._bucket.create(self._key(principal, command_id), value)
        except KeyWrongLastSequenceError:
            kept = await self.first(principal, command_id)
            if kept is not None:
                return kept
        return FirstOutcome(fingerprint, reply)
