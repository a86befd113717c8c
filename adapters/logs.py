"""Logging what keeps happening without flooding the log: the first time, then once a minute
with how many times it happened meanwhile (a server away for ten minutes reconnects thousands
of times; an operator needs to read that it is away, not each attempt)."""

from __future__ import annotations

import logging
import time

EVERY_SECONDS = 60.0


class Throttled:
    def __init__(self, log: logging.Logger, every: float = EVERY_SECONDS) -> None:
        self.log, self.every = log, every
        self._last: dict[str, float] = {}  # what -> when it was last logged
        self._since: dict[str, int] = {}  # what -> times it happened without being logged

    def warning(self, what: str, message: str, *arguments: object) -> None:
        """Logs `message` unless `what` was logged less than a minute ago."""
        now = time.monotonic()
        last = self._last.get(what)
        if last is not None and now - last < self.every:
            self._since[what] = self._since.get(what, 0) + 1
            return
        skipped = self._since.pop(what, 0)
        self._last[what] = now
        if skipped:
            message += f" (and {skipped} more time(s) in the last minute)"
        self.log.warning(message, *arguments)

    def clear(self, what: str | None = None) -> None:
        """It stopped happening (None: nothing is happening): the next time is logged at
        once."""
        if what is None:
            self._last.clear()
            self._since.clear()
        else:
            self._last.pop(what, None)
            self._since.pop(what, None)


def connection_callbacks(log: logging.Logger, name: str):
    """nats-py's `error_cb` and `reconnected_cb` for a connection that reconnects for good:
    an outage logged once a minute, and when it is over."""
    throttled = Throttled(log)

    async def on_error(error: Exception) -> None:
        throttled.warning(type(error).__name__, "NATS connection %s: %r", name, error)

    async def on_reconnected() -> None:
        log.warning("NATS connection %s: connected again", name)
        throttled.clear()

    return on_error, on_reconnected
