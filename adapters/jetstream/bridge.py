"""The async/sync bridge: the library is synchronous, nats-py is asyncio.

Each factory owns one event loop on a daemon thread and one NATS connection on it; recorders
submit coroutines to that loop and block on the result. Closing the factory drains the
connection, stops the loop and joins the thread, so many factories leave nothing behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from eventsourcing.persistence import OperationalError
from nats.aio.client import Client

from adapters.logs import connection_callbacks
from adapters.nats_address import connect_options, redacted
from adapters.tasks import stopped

log = logging.getLogger(__name__)
T = TypeVar("T")


class NatsBridge:
    def __init__(self, url: str, *, name: str, credentials: str | None = None,
                 connect_timeout: float = 5.0) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{name}",
                                        daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self.connection: Client = self.run(
                self._connect(name, credentials, connect_timeout), timeout=connect_timeout + 2
            )
        except BaseException as error:
            self._stop_loop()
            if isinstance(error, OperationalError):
                raise
            raise OperationalError(f"cannot connect to NATS at {redacted(url)}: "
                                   f"{error!r}") from error

    async def _connect(self, name: str, credentials: str | None, timeout: float) -> Client:
        # Reconnects are expected when the server restarts: log them, never crash, and not
        # every attempt of a long outage.
        on_error, on_reconnected = connection_callbacks(log, name)

        try:
            # Reconnect forever once connected, but fail a first connect within the timeout.
            return await asyncio.wait_for(nats.connect(
                **connect_options(self.url),
                name=name,
                user_credentials=credentials,
                connect_timeout=timeout,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                # No buffering while disconnected: a write we gave up on must not be
                # flushed to the server later, after we reported it as failed.
                pending_size=0,
                error_cb=on_error,
                reconnected_cb=on_reconnected,
            ), timeout)
        except Exception as error:
            raise OperationalError(f"cannot connect to NATS at {redacted(self.url)}: "
                                   f"{error!r}") from None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._closed:
            coroutine.close()
            raise OperationalError("the NATS connection of this factory is closed")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("blocking call made from the NATS loop thread")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.CancelledError:
            raise OperationalError("the NATS connection of this factory was closed") from None

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.run(self._close_connection(), timeout=10)
        except Exception as error:  # closing must not mask the caller's own error
            log.warning("closing NATS connection: %r", error)
        finally:
            self._closed = True
            self._stop_loop()

    async def _close_connection(self) -> None:
        # Callers still blocked in run() (e.g. a reader thread nobody joined) get an error
        # instead of waiting forever on a loop that is about to stop.
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        await asyncio.gather(*(stopped(task) for task in others))
        if not self.connection.is_closed:
            await self.connection.close()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
