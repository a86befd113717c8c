"""The bus application: one FastStream broker for the department systems, built per NATS URL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from faststream import FastStream
from faststream.nats import NatsBroker

from bus.health import system_router

SERVICE_NAME = "onestop"


def service_version() -> str:
    try:
        return version(SERVICE_NAME)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


@dataclass(frozen=True)
class BusApplication:
    broker: NatsBroker
    app: FastStream


def build_bus(nats_url: str, on_ready: Callable[[], None] | None = None) -> BusApplication:
    # Streams are never declared through FastStream: a declared JStream overwrites an existing
    # stream's configuration on start-up. The event stream belongs to adapters.jetstream.
    broker = NatsBroker(nats_url, name=SERVICE_NAME)
    broker.include_router(system_router(service_version()))
    app = FastStream(broker, after_startup=[on_ready] if on_ready else ())
    return BusApplication(broker=broker, app=app)
