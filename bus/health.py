"""The health responder: operators and department integrators check that onestop answers."""

from __future__ import annotations

from typing import Literal

from faststream.nats import NatsRouter
from pydantic import BaseModel

from bus import subjects


class HealthReport(BaseModel):
    status: Literal["ok"] = "ok"
    service: str = "onestop"
    version: str


def system_router(version: str) -> NatsRouter:
    router = NatsRouter()
    report = HealthReport(version=version)

    @router.subscriber(subjects.HEALTH, description="Answers a request with the service's health.")
    async def on_health_check() -> HealthReport:
        return report

    return router
