"""Messages of a subscription answered side by side.

nats-py awaits a subscription's callback before it delivers the next message: a callback
that answered in place would answer one message at a time. The command and query endpoints
start each answer as a task of its own instead, up to a number at once (beyond that, the
subscription's own buffer holds the messages), and wait for the answers under way when they
stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class SideBySide:
    def __init__(self, at_once: int) -> None:
        self._slots = asyncio.Semaphore(at_once)
        self._under_way: set[asyncio.Task] = set()

    async def start(self, answer: Coroutine[Any, Any, None]) -> None:
        """Starts `answer` once fewer than `at_once` are under way; returns at once then."""
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._run(answer))
        self._under_way.add(task)
        task.add_done_callback(self._under_way.discard)

    async def _run(self, answer: Coroutine[Any, Any, None]) -> None:
        try:
            await answer
        finally:
            self._slots.release()

    async def finished(self) -> None:
        """Returns when every answer started has ended."""
        while self._under_way:
            await asyncio.gather(*self._under_way, return_exceptions=True)
