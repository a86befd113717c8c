"""What every use case shares: our mapper by default, reference data, loading, saving, retries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from domain.base import Aggregate, CommandContext, Value
from domain.errors import DomainError, refuse
from domain.reference import Reference, load_reference
from domain.snapshots import Snapshot

A = TypeVar("A", bound=Aggregate)
NAMESPACE = uuid5(NAMESPACE_URL, "https://onestop.yongchuan.gov.cn/commands")


class Outcome(Value):
    """The ids a command produced and the log position to wait for before reading views.

    A retried command is not applied twice: it gets the same ids back (`replayed`), and as
    position the head of the log at the time of the retry, which is at or after the write.
    """

    id: UUID
    position: int | None
    booking_id: UUID | None = None
    replayed: bool = False


class Service(Application):
    env = {"MAPPER_TOPIC": "domain.mapping:PydanticMapper"}
    snapshot_class = Snapshot

    def __init__(self, env: Mapping[str, str] | None = None,
                 reference: Reference | None = None) -> None:
        super().__init__(env)
        self.reference = reference or load_reference(self.env.get("REFERENCE_DATA") or None)

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:
        """The library's save, without its runtime Protocol checks telling events from
        aggregates: ours are always our aggregates, and those checks cost more than the rest
        of collecting the events."""
        if kwargs or not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's older hook, called as it does
        return recordings

    def derived_id(self, kind: str, ctx: CommandContext, *scope: object) -> UUID:
        """Ids made from the command id, so a retry produces the very same ids."""
        return uuid5(NAMESPACE, ":".join(map(str, (kind, *scope, ctx.command_id))))

    def _check(self, ctx: CommandContext) -> None:
        if not self.reference.is_principal(ctx.actor.principal):
            raise refuse("actor.unknown_principal",
                         f"{ctx.actor.principal!r} is not a department, station or the portal.",
                         principal=ctx.actor.principal)

    def _get(self, ctx: CommandContext, cls: type[A], aggregate_id: UUID) -> A:
        self._check(ctx)
        what = cls.__name__.lower()
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            aggregate = None
        if not isinstance(aggregate, cls):
            raise refuse(f"{what}.not_found", f"There is no {what} with id {aggregate_id}.",
                         id=aggregate_id)
        return aggregate

    def _change(self, ctx: CommandContext, cls: type[A], aggregate_id: UUID,
                decide: Callable[[A], Any]) -> Outcome:
        aggregate = self._get(ctx, cls, aggregate_id)
        if aggregate.has_applied(ctx.command_id):
            return self._replay(aggregate.id)
        decide(aggregate)
        return self._commit(aggregate, id=aggregate.id)

    def _create(self, ctx: CommandContext, aggregate: Aggregate,
                on_clash: DomainError | None = None) -> Outcome:
        try:
            return self._outcome(self.save(aggregate), id=aggregate.id)
        except IntegrityError:
            existing = self.repository.get(aggregate.id)
            if existing.has_applied(ctx.command_id) or on_clash is None:
                return self._replay(aggregate.id)
            raise on_clash from None

    def _commit(self, *aggregates: Aggregate, id: UUID, booking_id: UUID | None = None) -> Outcome:
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            raise refuse("store.conflict", "Someone else changed this at the same moment; "
                         "nothing was saved, please try again.") from None
        return self._outcome(recordings, id=id, booking_id=booking_id)

    @staticmethod
    def _outcome(recordings: list[Any], **ids: Any) -> Outcome:
        position = max((r.notification.id for r in recordings), default=None)
        return Outcome(position=position, **ids)

    def _replay(self, id: UUID, booking_id: UUID | None = None) -> Outcome:
        return Outcome(id=id, booking_id=booking_id, replayed=True,
                       position=self.recorder.max_notification_id())
