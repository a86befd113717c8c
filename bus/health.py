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
from bus.parts import Part
from bus.replies import foreign_reply

log = logging.getLogger(__name__)


class HealthReport(BaseModel):
    # degraded: it answers, but a part is not as it should be: the store unreachable, a view
    # stopped on an event it could not apply, the feeds or the checkpoints stuck. `parts`
    # says how each stands, `warnings` what to do.
    status: Literal["ok", "degraded"] = "ok"
    service: str = "onestop"
    version: str
    # What an operator should look at: views that stopped; messages in the service's streams
    # that it did not write, passed over (adapters/audit/seal.py).
    warnings: list[str] = []
    parts: list[Part] = []


Check = Callable[[], Awaitable[tuple[list[Part], list[str]]]]  # parts, warnings


async def _nothing_to_check() -> tuple[list[Part], list[str]]:
    return [], []


def system_router(version: str, check: Check = _nothing_to_check) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(subjects.HEALTH, description="Answers a request with the service's health.")
    async def on_health_check(message: NatsMessage) -> HealthReport | None:
        if reason := foreign_reply(message.raw_message.reply):
            log.warning("health request not answered: %s", reason)
            message.reply_to = ""  # FastStream then answers nowhere
            return None
        parts, warnings = await check()
        troubled = any(part.status in ("stuck", "failed", "unreachable") for part in parts)
        return HealthReport(status="degraded" if troubled or warnings else "ok",
                            version=version, parts=parts,
                            warnings=warnings + PASSED_OVER.warnings())

    return router
