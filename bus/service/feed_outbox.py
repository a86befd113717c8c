"""What one round of the feed publisher sends, held until the round has decided all of it,
then sent feed by feed: a feed's messages in log order, many at a time as one atomic batch.

One at a time, each message waited for its own acknowledgement, which the server gives
after its fsync: the feeds took a backlog in at about 1,700 messages a second and fell
behind a burst of commands. An atomic batch is stored whole or not at all, at the cost of
about one fsync, so a feed never holds a later message without the earlier ones of its
batch; if a batch fails, the round fails, and the next one asks each feed what it holds
(bus/service/feeds.py) before it sends anything again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from adapters.jetstream.log import Outgoing, StreamLog

# A batch costs about what a few single publishes cost; below this, one at a time.
AS_ONE_BATCH_FROM = 4
# The server takes at most 1,000 messages in a batch (jetstream.limits.batch).
BATCH_MESSAGES = 500


class FeedOutbox:
    def __init__(self) -> None:
        self._by_stream: dict[str, list[Outgoing]] = {}

    def add(self, stream: str, message: Outgoing) -> None:
        self._by_stream.setdefault(stream, []).append(message)

    async def send(self, log: StreamLog,
                   takes_batches: Callable[[str], Awaitable[bool]]) -> None:
        """Every message held, each feed's in the order added, the feeds side by side;
        raises if any was not stored, once every feed has stopped: in each, what came before
        the failure stored and nothing after it sent. A feed stream that takes no batches
        (made by an older onestop) is sent one message at a time."""
        in_batches = {stream: await takes_batches(stream) for stream in self._by_stream}
        sent = await asyncio.gather(*(self._send_to_one_feed(log, messages, in_batches[stream])
                                      for stream, messages in self._by_stream.items()),
                                    return_exceptions=True)
        self._by_stream.clear()
        for outcome in sent:
            if isinstance(outcome, BaseException):
                raise outcome

    @staticmethod
    async def _send_to_one_feed(log: StreamLog, messages: list[Outgoing],
                                in_batches: bool) -> None:
        for start in range(0, len(messages), BATCH_MESSAGES):
            chunk = messages[start:start + BATCH_MESSAGES]
            if in_batches and len(chunk) >= AS_ONE_BATCH_FROM:
                await log.publish_batch(chunk)
            else:
                for message in chunk:
                    await log.publish(message)
