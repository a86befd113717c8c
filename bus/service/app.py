"""The bus application: one FastStream broker for the department systems, built per NATS URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faststream import FastStream
from faststream.nats import NatsBroker
from faststream.nats.security import NatsToken, NatsUserPassword

from adapters.nats_address import NatsAddress

from adapters.jetstream.factory import DEFAULT_STREAM
from bus.contract.messages import SERVICE_NAME, service_version
from bus.service.connections import reconnect_wait, subscriptions_in_effect
from bus.service.health import system_router
from bus.service.services import Services

FASTSTREAM_LOG = logging.getLogger("onestop.faststream")


@dataclass(frozen=True)
class BusApplication:
    broker: NatsBroker
    app: FastStream
    services: Services


def build_bus(nats_url: str, on_ready: Callable[[], None] | None = None,
              stream: str = DEFAULT_STREAM, data_dir: Path = Path("var"),
              views_dsn: str | None = None,
              separate_followers: bool = False, screen_port: int | None = None,
              screen_host: str = "127.0.0.1") -> BusApplication:
    # Streams are never declared through FastStream: a declared JStream overwrites an existing
    # stream's configuration on start-up. The event stream belongs to adapters.jetstream.
    # One log line per message would flood an operator's terminal and cost CPU on every
    # command; message handling is logged at DEBUG, errors are still logged as errors.
    # Reconnecting for as long as the service runs: after an outage of minutes, health and
    # queries must answer again by themselves (nats-py gives up after 60 attempts).
    # FastStream's lines go through our logger, formatted as ours are (no colours of its own).
    # Every server of the list, and whoever connects given apart from them: it holds for the
    # servers a cluster tells the client about too (adapters/nats_address.py).
    address = NatsAddress.parse(nats_url)
    broker = NatsBroker(list(address.servers), security=_security(address), name=SERVICE_NAME,
                        logger=FASTSTREAM_LOG, log_level=logging.DEBUG,
                        max_reconnect_attempts=-1, reconnect_time_wait=reconnect_wait())
    services = Services(nats_url, stream, data_dir, views_dsn, separate_followers,
                        screen_port, screen_host)
    # Commands and queries by request/reply are not FastStream routers: see
    # bus/service/routes.py and bus/service/query_endpoint.py.
    broker.include_router(system_router(service_version(), services.health, services.advice))
    async def ready() -> None:
        # Told once FastStream's subscriptions (the health check) are in effect too, as the
        # commands' and the queries' are by then (bus/service/connections.py).
        await subscriptions_in_effect(broker.connection)
        if on_ready is not None:
            on_ready()

    app = FastStream(
        broker,
        logger=FASTSTREAM_LOG,
        # Ready before the first command arrives; closed only after the broker stopped taking
        # commands, so none is cut off half-way.
        on_startup=[services.start],
        after_startup=[ready],
        after_shutdown=[services.stop],
    )
    return BusApplication(broker=broker, app=app, services=services)


def _security(address: NatsAddress) -> NatsUserPassword | NatsToken | None:
    if address.user is not None and address.password is not None:
        return NatsUserPassword(address.user, address.password)
    if address.user is not None:
        return NatsToken(address.user)
    return None
