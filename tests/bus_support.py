"""The bus application in a test: started and stopped like `onestop up` does it."""

from __future__ import annotations

import asyncio

import nats
import orjson

from bus import subjects
from bus.app import build_bus


class Service:
    """The bus application on its own stream, started and stopped like `onestop up` does."""

    def __init__(self, nats_url: str, stream: str) -> None:
        self.nats_url, self.stream = nats_url, stream
        self.runner = asyncio.Runner()
        self.client = self.runner.run(nats.connect(nats_url))
        self.bus = None
        self.start()

    def start(self) -> None:
        self.bus = build_bus(self.nats_url, stream=self.stream)
        self.runner.run(self.bus.app.start())

    def stop(self) -> None:
        self.runner.run(self.bus.app.stop())

    def request(self, principal: str, name: str, body: dict | bytes) -> dict:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        reply = self.runner.run(self.client.request(subjects.command(principal, name), data,
                                                    timeout=10))
        return orjson.loads(reply.data)

    def log_length(self) -> int:
        return self.bus.services.dispatcher.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        self.stop()
        self.runner.run(self.client.close())
        self.runner.close()
