"""The health responder: operators and department integrators check that onestop answers."""

from __future__ import annotations

import logging
from typing import Literal

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsMessage
from pydantic import BaseModel

from adapters.audit.seal import PASSED_OVER
from bus import subjects
from bus.replies import foreign_reply

log = logging.getLogger(__name__)


class HealthReport(BaseModel):
    status: Literal["ok"] = "ok"
    service: str = "onestop"
    version: str
    # What an operator should look at though the service answers: messages in its streams
    # that it did not write, passed over (adapters/audit/seal.py).
    warnings: list[str] = []


def system_router(version: str) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(subjects.HEALTH, description="Answers a request with the service's health.")
    async def on_health_check(message: NatsMessage) -> HealthReport | None:
        if reason := foreign_reply(message.raw_message.reply):
            log.warning("health request not answered: %s", reason)
            message.reply_to = ""  # FastStream then answers nowhere
            return None
        return HealthReport(version=version, warnings=PASSED_OVER.warnings())

    return router
