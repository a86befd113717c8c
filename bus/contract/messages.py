"""The public contract of commands and replies: what department systems send and get back.

A command's fields and their rules are the domain's (domain/commands.py); on the wire it
travels in an envelope (`Envelope`: its id, the person acting, correlation), and `wire_schema`
makes the message a department sends of the two. Replies are the bus's own.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model

from domain.bounds import Moment
from domain.commands import Command

SERVICE_NAME = "onestop"
# A command's or query's body, at most: larger is refused before it is parsed.
MAX_COMMAND_BYTES = 64 * 1024


def service_version() -> str:
    try:
        return version(SERVICE_NAME)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Message):
    """Every command carries its own id: sending it again returns the first outcome."""

    command_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$",
                            description="Chosen by the sender, unique per principal; a retry "
                                        "repeats it.")
    person: str = Field(min_length=1, max_length=100, description="Who acts, for the record.")
    correlation_id: str | None = Field(default=None, max_length=64)
    causation_id: str | None = Field(default=None, max_length=64)
    occurred_at: Moment | None = Field(default=None, description=(
        "When what the command records happened, with its offset, if not now: a town post's "
        "paper form of last week, last year's ledger. Not in the future (a sender's clock may "
        "run five minutes ahead: `command.occurred_in_future`), nor before the record it acts "
        "on began (`<record>.occurred_before_it_existed`). Its events keep it as `timestamp` "
        "(`ce-time`), and when the service recorded them as `recorded_at` "
        "(`Onestop-Recorded-Time`); the views and results go by when it happened."))


@cache
def wire_schema(command: type[Command]) -> type[BaseModel]:
    """The message that carries `command`: the envelope's fields, then the command's, under
    the command's own name (the contract's name for it)."""
    return create_model(command.__name__, __base__=(Envelope, command),
                        __module__=__name__, __doc__=command.purpose)


def unwrapped(command: type[Command], message: BaseModel) -> Command:
    """The command inside a validated wire message (validated already: not again)."""
    return command.model_construct(**{name: getattr(message, name)
                                      for name in command.model_fields})


# Replies.

class Done(Message):
    ok: Literal[True] = True
    command_id: str
    id: UUID = Field(description="The aggregate the command created or changed.")
    booking_id: UUID | None = None
    position: int | None = Field(description="Log position to wait for before reading views.")
    replayed: bool = Field(False, description="True when this is the first outcome, sent again.")


class ErrorBody(Message):
    code: str = Field(description="Stable, for programs: e.g. case.invalid_transition.")
    message: str = Field(description="Plain words for the person at the other end.")
    fields: dict[str, Any] = Field(default_factory=dict)


class Refused(Message):
    ok: Literal[False] = False
    command_id: str | None = None
    error: ErrorBody


class Part(BaseModel):
    name: Literal["store", "views", "feeds", "checkpoints"]
    status: Literal["ok", "stuck", "failed", "unreachable", "unknown"] = "ok"
    behind: int | None = None  # log positions it has still to take in
    detail: str = ""


class HealthReport(BaseModel):
    # degraded: it answers, but a part is not as it should be: the store unreachable, a view
    # stopped on an event it could not apply, the feeds or the checkpoints stuck. `parts`
    # says how each stands, `warnings` what to do.
    status: Literal["ok", "degraded"] = "ok"
    service: str = "onestop"
    version: str
    # What an operator should look at: views that stopped; messages in the service's streams
    # that it did not write, passed over (adapters/integrity/seal.py); open follow-ups due in
    # a year the working calendar does not list. The last two leave the status as it is.
    warnings: list[str] = []
    parts: list[Part] = []
