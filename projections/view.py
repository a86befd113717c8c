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
KeyType = Literal["text", "int"]
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
    # "int": every key is a decimal number (a log position, say), kept as an integer: the
    # rows are then stored in key order, with no index of their own beside them.
    key_type: KeyType = "text"
    # False: no documents, a row is its columns and nothing else, and `key` names the ones
    # that tell rows apart (all of them: None), the rows stored in its order. For many
    # small rows, such as which departments each change concerned: each saves a document
    # and an index entry. Written once (write only), read with `find`, which answers the
    # columns; `indexes` are kept beside the key (none: None).
    documents: bool = True
    key: tuple[str, ...] | None = None
    # Every row is put once, under a key no row had before (an event's position, a case's
    # version): a rebuild may append rows to its new tables without looking for their keys.
    # Write only. A row put twice all the same is an error there, not a row written again.
    appended: bool = False

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns that key a table without documents."""
        return self.key or tuple(self.columns)

    @property
    def index_columns(self) -> tuple[tuple[str, ...], ...]:
        if not self.documents:
            return self.indexes or ()
        return self.indexes if self.indexes is not None else tuple(
            (column,) for column in self.columns)

    def stored_key(self, key: str) -> str | int:
        return int(key) if self.key_type == "int" else key

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
        if self.appended and not self.write_only:
            raise ValueError(f"table {self.name!r}: only a write-only table is appended to")
        if self.key_type not in ("text", "int"):
            raise ValueError(f"table {self.name!r}: key type {self.key_type!r}")
        if not self.documents and (not self.write_only or not self.columns
                                   or self.key_type != "text"):
            raise ValueError(f"table {self.name!r}: a table without documents is write only "
                             "and has columns, which are its key")
        if self.key is not None and (self.documents or not self.key
                                     or not set(self.key) <= set(self.columns)):
            raise ValueError(f"table {self.name!r}: a key {self.key!r} of its columns is for "
                             "a table without documents")


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
    # What applying the log costs, in CPU microseconds an event, as measured in a rebuild's
    # workers: a rebuild balances its worker processes by it, so only ratios matter.
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
