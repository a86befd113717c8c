"""The service's own NATS connections: they reconnect for as long as the service runs."""

from __future__ import annotations

import logging
import os

import nats
from nats.aio.client import Client

from adapters.logs import connection_callbacks
from adapters.nats_address import connect_options

log = logging.getLogger(__name__)


async def connect_for_good(url: str, name: str, **options) -> Client:
    """A connection that reconnects for as long as the service runs, logging an outage once
    a minute rather than each attempt (nats-py gives up after 60 attempts by default)."""
    on_error, on_reconnected = connection_callbacks(log, name)
    return await nats.connect(**connect_options(url), name=name, max_reconnect_attempts=-1,
                              reconnect_time_wait=reconnect_wait(), error_cb=on_error,
                              reconnected_cb=on_reconnected, **options)


def reconnect_wait() -> float:
    """Seconds between two attempts to reconnect (tests make it short, to show a service
    outlasting the 60 attempts nats-py would make by default)."""
    return float(os.environ.get("ONESTOP_RECONNECT_WAIT") or 0.5)


async def subscriptions_in_effect(connection: Client) -> None:
    """Returns once the server holds every subscription made on `connection` so far: a
    request that anyone sends the next moment finds them.

    One `flush()` does not promise it. nats-py queues a SUB for its flusher task but writes
    the PING straight to the socket, so the PING can go ahead of the SUB and its PONG come
    back before the server has read the SUB: a request sent then is answered "no responders"
    (2 fresh servers in 100, and most of the time behind a large publish). Waiting for the
    first PONG lets the flusher run, as asyncio runs every ready task before it reads the
    socket again; the second PING is written behind the SUB."""
    await connection.flush()
    await connection.flush()
