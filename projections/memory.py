"""Views held in dicts: for projection tests, and to fold one case's events for time travel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from projections.logged import Logged
from projections.view import Projection


class InMemoryViews:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self.tables.get(table, {}).get(key)

    def put(self, table: str, key: str, doc: dict[str, Any]) -> None:
        self.tables.setdefault(table, {})[key] = doc

    def delete(self, table: str, key: str) -> None:
        self.tables.get(table, {}).pop(key, None)

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        return self.tables.get(table, {})

    def fold(self, projection: Projection, events: Iterable[Logged]) -> InMemoryViews:
        """Applies the events the projection reads, in order; returns itself."""
        for event in events:
            if event.topic in projection.topics:
                projection.apply(event, self)
        return self
