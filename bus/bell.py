"""Telling the views that the log has grown: one empty message per interval at most.

The views of every service process subscribe to it (`subjects.LOG_ADVANCED`) instead of to
every event; under load one ring serves dozens of commands.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client

from bus import subjects

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.005


class LogBell:
    def __init__(self, connection: Client, loop: asyncio.AbstractEventLoop) -> None:
        self.connection = connection
        self.loop = loop
        self._due = False

    def ring(self) -> None:
        """Called on `loop` after a write; the message goes out a moment later."""
        if not self._due:
            self._due = True
            self.loop.call_later(INTERVAL_SECONDS, self._send)

    def _send(self) -> None:
        self._due = False
        self.loop.create_task(self._publish())

    async def _publish(self) -> None:
        try:
            await self.connection.publish(subjects.LOG_ADVANCED, b"")
        except Exception:  # the views still look every second on their own
            log.debug("could not ring the log bell", exc_info=True)
