"""Telling the views that the log has grown: one empty message per interval at most.

The views of every service process subscribe to it (`subjects.LOG_ADVANCED`) instead of to
every event; under load one ring serves dozens of commands.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client

from bus.contract import subjects

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.005


class LogBell:
    def __init__(self, connection: Client, loop: asyncio.AbstractEventLoop) -> None:
        self.connection = connection
        self.loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self._ringing: set[asyncio.Task] = set()  # kept: the loop holds tasks weakly
        self._stopped = False

    def ring(self) -> None:
        """Called on `loop` after a write; the message goes out a moment later."""
        if self._timer is None and not self._stopped:
            self._timer = self.loop.call_later(INTERVAL_SECONDS, self._send)

    def _send(self) -> None:
        self._timer = None
        task = self.loop.create_task(self._publish())
        self._ringing.add(task)
        task.add_done_callback(self._ringing.discard)

    async def stop(self) -> None:
        """On `loop`, after the last write: a ring that was due goes out now, and none
        after. A ring still to come when the loop closed was a task never run."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            await self._publish()
        await asyncio.gather(*self._ringing, return_exceptions=True)

    async def _publish(self) -> None:
        try:
            await self.connection.publish(subjects.LOG_ADVANCED, b"")
        except Exception:  # the views still look every second on their own
            log.debug("could not ring the log bell", exc_info=True)
