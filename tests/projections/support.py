"""Realistic events for projection tests: use cases on the in-memory store, read back as
`Logged` exactly as the runner will hand them over (stored JSON, upcast on the way)."""

from __future__ import annotations

from projections.logged import Logged, logged_from_stored
from tests.domain.support import World, in_memory_world


def logged_since(world: World, after: int = 0) -> list[Logged]:
    notifications = world.app.recorder.select_notifications(start=after + 1, limit=1_000_000)
    return [logged_from_stored(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in notifications]


def head(world: World) -> int:
    return world.app.recorder.max_notification_id() or 0


__all__ = ["World", "in_memory_world", "logged_since", "head"]
