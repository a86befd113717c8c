"""The first outcome of refused commands, kept in a JetStream key-value bucket.

A command sent again with the same id (a retry after a timeout, a redelivery from the intake,
a restart of the service) gets exactly the first reply, and nothing is written. For a refusal
that reply is kept here; an applied command's is in the log, on the events it wrote (see
bus/service/dispatch.py). The fingerprint of the first payload tells a retry from a different command
reusing the id.

The bucket is an ordinary KV bucket (`nats kv get` works on it), but read and written through
`StreamLog`, as the event log is: a direct get of the key's last message, and a publish that
the server accepts only if the key has no message yet.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError

from adapters.integrity.seal import PASSED_OVER, Seal, sealed_metadata
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import Conflict, Outgoing, Stored, StreamLog
from adapters.jetstream.streams import configured_replicas

log = logging.getLogger(__name__)

BUCKET = "ONESTOP_COMMANDS"


@dataclass(frozen=True)
class FirstOutcome:
    fingerprint: str
    reply: dict[str, Any]


class CommandOutcomes:
    def __init__(self, log: StreamLog, bucket: str) -> None:
        self._log = log
        self._bucket = bucket
        # Lookups asked for in one turn of the event loop, answered by one direct get: every
        # command asks, and under load dozens arrive together.
        self._asked: dict[str, list[asyncio.Future[Stored | None]]] = {}
        self._lookups: set[asyncio.Task] = set()

    @classmethod
    async def open(cls, connection: Client, bucket: str = BUCKET, replicas: int | None = None,
                   request_timeout: float = 5.0, seal: Seal | None = None) -> CommandOutcomes:
        js = connection.jetstream()
        try:
            await js.key_value(bucket)
        except BucketNotFoundError:
            await _create_bucket(js, bucket, replicas or configured_replicas(), seal)
        log = StreamLog(connection, f"KV_{bucket}", request_timeout=request_timeout, seal=seal)
        await log.start()
        return cls(log, bucket)

    def _look_up_all_asked(self) -> None:
        asked, self._asked = self._asked, {}
        task = asyncio.get_running_loop().create_task(self._look_up(asked))
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _look_up(self, asked: dict[str, list[asyncio.Future[Stored | None]]]) -> None:
        try:
            found = await self._log.last_of_each(list(asked))
        except BaseException as error:
            for answers in asked.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for subject, answers in asked.items():
            for answer in answers:
                if not answer.done():
                    answer.set_result(found.get(subject))

    def _subject(self, principal: str, command_id: str) -> str:
        return f"$KV.{self._bucket}.{principal}.{command_id}"

    async def first(self, principal: str, command_id: str) -> FirstOutcome | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Stored | None] = loop.create_future()
        if not self._asked:
            loop.call_soon(self._look_up_all_asked)
        self._asked.setdefault(self._subject(principal, command_id), []).append(answer)
        stored = await answer
        if stored is None or not stored.body:
            return None
        if stored.foreign:  # decided and answered afresh, as if the key held nothing
            PASSED_OVER.note("command path", self._log.stream, stored.sequence, stored.subject)
            return None
        return _kept(stored)

    async def record(self, principal: str, command_id: str, fingerprint: str,
                     reply: dict[str, Any]) -> FirstOutcome:
        """Keeps this outcome unless another was kept first, and returns the one kept."""
        value = orjson.dumps({"fingerprint": fingerprint, "reply": reply})
        subject = self._subject(principal, command_id)
        try:
            await self._log.publish(self._log.sealed_message(Outgoing(
                subject, {ce.EXPECTED_LAST_SUBJECT_SEQUENCE: "0"}, value)))
        except Conflict:
            kept = await self.first(principal, command_id)
            if kept is not None:
                return kept
        return FirstOutcome(fingerprint, reply)


async def _create_bucket(js: JetStreamContext, bucket: str, replicas: int,
                         seal: Seal | None) -> None:
    """The stream of a KV bucket as `create_key_value` makes it, but marked sealed from its
    first entry on (seal.py): the service may not change a stream once it is made."""
    await js.add_stream(StreamConfig(
        name=f"KV_{bucket}", description="first outcome of every onestop command",
        subjects=[f"$KV.{bucket}.>"], allow_direct=True, allow_rollup_hdrs=True,
        deny_delete=True, discard=DiscardPolicy.NEW, duplicate_window=120, max_consumers=-1,
        max_msgs=-1, max_msgs_per_subject=1, num_replicas=replicas,
        storage=StorageType.FILE, metadata=sealed_metadata(seal)))


def _kept(stored: Stored) -> FirstOutcome | None:
    """The outcome kept under a key, or None for an entry the service cannot have written:
    the command is then decided and answered afresh, never left without a reply."""
    try:
        kept = orjson.loads(stored.body)
        fingerprint, reply = kept["fingerprint"], kept["reply"]
        if isinstance(fingerprint, str) and isinstance(reply, dict) and "ok" in reply:
            return FirstOutcome(fingerprint, reply)
    except (orjson.JSONDecodeError, TypeError, KeyError):
        pass
    log.warning("outcome bucket: %s holds no outcome the service wrote; it is ignored",
                stored.subject)
    return None
