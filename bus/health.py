"""The health responder: operators and department integrators check that onestop answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsMessage
from pydantic import BaseModel

from adapters.audit.seal import PASSED_OVER
from bus import subjects
from bus.replies import foreign_reply

log = logging.getLogger(__name__)


class HealthReport(BaseModel):
    # degraded: it answers, but a view stopped on an event it could not apply (its answers
    # stay where it stopped until an operator has acted; `warnings` says which and how).
    status: Literal["ok", "degraded"] = "ok"
    service: str = "onestop"
    version: str
    # What an operator should look at: views that stopped; messages in the service's streams
    # that it did not write, passed over (adapters/audit/seal.py).
    warnings: list[str] = []


ViewFailures = Callable[[], Awaitable[list[str]]]


async def _none() -> list[str]:
    return []


def system_router(version: str, view_failures: ViewFailures = _none) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(subjects.HEALTH, description="Answers a request with the service's health.")
    async def on_health_check(message: NatsMessage) -> HealthReport | None:
        if reason := foreign_reply(message.raw_message.reply):
            log.warning("health request not answered: %s", reason)
            message.reply_to = ""  # FastStream then answers nowhere
            return None
        failures = await view_failures()
        return HealthReport(status="degraded" if failures else "ok", version=version,
                            warnings=failures + PASSED_OVER.warnings())

    return router
