"""Snapshots as plain JSON: an aggregate's annotated state, dumped and validated by pydantic."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, get_origin, get_type_hints
from uuid import UUID

from eventsourcing.utils import register_topic
from pydantic import AwareDatetime, BaseModel, create_model

from domain.base import Aggregate, Value


@cache
def state_model(cls: type[Aggregate]) -> type[BaseModel]:
    """A pydantic model of the attributes the aggregate class annotates, plus its commands."""
    hints = {name: hint for name, hint in get_type_hints(cls).items()
             if not name.startswith("_") and get_origin(hint) is not ClassVar}
    # An attribute with a class default may be missing from a snapshot taken before it was.
    fields: dict[str, Any] = {name: (hint, getattr(cls, name, ...))
                              for name, hint in hints.items()}
    fields["created_on"] = (AwareDatetime, ...)
    fields["commands"] = (dict[str, int], ...)
    return create_model(f"{cls.__name__}State", **fields)


class Snapshot(Value):
    public_name: ClassVar[str] = "aggregate.snapshot"
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: AwareDatetime
    aggregate: str
    state: dict[str, Any]

    @classmethod
    def take(cls, aggregate: Aggregate) -> Snapshot:
        model = state_model(type(aggregate))
        state = model.model_validate({name: getattr(aggregate, name) for name in model.model_fields})
        return cls(originator_id=aggregate.id, originator_version=aggregate.version,
                   timestamp=aggregate.modified_on, aggregate=type(aggregate).public_name,
                   state=state.model_dump(mode="json"))

    def mutate(self, _: None) -> Aggregate:
        cls = Aggregate.named(self.aggregate)
        state = state_model(cls).model_validate(self.state)
        aggregate = cls.blank(self.originator_id, state.created_on)
        for name in type(state).model_fields:
            setattr(aggregate, name, getattr(state, name))
        aggregate.version, aggregate.modified_on = self.originator_version, self.timestamp
        return aggregate


register_topic(Snapshot.public_name, Snapshot)
