"""What a projection is: tables of JSON documents, the events it reads, and how it folds them.

A projection is a pure function of the log: no wall clock, no reference files, no other
projection's tables (each has its own tracking position and may be rebuilt on its own).
Documents are plain JSON dicts; a table's `columns` name the scalar document fields that a
store indexes for `find` (a column's value is `doc[column]`).
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from projections.logged import Logged

ColumnType = Literal["text", "int", "real"]
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class Table:
    name: str
    columns: Mapping[str, ColumnType] = field(default_factory=dict)
    # The indexes to keep: each a tuple of columns. None: one per column. Every index costs
    # each write, so a table that is always filtered by one column names it first.
    indexes: tuple[tuple[str, ...], ...] | None = None
    # The projection writes its rows and never reads them back (a timeline): a store need
    # not keep them cached between batches.
    write_only: bool = False

    @property
    def index_columns(self) -> tuple[tuple[str, ...], ...]:
        return self.indexes if self.indexes is not None else tuple(
            (column,) for column in self.columns)

    def __post_init__(self) -> None:
        # Names end up in SQL: only plain identifiers, checked once here.
        for name in (self.name, *self.columns):
            if not IDENTIFIER.match(name) or name in ("key", "doc"):
                raise ValueError(f"table {self.name!r}: bad name {name!r}")
        for index in self.indexes or ():
            if not index or not set(index) <= set(self.columns):
                raise ValueError(f"table {self.name!r}: index {index!r} is not of its columns")
        for column, kind in self.columns.items():
            if kind not in ("text", "int", "real"):
                raise ValueError(f"table {self.name!r}: column {column!r} has type {kind!r}")


class Views(Protocol):
    """The documents a projection reads and writes; a write is seen by later reads at once.

    `get` may hand back the stored dict itself: change it, then `put` it, or the change may
    be lost.
    """

    def get(self, table: str, key: str) -> dict[str, Any] | None: ...

    def put(self, table: str, key: str, doc: dict[str, Any]) -> None: ...

    def delete(self, table: str, key: str) -> None: ...


Handler = Callable[[Any, Logged, Views], None]


def handles(*topics: str) -> Callable[[Handler], Handler]:
    """Marks a method as the handler of these event topics."""

    def mark(method: Handler) -> Handler:
        method.__handles__ = topics  # type: ignore[attr-defined]
        return method

    return mark


class Projection(ABC):
    name: ClassVar[str]
    version: ClassVar[int] = 1  # bump when the documents change shape: the view needs a rebuild
    # What applying the log costs, in CPU microseconds an event (`onestop bench views`
    # prints them): a rebuild balances its worker processes by it, so only ratios matter.
    rebuild_cost: ClassVar[float] = 1.0
    tables: ClassVar[tuple[Table, ...]]
    topics: ClassVar[frozenset[str]]  # events it reads; a store skips the others unread
    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, Handler] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                for topic in getattr(value, "__handles__", ()):
                    handlers[topic] = value
        cls._handlers = handlers
        if handlers and "topics" not in cls.__dict__:
            cls.topics = frozenset(handlers)

    def apply(self, event: Logged, views: Views) -> None:
        """Folds one event into the views; raises if it cannot (the store stops this view)."""
        handler = self._handlers.get(event.topic)
        if handler is not None:
            handler(self, event, views)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version})"
