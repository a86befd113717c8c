"""From the bytes a principal sent to the reply it gets: the path every command takes, whether
it came by request/reply or through the durable intake.

Bad input is answered, never raised: each kind gets its own stable code, and nothing is
written to the log. Only a fault of ours (`Unexpected`) escapes, so the intake can retry it
and, if it keeps failing, put the message aside as a dead letter.

The dispatcher lives on the application's NATS loop (the JetStream factory's), where a command
whose aggregates are cached is decided and written without leaving the loop
(`adapters.jetstream.onloop`); any other command runs on a worker thread as before.

First outcomes: a refusal is kept in the KV bucket before it is answered. A success is kept
in the log itself, with no second write: every event a command writes carries the command's
id and the digest of its request (`Onestop-Command`, `Onestop-Command-Digest`). When the same
command comes again the domain sees that it was applied (ids are derived from the command id)
and the first reply is rebuilt from those events: same ids, same position, and a different
request under the same id is told apart by its digest. This process also remembers its recent
successes, which answers most retries without reading the log. One message per command is
what lets the command path run at the log's own write rate: a second fsync'd record per
command halved it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import OperationalError
from pydantic import ValidationError

from adapters.audit.trail import AuditTrail
from adapters.jetstream import cloudevents as ce
from adapters.jetstream import onloop
from adapters.jetstream.log import TRANSIENT_ERRORS
from adapters.logs import Throttled
from adapters.outcomes import CommandOutcomes, FirstOutcome
from bus.contract.messages import MAX_COMMAND_BYTES, ErrorBody, Refused, unwrapped
from bus.contract.operations import OPERATIONS, Operation
from bus.service.replies import refusal
from domain.application import OneStop
from domain.base import Actor, CommandContext
from domain.errors import DomainError
from domain.service import Outcome

log = logging.getLogger(__name__)

RECENT_OUTCOMES = 50_000  # successes remembered in memory, newest last
# Refusals that say "try again" are not kept as the first outcome: the retry must be free to win.
RETRYABLE = frozenset({"store.conflict", "service.unavailable"})
# The store of record (JetStream) not answering: a write or read given up after the store's
# write timeout, or the outcome bucket not reachable.
STORE_AWAY = (OperationalError, *TRANSIENT_ERRORS)


class Unexpected(Exception):
    """Our fault, not the sender's: the command may be retried."""


def refused(code: str, message: str, command_id: str | None = None,
            fields: dict[str, Any] | None = None) -> dict:
    return Refused(command_id=command_id,
                   error=ErrorBody(code=code, message=message, fields=fields or {})
                   ).model_dump(mode="json")


def unavailable(body: bytes) -> dict:
    command_id = None
    try:
        payload = orjson.loads(body)
        if isinstance(payload, dict) and isinstance(payload.get("command_id"), str):
            command_id = payload["command_id"]
    except orjson.JSONDecodeError:
        pass
    return refused("service.unavailable", "The store of record did not answer in time; "
                   "nothing was decided. Send the same command (same command_id) again in "
                   "a moment: it will be applied once.", command_id)


def _person(body: bytes) -> str | None:
    """The person a refused command names, if its body says (it may not even be JSON)."""
    if len(body) > MAX_COMMAND_BYTES:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    person = payload.get("person") if isinstance(payload, dict) else None
    return person if isinstance(person, str) else None


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
        self.loop = app_loop(app)
        self._recent: OrderedDict[tuple[str, str], FirstOutcome] = OrderedDict()
        self.on_written: Callable[[], None] = lambda: None  # after each command that wrote
        self.audit: AuditTrail | None = None  # where refusals are recorded
        self._outage = Throttled(log)

    @classmethod
    async def open(cls, app: OneStop, bucket: str, replicas: int | None = None) -> Dispatcher:
        """A dispatcher whose outcome bucket is reached through the application's connection,
        and sealed with its store's seal."""
        connection = app.factory.bridge.connection
        outcomes = await on_loop(app_loop(app), CommandOutcomes.open(
            connection, bucket, replicas, seal=getattr(app.factory, "seal", None)))
        return cls(app, outcomes)

    async def dispatch(self, principal: str, name: str, body: bytes) -> dict:
        return await on_loop(self.loop, self._dispatch_and_audit(principal, name, body))

    async def not_answered(self, principal: str, name: str, body: bytes, reason: str) -> None:
        """A command that will not be executed because its reply would land elsewhere than
        with its sender: an auditor sees the attempt."""
        log.warning("command %s from %s not answered: %s", name, principal, reason)
        if self.audit is not None:
            await on_loop(self.loop, self.audit.refused(principal, name, None, refusal(reason),
                                                        _person(body)))

    async def _dispatch_and_audit(self, principal: str, name: str, body: bytes) -> dict:
        try:
            reply = await self._dispatch(principal, name, body)
        except STORE_AWAY as error:
            # An outage we expect: a prompt answer the client can act on, one line a minute
            # in the log. The same command sent again later is applied once.
            self._outage.warning("store", "commands are answered service.unavailable: the "
                                 "store did not answer (%r)", error)
            return unavailable(body)
        self._outage.clear()
        if not reply["ok"] and self.audit is not None:
            # Before the answer: an auditor sees every refusal the principal was given.
            try:
                await self.audit.refused(principal, name, reply.get("command_id"),
                                         reply["error"], _person(body))
            except STORE_AWAY:  # not answered a refusal the trail does not hold
                return unavailable(body)
        return reply

    async def _dispatch(self, principal: str, name: str, body: bytes) -> dict:
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
            message = operation.schema.model_validate(payload)
        except ValidationError as error:
            command_id = payload.get("command_id")
            return refused("command.invalid", "Some fields are missing or wrong.",
                           command_id if isinstance(command_id, str) else None,
                           _invalid_fields(error))
        fingerprint = _fingerprint(payload)
        key = (principal, message.command_id)
        first = await self._first(key)
        if first is None:
            qualified = f"{principal}/{message.command_id}"
            with ce.written_for_command(qualified, fingerprint):
                reply = await self._execute(principal, operation, message)
            if reply["ok"] and reply["replayed"]:
                # Applied before: answer as the first time, from the log.
                first = self._recent.get(key) or await self._first_in_log(qualified, reply)
                if first is None:
                    return reply
            elif reply["ok"]:
                self._remember(key, FirstOutcome(fingerprint, reply))
                self.on_written()
                return reply
            elif reply["error"]["code"] not in RETRYABLE:
                return (await self.outcomes.record(*key, fingerprint, reply)).reply
            else:
                return reply
        if first.fingerprint != fingerprint:
            return refused("command.id_reused", "This command id was already used for a "
                           "different command; choose a new id.", message.command_id)
        # The first outcome again: the same position and id, flagged as sent before.
        return {**first.reply, "replayed": True} if first.reply["ok"] else first.reply

    async def _first(self, key: tuple[str, str]) -> FirstOutcome | None:
        return self._recent.get(key) or await self.outcomes.first(*key)

    def _remember(self, key: tuple[str, str], first: FirstOutcome) -> None:
        self._recent[key] = first
        if len(self._recent) > RECENT_OUTCOMES:
            self._recent.popitem(last=False)

    async def _first_in_log(self, command_id: str, replayed: dict) -> FirstOutcome | None:
        """The first reply to `command_id`, rebuilt from the events it wrote; None for
        events written before commands were named on them."""
        store = getattr(self.app.recorder, "store", None)
        if store is None:
            return None
        write = await store.write_of_command(command_id, replayed["id"])
        if write is None:
            return None
        return FirstOutcome(write.digest,
                            {**replayed, "position": write.last_sequence, "replayed": False})

    async def _execute(self, principal: str, operation: Operation, message) -> dict:
        now = self.clock()
        ctx = CommandContext(
            actor=Actor(principal=principal, person=message.person),
            at=message.occurred_at or now, recorded_at=now,
            # Qualified by the principal: two systems may pick the same id independently.
            command_id=f"{principal}/{message.command_id}",
            correlation_id=message.correlation_id, causation_id=message.causation_id,
        )
        command = unwrapped(operation.command, message)
        try:
            try:
                outcome = await onloop.decide(
                    self.app, lambda: self.app.execute(ctx, command), _positioned)
            except onloop.Fallback:
                outcome = await asyncio.to_thread(self.app.execute, ctx, command)
        except DomainError as error:
            return refused(error.code, error.message, message.command_id,
                           {key: _field(value) for key, value in error.fields.items()})
        except STORE_AWAY:
            raise
        except Exception as error:
            log.exception("command %s from %s failed", operation.name, principal)
            raise Unexpected(f"{type(error).__name__}: {error}") from error
        return {"ok": True, "command_id": message.command_id, "id": str(outcome.id),
                "booking_id": None if outcome.booking_id is None else str(outcome.booking_id),
                "position": outcome.position, "replayed": outcome.replayed}


def _field(value: Any) -> Any:
    """A refusal's detail as JSON: lists of names stay lists (the roles a rule names)."""
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return str(value)


def _positioned(outcome: Outcome, sequences: list[int]) -> Outcome:
    if not sequences:
        return outcome
    return outcome.model_copy(update={"position": max(sequences)})


def app_loop(app: Application) -> asyncio.AbstractEventLoop | None:
    """The loop of the application's NATS connection, if its persistence is JetStream."""
    bridge = getattr(app.factory, "bridge", None)
    return None if bridge is None else bridge.loop


async def on_loop(loop: asyncio.AbstractEventLoop | None, coroutine):
    """Await `coroutine` on `loop`, from whichever loop this is."""
    if loop is None or asyncio.get_running_loop() is loop:
        return await coroutine
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))
