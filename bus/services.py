"""What the bus handlers need, built when the service starts and closed when it stops."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client

from adapters.jetstream.onloop import install_cache
from bus.dispatch import Dispatcher, on_loop
from bus.feeds import FeedPublisher, ensure_feed_consumer
from bus.routes import CommandEndpoint
from bus.security import district_principals
from bus.streams import ensure_bus_streams
from domain.application import OneStop

DEFAULT_STREAM = "ONESTOP"
# Aggregates kept in memory between commands (committed state only; see onloop.py).
DEFAULT_AGGREGATE_CACHE = 20_000


@dataclass
class Services:
    nats_url: str
    stream: str = DEFAULT_STREAM
    dispatcher: Dispatcher | None = field(default=None, init=False)
    commands: CommandEndpoint | None = field(default=None, init=False)
    feeds: FeedPublisher | None = field(default=None, init=False)
    connection: Client | None = field(default=None, init=False)
    _app: OneStop | None = field(default=None, init=False)

    def store_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "adapters.jetstream",
            "NATS_URL": self.nats_url,
            "NATS_STREAM": self.stream,
            "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder",
        }

    async def start(self) -> None:
        # The application connects synchronously (its own loop thread): keep it off this loop.
        self._app = await asyncio.to_thread(OneStop, self.store_env())
        install_cache(self._app, int(os.environ.get("ONESTOP_AGGREGATE_CACHE",
                                                    DEFAULT_AGGREGATE_CACHE)))
        self.connection = await nats.connect(self.nats_url, name="onestop-bus")
        await ensure_bus_streams(self.connection.jetstream(), self.principals())
        self.dispatcher = await Dispatcher.open(self._app, bucket=f"{self.stream}_COMMANDS")
        ack_all = await ensure_feed_consumer(self.connection, self.stream)
        self.feeds = FeedPublisher(self.connection, self.stream, ack_all)
        await self.feeds.start()
        self.commands = CommandEndpoint(self.dispatcher)
        await on_loop(self.dispatcher.loop, self.commands.start())

    def principals(self) -> list[str]:
        """Everyone with a feed: the same rule that lets them read it (`Principal.has_feed`)."""
        return [principal.id for principal in district_principals(self._app.reference)
                if principal.has_feed]

    async def stop(self) -> None:
        if self.commands is not None:
            await on_loop(self.dispatcher.loop, self.commands.stop())
        if self.dispatcher is not None:
            await self.dispatcher.close()
        if self.connection is not None:
            await self.connection.drain()
        if self._app is not None:
            await asyncio.to_thread(self._app.close)
