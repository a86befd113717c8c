"""Pulling a durable consumer whose messages anyone may have written: the intake.

nats-py's `fetch` takes any message with a `Status` header for the server's word about the
pull (404 no messages, 408 timeout, 503 no responders...), so a message a principal published
with `Status: 503` among its headers made the whole batch fail, again at every delivery, and
the valid commands pulled with it were never handled. The server's own status messages carry
no reply subject; every message of the stream comes with its `$JS.ACK` subject to acknowledge
it. This pull tells them apart by that, and nothing else.
"""

from __future__ import annotations

import asyncio
import itertools

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

ACK_PREFIX = "$JS.ACK."


class PullConsumer:
    """Fetches batches of a durable pull consumer: messages of the stream (nats-py `Msg`s,
    with `metadata`, `ack()` and `nak()`), however their headers read."""

    def __init__(self, connection: Client, stream: str, durable: str) -> None:
        self.connection, self.stream, self.durable = connection, stream, durable
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = connection.new_inbox()
        self._pulls = itertools.count(1)
        self._arrived: asyncio.Queue[Msg] = asyncio.Queue()
        self._subscription = None

    async def start(self) -> None:
        self._subscription = await self.connection.subscribe(
            f"{self._inbox}.*", cb=self._arrived.put, pending_msgs_limit=-1,
            pending_bytes_limit=-1)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()

    async def fetch(self, batch: int, expires: float) -> list[Msg]:
        """Up to `batch` messages: those waiting now, or else the first to come within
        `expires` seconds with any that came with it. Messages that arrive for an earlier
        pull (one that ended before they came) are taken too."""
        found = await self._pull({"batch": batch, "no_wait": True}, batch, expires)
        if not found:
            found = await self._pull({"batch": batch, "expires": int(expires * 1e9)}, 1,
                                     expires)
            while len(found) < batch and not self._arrived.empty():
                message = self._arrived.get_nowait()
                if message.reply.startswith(ACK_PREFIX):
                    found.append(message)
        return found

    async def _pull(self, request: dict, enough: int, expires: float) -> list[Msg]:
        reply = f"{self._inbox}.{next(self._pulls)}"
        await self.connection.publish(self._next, orjson.dumps(request), reply=reply)
        found: list[Msg] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + expires + 1.0  # the server ends the pull before this
        while len(found) < enough:
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0)):
                    message = await self._arrived.get()
            except TimeoutError:
                break
            if message.reply.startswith(ACK_PREFIX):
                found.append(message)
            elif message.subject == reply:
                break  # the server's word on this pull (no more messages, expired, ...)
        return found
