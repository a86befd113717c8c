"""The health responder: operators and department integrators check that onestop answers."""

from __future__ import annotations

import logging
from typing import Literal

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsMessage
from pydantic import BaseModel

from bus import subjects
from bus.replies import foreign_reply

log = logging.getLogger(__name__)


class HealthReport(BaseModel):
    status: Literal["ok"] = "ok"
    service: str = "onestop"
    version: str


def system_router(version: str) -> NatsRouter:
    router = NatsRouter()
    report = HealthReport(version=version)

    @router.subscriber(subjects.HEALTH, description="Answers a request with the service's health.")
    async def on_health_check(message: NatsMessage) -> HealthReport | None:
        if reason := foreign_reply(message.raw_message.reply):
            log.warning("health request not answered: %s", reason)
            message.reply_to = ""  # FastStream then answers nowhere
            return None
        return report

    return router
