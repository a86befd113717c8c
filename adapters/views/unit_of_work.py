"""The documents a batch reads and writes, each read once and written once; and the
documents kept between batches by the process that writes them.

A `DocumentCache` is trusted only while the tracked position is the one it was left at: if
another writer applied a batch meanwhile, or a batch failed half-way through changing cached
documents, it starts afresh. From position 0 (empty tables) it even knows every key there
is, so a rebuild never asks the database for a document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.view import Table

Doc = dict[str, Any]


class DocumentCache:
    def __init__(self, tables: tuple[Table, ...], limit: int) -> None:
        self.names = [table.name for table in tables if not table.write_only]
        self.limit = limit
        self.position: int | None = None
        self.complete = False  # every stored document is in `docs`
        self.docs: dict[str, dict[str, Doc | None]] = {name: {} for name in self.names}

    def check_out(self, tracked: int) -> None:
        if self.position != tracked:
            self.reset(complete=tracked == 0)

    def check_in(self, position: int) -> None:
        self.position = position
        if sum(map(len, self.docs.values())) > self.limit:
            self.reset(complete=False)
            self.position = position

    def reset(self, complete: bool = False) -> None:
        self.position, self.complete = None, complete
        self.docs = {name: {} for name in self.names}


class UnitOfWork:
    """`Views` for one batch: reads fall through to the store once per key, writes stay here
    until `changes()` hands the final state of every touched key to the store.

    Rows of a write-only table are kept in the order they were put, not by key: the store
    writes them in log order, which for keys that grow with the log (positions) is an
    append to the table rather than an insert at some random place in it."""

    __slots__ = ("_cache", "_dirty", "_appended", "_load", "_complete")

    def __init__(self, tables: tuple[Table, ...], cache: DocumentCache,
                 load: Callable[[str, str], Doc | None]) -> None:
        self._cache = {table.name: cache.docs.get(table.name, {}) for table in tables
                       if not table.write_only}
        self._complete = {name for name in cache.names if cache.complete}
        # Keys in the order first written (a dict: ordered, unlike a set).
        self._dirty: dict[str, dict[str, None]] = {name: {} for name in self._cache}
        self._appended: dict[str, list[tuple[str, Doc]]] = {
            table.name: [] for table in tables if table.write_only}
        self._load = load

    def get(self, table: str, key: str) -> Doc | None:
        try:
            cached = self._cache[table]
        except KeyError:
            raise ValueError(f"{table} is write only: its projection never reads it") from None
        try:
            return cached[key]
        except KeyError:
            doc = cached[key] = None if table in self._complete else self._load(table, key)
            return doc

    def put(self, table: str, key: str, doc: Doc) -> None:
        appended = self._appended.get(table)
        if appended is not None:
            appended.append((key, doc))
            return
        self._cache[table][key] = doc
        self._dirty[table][key] = None

    def delete(self, table: str, key: str) -> None:
        if table in self._appended:
            raise ValueError(f"{table} is write only: its rows are never taken back")
        self._cache[table][key] = None
        self._dirty[table][key] = None

    def changes(self) -> dict[str, tuple[list[tuple[str, Doc]], list[str]]]:
        """Per table: the documents to write and the keys to delete."""
        result: dict[str, tuple[list[tuple[str, Doc]], list[str]]] = {
            table: (rows, []) for table, rows in self._appended.items() if rows}
        for table, keys in self._dirty.items():
            cached = self._cache[table]
            puts = [(key, cached[key]) for key in keys if cached[key] is not None]
            deletes = [key for key in keys if cached[key] is None]
            if puts or deletes:
                result[table] = (puts, deletes)
        return result
