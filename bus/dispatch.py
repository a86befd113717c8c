"""From the bytes a principal sent to the reply it gets: the path every command takes, whether
it came by request/reply or through the durable intake.

Bad input is answered, never raised: each kind gets its own stable code, and nothing is
written to the log. Only a fault of ours (`Unexpected`) escapes, so the intake can retry it
and, if it keeps failing, put the message aside as a dead letter.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import ValidationError

from adapters.outcomes import CommandOutcomes
from bus.messages import Done, ErrorBody, Refused
from bus.operations import OPERATIONS
from domain.application import OneStop
from domain.base import Actor, CommandContext
from domain.errors import DomainError

log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 64 * 1024
# Refusals that say "try again" are not kept as the first outcome: the retry must be free to win.
RETRYABLE = frozenset({"store.conflict"})


class Unexpected(Exception):
    """Our fault, not the sender's: the command may be retried."""


def refused(code: str, message: str, command_id: str | None = None,
            fields: dict[str, Any] | None = None) -> dict:
    return Refused(command_id=command_id,
                   error=ErrorBody(code=code, message=message, fields=fields or {})
                   ).model_dump(mode="json")


def _fingerprint(payload: dict) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _invalid_fields(error: ValidationError) -> dict[str, str]:
    return {".".join(str(part) for part in issue["loc"]) or "(body)": issue["msg"]
            for issue in error.errors()}


class Dispatcher:
    def __init__(self, app: OneStop, outcomes: CommandOutcomes,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.app = app
        self.outcomes = outcomes
        self.clock = clock

    async def dispatch(self, principal: str, name: str, body: bytes) -> dict:
        if len(body) > MAX_COMMAND_BYTES:
            return refused("command.too_large", f"A command may be at most {MAX_COMMAND_BYTES} "
                           "bytes.", fields={"size": len(body)})
        operation = OPERATIONS.get(name)
        if operation is None:
            return refused("command.unknown", f"There is no command {name!r}.",
                           fields={"command": name})
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return refused("command.malformed_json", f"The body is not valid JSON: {error}.")
        if not isinstance(payload, dict):
            return refused("command.malformed_json", "The body must be a JSON object.")
        try:
            command = operation.schema.model_validate(payload)
        except ValidationError as error:
            command_id = payload.get("command_id")
            return refused("command.invalid", "Some fields are missing or wrong.",
                           command_id if isinstance(command_id, str) else None,
                           _invalid_fields(error))
        fingerprint = _fingerprint(payload)
        first = await self.outcomes.first(principal, command.command_id)
        if first is not None:
            if first.fingerprint != fingerprint:
                return refused("command.id_reused", "This command id was already used for a "
                               "different command; choose a new id.", command.command_id)
            return first.reply
        reply = await self._execute(principal, operation, command)
        if reply.get("ok") or reply["error"]["code"] not in RETRYABLE:
            reply = (await self.outcomes.record(principal, command.command_id, fingerprint,
                                                reply)).reply
        return reply

    async def _execute(self, principal: str, operation, command) -> dict:
        ctx = CommandContext(
            actor=Actor(principal=principal, person=command.person), at=self.clock(),
            # Qualified by the principal: two systems may pick the same id independently.
            command_id=f"{principal}/{command.command_id}",
            correlation_id=command.correlation_id, causation_id=command.causation_id,
        )
        try:
            outcome = await asyncio.to_thread(operation.execute, self.app, ctx, command)
        except DomainError as error:
            return refused(error.code, error.message, command.command_id,
                           {key: str(value) for key, value in error.fields.items()})
        except Exception as error:
            log.exception("command %s from %s failed", operation.name, principal)
            raise Unexpected(f"{type(error).__name__}: {error}") from error
        return Done(command_id=command.command_id, id=outcome.id, booking_id=outcome.booking_id,
                    position=outcome.position, replayed=False).model_dump(mode="json")
