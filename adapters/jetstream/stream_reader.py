"""Reading a stream (every subject, or those one filter names) as fast as nats-py can: the
reader for a whole log with nats-py only (verifying the chain, a rebuild where the wire
reader cannot connect, the benchmarks' reference).

An ephemeral pull consumer delivers each message with its stored headers only and its stream
sequence in the reply subject; batched direct gets would add four `Nats-` headers to parse on
every message. Each pull asks with `no_wait`, so reading ends at the head as it was then.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

INACTIVE_SECONDS = 300.0  # the server drops the consumer of a reader that died


class ReadFailed(Exception):
    pass


@dataclass(frozen=True)
class Message:
    sequence: int
    subject: str
    headers: dict[str, str] | None
    body: bytes
    # The header block as the server sent it (from NATS/1.0 on), where the reader has it
    # (WireReader): what a verifier checks the parsed `headers` against. Not part of what
    # makes two messages the same: readers that have it and readers that do not agree.
    raw_headers: bytes | None = field(default=None, compare=False)


class StreamReader:
    """Reads `stream` (only `subject`, if given: wildcards allowed) from a position on."""

    def __init__(self, connection: Client, stream: str, timeout: float = 30.0,
                 subject: str | None = None) -> None:
        self.connection, self.stream, self.timeout = connection, stream, timeout
        self.subject = subject or f"{stream}.>"
        self._name: str | None = None
        self._subscription = None
        self._inbox = connection.new_inbox()
        self._pulls = itertools.count(1)
        self._reply = ""
        self._messages: list[Message] = []
        self._wanted = 0
        self._done: asyncio.Future | None = None

    async def __aenter__(self) -> StreamReader:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def start(self, after: int = 0) -> None:
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE, filter_subject=self.subject, mem_storage=True,
            num_replicas=1, inactive_threshold=INACTIVE_SECONDS,
            **({"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": after + 1}
               if after else {"deliver_policy": DeliverPolicy.ALL}))
        info = await self.connection.jetstream().add_consumer(self.stream, config,
                                                               timeout=self.timeout)
        self._name = info.name
        self._subscription = await self.connection.subscribe(
            f"{self._inbox}.*", cb=self._on_message, pending_msgs_limit=-1,
            pending_bytes_limit=-1)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
        if self._name is not None:
            try:
                await self.connection.jetstream().delete_consumer(self.stream, self._name)
            except Exception:  # noqa: BLE001 - gone already; the server drops it anyway
                pass

    async def read(self, limit: int) -> list[Message]:
        """The next messages, at most `limit`; none at the head of the stream."""
        self._messages, self._wanted = [], limit
        self._reply = f"{self._inbox}.{next(self._pulls)}"
        self._done = done = asyncio.get_running_loop().create_future()
        await self.connection.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self._name}",
            b'{"batch":%d,"no_wait":true}' % limit, reply=self._reply)
        try:
            await asyncio.wait_for(done, self.timeout)
        except TimeoutError:
            raise ReadFailed(f"no end of a pull from {self.stream} within {self.timeout} s"
                             ) from None
        return self._messages

    async def _on_message(self, message: Msg) -> None:
        if self._done.done():
            return
        headers = message.headers
        if not message.data and headers and "Status" in headers:
            if message.subject != self._reply:
                return  # the end of an earlier pull, which had all it asked for
            if headers["Status"] in ("404", "408"):  # nothing more: the head of the stream
                self._done.set_result(None)
            else:
                self._done.set_exception(ReadFailed(
                    f"pull from {self.stream}: {headers['Status']} {headers.get('Description')}"))
            return
        self._messages.append(Message(_stream_sequence(message.reply), message.subject,
                                      headers, message.data))
        if len(self._messages) >= self._wanted:
            self._done.set_result(None)


def _stream_sequence(reply: str) -> int:
    # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>,
    # or with <domain>.<account hash> after ACK and a token at the end.
    tokens = reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])
