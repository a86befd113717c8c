"""Who did what, when and why: the command context, the event base and the aggregate base."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Self
from datetime import timedelta
from uuid import UUID, uuid4

from eventsourcing.domain import OriginatorIDError, OriginatorVersionError
from eventsourcing.utils import register_topic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from domain.errors import refuse

CODE = r"^[a-z][a-z0-9_]*$"
PUBLIC_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# How far a sender's clock may run ahead of ours before what it says happened is refused as
# in the future.
AHEAD_OF_OUR_CLOCK = timedelta(minutes=5)


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Value):
    """The acting principal (a department code, a station code or "portal") and the person."""

    principal: str = Field(pattern=CODE)
    person: str = Field(min_length=1)


class CommandContext(Value):
    """Who acts, and when: `at` is when what the command records happened (a town post's
    paper form of last week, last year's ledger), `recorded_at` when the service took it
    (None: the same moment). Every event keeps both; the views and results go by `at`."""

    actor: Actor
    at: AwareDatetime
    recorded_at: AwareDatetime | None = None
    command_id: str = Field(default_factory=lambda: str(uuid4()), min_length=1)
    correlation_id: str | None = None
    causation_id: str | None = None

    def caused(self, command_id: str, at: AwareDatetime | None = None) -> CommandContext:
        """The context of a command that this one causes (same correlation)."""
        return CommandContext(actor=self.actor, at=at or self.at, recorded_at=self.recorded_at,
                              command_id=command_id, correlation_id=self.correlation,
                              causation_id=self.command_id)

    @property
    def recorded(self) -> AwareDatetime:
        return self.recorded_at or self.at

    @property
    def correlation(self) -> str:
        return self.correlation_id or self.command_id


def upcast(cls: type, state: dict[str, Any], version: int) -> None:
    """Brings a stored body from class version `version` up to `cls.class_version`, in place,
    through the class's `upcast_v<n>_v<n+1>` steps: the one loop the store's mapper and the
    views' reading share."""
    while version < cls.class_version:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1


class DomainEvent(Value):
    """A fact, stored as plain JSON under its stable `public_name` and `class_version`."""

    public_name: ClassVar[str] = ""
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: AwareDatetime  # when it happened, as its sender said (by default, when recorded)
    actor: Actor
    command_id: str
    correlation_id: str
    causation_id: str | None = None
    # When the service recorded it; None in events from before the two were told apart, which
    # were recorded when they happened.
    recorded_at: AwareDatetime | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "public_name" in cls.__dict__:
            if not PUBLIC_NAME.match(cls.public_name):
                raise TypeError(f"{cls.__qualname__}: bad public name {cls.public_name!r}")
            register_topic(cls.public_name, cls)

    def mutate(self, aggregate: Aggregate | None) -> Aggregate:
        if aggregate is None:
            aggregate = Aggregate.owner_of(type(self)).blank(self.originator_id, self.timestamp)
        if self.originator_id != aggregate.id:
            raise OriginatorIDError(self.originator_id, aggregate.id)
        if self.originator_version != aggregate.version + 1:
            raise OriginatorVersionError(self.originator_version, aggregate.version + 1)
        self.apply(aggregate)
        aggregate.version = self.originator_version
        aggregate.modified_on = self.timestamp
        aggregate.commands.setdefault(self.command_id, self.originator_version)
        return aggregate

    def apply(self, aggregate: Any) -> None:
        """How this fact changes its aggregate (overridden by each event)."""


class Aggregate:
    """A consistency boundary: decides, records events, and is rebuilt from them."""

    public_name: ClassVar[str] = ""
    _owners: ClassVar[dict[type[DomainEvent], type[Aggregate]]] = {}
    _named: ClassVar[dict[str, type[Aggregate]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "public_name" in cls.__dict__:
            Aggregate._named[cls.public_name] = cls
        for value in vars(cls).values():
            if isinstance(value, type) and issubclass(value, DomainEvent):
                Aggregate._owners[value] = cls

    @classmethod
    def named(cls, public_name: str) -> type[Aggregate]:
        return cls._named[public_name]

    @classmethod
    def owns(cls, event_base: type[DomainEvent]) -> None:
        Aggregate._owners[event_base] = cls

    @classmethod
    def owner_of(cls, event_class: type[DomainEvent]) -> type[Aggregate]:
        for klass in event_class.__mro__:
            if klass in cls._owners:
                return cls._owners[klass]
        raise TypeError(f"{event_class.__qualname__} belongs to no aggregate")

    @classmethod
    def blank(cls, id: UUID, at: Any) -> Self:
        aggregate = cls.__new__(cls)
        aggregate.id, aggregate.version = id, 0
        aggregate.created_on = aggregate.modified_on = at
        aggregate.commands = {}
        aggregate._pending = []
        return aggregate

    @classmethod
    def start(cls, id: UUID, event_class: type[DomainEvent], ctx: CommandContext,
              **fields: Any) -> Self:
        aggregate = cls.blank(id, ctx.at)
        aggregate.trigger(event_class, ctx, **fields)
        return aggregate

    def trigger(self, event_class: type[DomainEvent], ctx: CommandContext, **fields: Any) -> None:
        self._require_possible_time(ctx)
        try:
            event = event_class(
                originator_id=self.id, originator_version=self.version + 1, timestamp=ctx.at,
                actor=ctx.actor, command_id=ctx.command_id, correlation_id=ctx.correlation,
                causation_id=ctx.causation_id, recorded_at=ctx.recorded, **fields,
            )
        except ValidationError as error:
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
            raise refuse(f"{type(self).__name__.lower()}.invalid_input",
                         "Please correct: " + "; ".join(problems) + ".",
                         problems=problems) from None
        event.mutate(self)
        self._pending.append(event)

    def _require_possible_time(self, ctx: CommandContext) -> None:
        """What a sender says happened cannot have happened after we recorded it, nor to a
        record before the record existed."""
        if ctx.at > ctx.recorded + AHEAD_OF_OUR_CLOCK:
            raise refuse("command.occurred_in_future",
                         f"It cannot have happened at {ctx.at.isoformat()}: that is after "
                         f"now ({ctx.recorded.isoformat()}).", occurred_at=ctx.at)
        if self.version > 0:
            self.require_existed_at(ctx)

    def require_existed_at(self, ctx: CommandContext) -> None:
        """Nothing happens to this record, or because of it, before it began."""
        if ctx.at < self.created_on:
            name = self.public_name or type(self).__name__.lower()
            raise refuse(f"{name}.occurred_before_it_existed",
                         f"It cannot have happened at {ctx.at.isoformat()}: this {name} "
                         f"began at {self.created_on.isoformat()}.", occurred_at=ctx.at,
                         began_at=self.created_on)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """A copy that shares nothing mutable with this aggregate.

        Aggregates keep immutable values (frozen models, tuples, UUIDs, datetimes), some of
        them in plain dicts, lists and sets; copying those containers is a deep copy. The
        library copies every aggregate it serves from its cache, and the generic
        `copy.deepcopy` walk was a large part of a cached command's CPU.
        """
        clone = object.__new__(type(self))
        for name, value in self.__dict__.items():
            clone.__dict__[name] = value.copy() if isinstance(value, (dict, list, set)) else value
        memo[id(self)] = clone
        return clone

    def has_applied(self, command_id: str) -> bool:
        return command_id in self.commands

    def collect_events(self) -> Sequence[DomainEvent]:
        events, self._pending = self._pending, []
        return events

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id}, version={self.version})"
