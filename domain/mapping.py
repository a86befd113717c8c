"""Events as plain JSON: `model_dump(mode="json")` in, `model_validate` out, stable topics.

The stored topic is the event's `public_name`, so moving a Python class never breaks replay;
`class_version` is stored when above 1 and older versions are upcast on read, as the library
does. Non-pydantic events (such as library snapshots) take the library's own path.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import resolve_topic
from pydantic import BaseModel, ValidationError

from domain.base import DomainEvent, upcast
from domain.snapshots import Snapshot

ORIGINATOR_FIELDS = {"originator_id", "originator_version"}


class PydanticMapper(Mapper):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if not isinstance(domain_event, (DomainEvent, Snapshot)):
            return super().to_stored_event(domain_event)
        cls = type(domain_event)
        state = domain_event.model_dump(mode="json", exclude=ORIGINATOR_FIELDS)
        if cls.class_version > 1:
            state["class_version"] = cls.class_version
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=cls.public_name,
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return super().to_domain_event(stored_event)
        data = stored_event.state
        try:
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            state: dict[str, Any] = self.transcoder.decode(data)
        except Exception as error:
            raise MapperDeserialisationError(
                f"Cannot read event {stored_event.topic!r} of {stored_event.originator_id} "
                f"at version {stored_event.originator_version}: {error}"
            ) from error
        upcast(cls, state, state.pop("class_version", 1))
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        try:
            return cls.model_validate(state)
        except ValidationError as error:
            raise MapperDeserialisationError(
                f"Event {stored_event.topic!r} of {stored_event.originator_id} at version "
                f"{stored_event.originator_version} does not fit {cls.__qualname__} "
                f"v{cls.class_version} (missing upcaster?): {error}"
            ) from error


# Importing the aggregates registers every public name, so any topic in the log resolves.
from domain import (  # noqa: F401
    campaigns,
    cases,
    disputes,
    enterprises,
    evaluations,
    improvements,
    recalls,
    resources,
)
