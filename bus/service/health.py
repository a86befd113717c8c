"""The health responder: operators and department integrators check that onestop answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsMessage

from adapters.integrity.seal import PASSED_OVER
from bus.contract import subjects
from bus.contract.messages import HealthReport, Part
from bus.service.replies import foreign_reply

log = logging.getLogger(__name__)


Check = Callable[[], Awaitable[tuple[list[Part], list[str]]]]  # parts, warnings


async def _nothing_to_check() -> tuple[list[Part], list[str]]:
    return [], []


def _no_advice() -> list[str]:
    return []


def system_router(version: str, check: Check = _nothing_to_check,
                  advice: Callable[[], list[str]] = _no_advice) -> NatsRouter:
    """`check`: the parts and what degrades the service; `advice`: warnings an operator should
    see to that are no fault of a part (as messages passed over are not)."""
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
                            warnings=warnings + advice() + PASSED_OVER.warnings())

    return router
