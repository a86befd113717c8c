"""An event as the projections see it: its place in the log and its body as plain JSON.

Projections never build pydantic events: a rebuild folds hundreds of thousands of them, and a
dict read costs a fraction of a model validation. The body is upcast to the event class's
current `class_version` once, here, so no projection ever sees an old shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import resolve_topic


# Not frozen: a rebuild makes one for every event of the log, and a frozen dataclass costs
# three times as much to make. Nothing changes one once made.
@dataclass(slots=True)
class Logged:
    position: int  # the notification id: the stream sequence
    originator_id: str  # the aggregate's UUID as text
    version: int
    topic: str  # the event's public name, e.g. "case.accepted"
    data: dict[str, Any]  # the stored body, upcast to the current class version


_current_versions: dict[str, int] = {}  # topic -> its class's current class_version


def _current_version(topic: str) -> int:
    version = _current_versions.get(topic)
    if version is None:
        _import_domain()
        version = _current_versions[topic] = resolve_topic(topic).class_version
    return version


def _import_domain() -> None:
    # Imported when first needed, not with this module: a rebuild's worker process is told
    # the versions (`know_versions`) and spares itself the domain's import.
    import domain.mapping  # noqa: F401  (registers every public name, so each topic resolves)


def current_versions() -> dict[str, int]:
    """Every domain event's topic and current class version."""
    _import_domain()
    from domain.base import DomainEvent

    versions, classes = {}, [DomainEvent]
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        if getattr(cls, "public_name", None):
            versions[cls.public_name] = cls.class_version
    return versions


def know_versions(versions: dict[str, int]) -> None:
    """Versions told by another process (`current_versions`), before any event is read."""
    _current_versions.update(versions)


def logged_from_stored(position: int, originator_id: Any, version: int, topic: str,
                       state: bytes | str | dict[str, Any]) -> Logged:
    """Builds a `Logged` from a stored record; `state` is the decoded body or its JSON."""
    data = json.loads(state) if isinstance(state, (bytes, bytearray, str)) else state
    stored_version = data.pop("class_version", 1)
    if stored_version < _current_version(topic):
        _import_domain()
        from domain.base import upcast

        upcast(resolve_topic(topic), data, stored_version)
    return Logged(position, originator_id if type(originator_id) is str else str(originator_id),
                  version, topic, data)
