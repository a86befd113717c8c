"""The bus application in a test: started and stopped like `onestop up` does it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats
import orjson

from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port
from bus import subjects
from bus.app import build_bus


class LoopThread:
    """An event loop running on its own thread, as a real service's loop runs all the time:
    its subscribers answer while the test waits elsewhere."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Service:
    """The bus application on its own stream, started and stopped like `onestop up` does."""

    def __init__(self, nats_url: str, stream: str) -> None:
        self.nats_url, self.stream = nats_url, stream
        self.runner = LoopThread()
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



@contextmanager
def service_on_its_own_server(data_dir: Path) -> Iterator[Service]:
    """For tests of the bus's fixed subjects (intake, feeds), which another test's service on a
    shared server would also consume."""
    config = EmbeddedServerConfig(data_dir=data_dir, port=free_port(), server_name="bus")
    with EmbeddedNatsServer(config) as server:
        running = Service(server.url, "ONESTOP")
        try:
            yield running
        finally:
            running.close()
