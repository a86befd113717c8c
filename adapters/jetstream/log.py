"""JetStream operations the recorders are built from, all running on the bridge's loop.

Writes are a plain publish for one message and an atomic batch for several; both are requests
whose reply is the stream's ack. The log of record has one writer that decides what to write
(writer.py, the server's expected-sequence checks); the trail and the feeds use the same two
operations on streams of their own.

Reads are batched direct gets on a subject filter, paged: the reader of one aggregate, one
checkpoint, one page of the trail, or the log from a position. Why it exists beside the
others: it needs no consumer, so nothing to create before a read or delete after it, and a
read of a few messages costs one round trip. The whole log in bulk is read faster by a
consumer (stream_reader.py, and wire.py for rebuilds); new events as they come, by a push
subscription (subscription.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoRespondersError,
    OutboundBufferLimitError,
    StaleConnectionError,
)
from nats.errors import TimeoutError as NatsTimeoutError

from adapters.integrity.seal import Seal, SealedStream, sealed_stream
from adapters.jetstream.recent import RecentMessages

# "wrong last sequence" on one server, "in-flight write to the subject" on a cluster,
# and a duplicate message id inside an atomic batch (a committed batch sent again).
CONFLICT_CODES = frozenset({10071, 10164, 10201})
# Too many open batches: wait and send again.
BUSY_CODES = frozenset({10210})

TRANSIENT_ERRORS = (
    NatsTimeoutError,
    asyncio.TimeoutError,
    NoRespondersError,
    ConnectionClosedError,
    ConnectionReconnectingError,
    StaleConnectionError,
    OutboundBufferLimitError,
)


class Conflict(Exception):
    """The server refused a write because a check failed (usually optimistic concurrency)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{description} ({code})")
        self.code = code


class Busy(Exception):
    """The server asked us to come back later."""


class Rejected(Exception):
    """The server refused a write for a reason that retrying will not change."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{description} ({code})")
        self.code = code


@dataclass(frozen=True)
class Outgoing:
    subject: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Stored:
    subject: str
    sequence: int
    headers: Mapping[str, str]
    body: bytes
    # Not written by the service: no valid seal, in a log read with its seal (seal.py).
    foreign: bool = False


def _parse_ack(reply: Msg) -> dict:
    if not reply.data:
        return {}
    ack = orjson.loads(reply.data)
    error = ack.get("error")
    if error:
        code = int(error.get("err_code") or 0)
        description = str(error.get("description") or "")
        if code in CONFLICT_CODES:
            raise Conflict(code, description)
        if code in BUSY_CODES:
            raise Busy(description)
        if int(error.get("code") or 0) == 503:
            raise NoRespondersError
        raise Rejected(code, description)
    return ack


class ReplyInbox:
    """One wildcard subscription for the replies to all our requests.

    nats-py's own `request` draws a random token from the OS and arms a timer for every
    call; on the command path, with three requests per command, that was a fifth of the
    service's CPU. Here a reply subject is a counter, and one sweep every tenth of a second
    times out whatever has waited too long.
    """

    SWEEP_SECONDS = 0.1

    def __init__(self, connection: Client) -> None:
        self._connection = connection
        self._prefix = connection.new_inbox()
        self._queues: dict[str, asyncio.Queue[Msg]] = {}
        # reply subject -> (the future its reply completes, when to give up on it)
        self._waiting: dict[str, tuple[asyncio.Future[Msg], float]] = {}
        self._counter = itertools.count()
        self._subscription = None
        self._sweeper: asyncio.Task | None = None

    async def start(self) -> None:
        self._subscription = await self._connection.subscribe(
            f"{self._prefix}.*", cb=self._route, pending_msgs_limit=-1, pending_bytes_limit=-1
        )
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.SWEEP_SECONDS)
            now = loop.time()
            expired = [subject for subject, (_, deadline) in self._waiting.items()
                       if deadline <= now]
            for subject in expired:
                answer, _ = self._waiting.pop(subject)
                if not answer.done():
                    answer.set_exception(asyncio.TimeoutError())

    async def _route(self, message: Msg) -> None:
        waiting = self._waiting.pop(message.subject, None)
        if waiting is not None:
            if not waiting[0].done():
                waiting[0].set_result(message)
            return
        queue = self._queues.get(message.subject)
        if queue is not None:
            queue.put_nowait(message)

    async def request(self, subject: str, body: bytes, *, timeout: float,
                      headers: Mapping[str, str] | None = None) -> Msg:
        """One request, one reply; raises NoRespondersError or asyncio.TimeoutError."""
        reply_subject = f"{self._prefix}.{next(self._counter)}"
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Msg] = loop.create_future()
        self._waiting[reply_subject] = (answer, loop.time() + timeout)
        try:
            await self._connection.publish(subject, body, reply=reply_subject,
                                           headers=dict(headers) if headers else None)
            reply = await answer
        finally:
            self._waiting.pop(reply_subject, None)
        if not reply.data and (reply.headers or {}).get("Status") == "503":
            raise NoRespondersError
        return reply

    def open(self) -> tuple[str, asyncio.Queue[Msg]]:
        subject = f"{self._prefix}.{next(self._counter)}"
        queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._queues[subject] = queue
        return subject, queue

    def close(self, subject: str) -> None:
        self._queues.pop(subject, None)


class StreamLog:
    def __init__(self, connection: Client, stream: str, *, request_timeout: float,
                 seal: Seal | None = None, recent: RecentMessages | None = None) -> None:
        self.connection = connection
        self.stream = stream
        self.request_timeout = request_timeout
        self._inbox = ReplyInbox(connection)
        self._direct_get = f"$JS.API.DIRECT.GET.{stream}"
        # With a seal, what is read is told foreign or not (Stored.foreign), and what is
        # written through `sealed` is sealed.
        self.seal = seal
        self.sealed: SealedStream | None = None
        # Shared with the other readers of this stream in the process (recent.py).
        self.recent = recent

    async def start(self) -> None:
        await self._inbox.start()
        if self.seal is not None:
            self.sealed = await sealed_stream(self.connection.jetstream(), self.stream,
                                              self.seal)

    async def close(self) -> None:
        """Stops listening for replies (the connection stays open: it is not this log's)."""
        await self._inbox.stop()

    def sealed_message(self, message: Outgoing) -> Outgoing:
        """`message` with its seal, when this log has one."""
        if self.seal is None:
            return message
        return Outgoing(message.subject,
                        self.seal.stamped(message.subject, message.headers, message.body),
                        message.body)

    # Writing.

    async def publish(self, message: Outgoing) -> int:
        reply = await self._inbox.request(
            message.subject, message.body, headers=message.headers, timeout=self.request_timeout
        )
        return int(_parse_ack(reply)["seq"])

    async def publish_batch(self, messages: Sequence[Outgoing]) -> list[int]:
        """All or nothing; returns the consecutive stream sequences the batch was given."""
        batch_id = uuid4().hex
        last = len(messages)
        for number, message in enumerate(messages, start=1):
            headers = dict(message.headers)
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(number)
            if number == last:
                headers["Nats-Batch-Commit"] = "1"
            if number == 1 or number == last:
                # The first message must be a request (the server answers "staged" or an
                # error); the commit's reply is the ack of the whole batch.
                reply = await self._inbox.request(
                    message.subject, message.body, headers=headers, timeout=self.request_timeout
                )
                ack = _parse_ack(reply)
            else:
                await self.connection.publish(message.subject, message.body, headers=headers)
        end = int(ack["seq"])
        count = int(ack.get("count", last))
        return list(range(end - count + 1, end + 1))

    # Reading.

    async def last(self, subject: str, stream: str | None = None) -> Stored | None:
        """The last message on `subject`: in this stream, or in another `stream` (never
        checked for a seal: it is this stream's)."""
        direct_get = self._direct_get if stream is None else f"$JS.API.DIRECT.GET.{stream}"
        reply = await self._inbox.request(
            direct_get, orjson.dumps({"last_by_subj": subject}),
            timeout=self.request_timeout,
        )
        return self._stored_or_none(reply, sealed=stream is None)

    async def count_after(self, subject: str, sequence: int) -> int:
        """How many messages on `subject` come after `sequence`: counted by the server (the
        pending count that ends a batch), none of them sent."""
        reply_subject, queue = self._inbox.open()
        try:
            await self.connection.publish(
                self._direct_get,
                orjson.dumps({"seq": sequence + 1, "next_by_subj": subject, "batch": 1}),
                reply=reply_subject,
            )
            found = 0
            while True:
                message = await self._next(queue)
                status = (message.headers or {}).get("Status")
                if status == "404":  # nothing after it
                    return 0
                if status == "204":
                    return found + int(message.headers.get("Nats-Num-Pending", "0"))
                if status:
                    raise Rejected(int(status), str(message.headers.get("Description")))
                found += 1
        finally:
            self._inbox.close(reply_subject)

    async def last_of_each(self, subjects: Sequence[str]) -> dict[str, Stored]:
        """The last message of each of `subjects` that has one, in one direct get."""
        found: dict[str, Stored] = {}
        reply_subject, queue = self._inbox.open()
        try:
            await self.connection.publish(
                self._direct_get,
                orjson.dumps({"multi_last": list(subjects), "batch": len(subjects)}),
                reply=reply_subject,
            )
            while True:
                message = await self._next(queue)
                status = (message.headers or {}).get("Status")
                if status in ("204", "404"):  # end of the batch; nothing at all
                    return found
                if status:
                    raise Rejected(int(status), str(message.headers.get("Description")))
                stored = self._stored(message)
                found[stored.subject] = stored
        finally:
            self._inbox.close(reply_subject)

    async def _next(self, queue: asyncio.Queue[Msg]) -> Msg:
        # Most messages of a page are already here: a timed wait per message (a task and a
        # timer each) cost more than reading them.
        try:
            return queue.get_nowait()
        except asyncio.QueueEmpty:
            return await asyncio.wait_for(queue.get(), self.request_timeout)

    async def read(self, subject: str, start: int = 1, *, page: int = 500,
                   stop: int | None = None, start_time: str | None = None,
                   stream: str | None = None) -> AsyncIterator[Stored]:
        """Messages on `subject` (wildcards allowed) from sequence `start`, in order; or from
        the first the server stored at `start_time` (RFC 3339) or later. Up to `stop`, which
        the server is told too: it looks no further for a page's worth. From this stream,
        or from another `stream` (never checked for a seal: it is this stream's)."""
        if self.recent is not None and start_time is None and stream is None:
            async for stored in self._read_shared(subject, start, page, stop):
                yield stored
            return
        async with aclosing(self.pages(subject, start, page=page, stop=stop,
                                       start_time=start_time, stream=stream)) as pages:
            async for messages, _more in pages:
                for stored in messages:
                    yield stored

    async def pages(self, subject: str, start: int = 1, *, page: int = 500,
                    stop: int | None = None, start_time: str | None = None,
                    stream: str | None = None) -> AsyncIterator[tuple[list[Stored], bool]]:
        """`read`, a batch of the server's at a time, each with whether the server has more
        after it (up to `stop`); the last says it has not. Always from the server."""
        sequence = max(start, 1)
        while stop is None or sequence <= stop:
            messages, more = await self._page(subject, sequence, page, stop, start_time,
                                              stream)
            start_time = None  # the next pages go on from the last message read
            more = more and bool(messages)
            yield messages, more
            if not more:
                return
            sequence = messages[-1].sequence + 1
        yield [], False

    async def _read_shared(self, subject: str, start: int, page: int,
                           stop: int | None) -> AsyncIterator[Stored]:
        """`read`, through what the other readers of this process read last (recent.py);
        it ends, as `read` does, when the server has nothing more."""
        recent, sequence = self.recent, max(start, 1)
        while stop is None or sequence <= stop:
            kept = recent.take(subject, sequence, stop)
            if kept is None:
                async with recent.fetching:
                    kept = recent.take(subject, sequence, stop)  # another read fetched it
                    if kept is None:
                        messages, more = await self._page(subject, sequence, page, stop)
                        recent.keep(subject, sequence, messages)
            if kept is not None:
                found, through = kept
                for stored in found:
                    yield stored
                sequence = through + 1
                continue
            for stored in messages:
                yield stored
            if not more or not messages:
                return
            sequence = messages[-1].sequence + 1

    async def _page(self, subject: str, sequence: int, page: int, stop: int | None,
                    start_time: str | None = None, stream: str | None = None
                    ) -> tuple[list[Stored], bool]:
        """One batched direct get: the messages, and whether the server has more after."""
        direct_get = self._direct_get if stream is None else f"$JS.API.DIRECT.GET.{stream}"
        request: dict[str, Any] = {"start_time": start_time} if start_time is not None else {
            "seq": sequence}
        request.update({"next_by_subj": subject, "batch": page})
        if stop is not None:
            request["up_to_seq"] = stop
        messages: list[Stored] = []
        reply_subject, queue = self._inbox.open()
        try:
            await self.connection.publish(direct_get, orjson.dumps(request),
                                          reply=reply_subject)
            while True:
                message = await self._next(queue)
                status = (message.headers or {}).get("Status")
                if status == "204":  # end of this batch
                    return messages, int(message.headers.get("Nats-Num-Pending", "0")) > 0
                if status == "404":
                    return messages, False
                if status:
                    raise Rejected(int(status), str(message.headers.get("Description")))
                stored = self._stored(message, sealed=stream is None)
                if stop is not None and stored.sequence > stop:
                    return messages, False
                messages.append(stored)
        finally:
            self._inbox.close(reply_subject)

    async def last_sealed(self, subject: str, before: int) -> Stored | None:
        """The last message on `subject` before sequence `before` that is not foreign: read
        in windows growing backwards, as direct gets only read forwards."""
        window = 256
        end = before - 1
        while end >= 1:
            start = max(1, end - window + 1)
            found = None
            async for stored in self.read(subject, start, stop=end):
                if not stored.foreign:
                    found = stored
            if found is not None or start == 1:
                return found
            end, window = start - 1, window * 4
        return None

    def _stored(self, message: Msg, sealed: bool = True) -> Stored:
        headers = message.headers or {}
        subject, sequence = headers["Nats-Subject"], int(headers["Nats-Sequence"])
        check = self.sealed if sealed else None
        foreign = check is not None and check.foreign(sequence, subject, headers, message.data)
        return Stored(subject, sequence, headers, message.data, foreign)

    def _stored_or_none(self, reply: Msg, sealed: bool = True) -> Stored | None:
        status = (reply.headers or {}).get("Status")
        if status == "404":
            return None
        if status:
            raise Rejected(int(status), str(reply.headers.get("Description")))
        return self._stored(reply, sealed)
