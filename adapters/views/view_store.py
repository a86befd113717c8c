"""A view store: projections' documents in SQL tables, each batch applied exactly once.

Every projection has generations: generation n keeps its tables as `<table>_g<n>` and its own
tracking row in `view_generations` (position, version, last failure). `view_active` says which
generation answers queries. A rebuild fills a fresh generation while the active one keeps
answering, then `switch` makes it active and drops the old tables in one transaction.

A batch is applied in one transaction with its tracking position: documents are read once,
kept in a unit of work, and written once with executemany at the end. Events at or below the
tracked position are skipped, so a batch sent twice changes nothing. A rebuild keeps a new
generation's documents in memory instead, and writes each once when it has caught up
(`deferred.py`).
"""

from __future__ import annotations

import operator
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from adapters.views.deferred import Deferral
from adapters.views.failures import (
    EventFailed,
    Failure,
    GenerationError,
    ProjectionFailed,
    ProjectionStopped,
)
from adapters.views.generations import Generations, _failure
from adapters.views.reads import Reads
from adapters.views.sql import Dialect, Statements
from adapters.views.unit_of_work import DocumentCache, UnitOfWork
from projections.logged import Logged
from projections.view import Projection, Table

STATUS_COLUMNS = ("generation", "version", "position", "failed_position", "failed_topic",
                  "failed_originator", "failed_error", "failed_at")


class ViewStore(Generations, Reads, Deferral, ABC):
    dialect: ClassVar[Dialect]
    # Whether a read is over in well under a millisecond, with nothing to wait for: a reader
    # may then read on its event loop, where a hop to a worker thread costs more than the read.
    local_reads: ClassVar[bool] = False

    def __init__(self, cache_limit: int = 100_000) -> None:
        self.sql = Statements(self.dialect)
        self.cache_limit = cache_limit  # documents kept between batches, per projection
        self._caches: dict[tuple[str, int], DocumentCache] = {}
        # A rebuild's documents kept until `flush` (deferred.py); and those flushed since.
        self._deferred: dict[tuple[str, int], Any] = {}
        self._flushed: set[tuple[str, int]] = set()
        self._projections: dict[str, Projection] = {}
        self._owners: dict[str, Projection] = {}  # table name -> its projection
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()

    # What each database does its own way.
    @abstractmethod
    def _writing(self) -> AbstractContextManager[Any]:
        """A cursor in a write transaction (committed on exit, rolled back on error)."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A cursor in a read transaction: one consistent snapshot."""

    @abstractmethod
    def _encode(self, doc: dict[str, Any]) -> Any: ...

    @abstractmethod
    def _decode(self, stored: Any) -> dict[str, Any]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> ViewStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Set-up.
    def open(self, projections: Iterable[Projection]) -> None:
        """Registers the projections and creates what is missing: the status tables, and the
        tables of each projection's active generation (generation 1 for a new one)."""
        for projection in projections:
            for table in projection.tables:
                owner = self._owners.setdefault(table.name, projection)
                if owner.name != projection.name:
                    raise ValueError(f"table {table.name} belongs to {owner.name} and "
                                     f"{projection.name}")
            self._projections[projection.name] = projection
        with self._write_lock, self._writing() as cursor:
            for statement in self.sql.metadata():
                cursor.execute(statement)
            for projection in self._projections.values():
                generation = self._active(cursor, projection.name)
                if generation is None:
                    generation = 1
                    self._create_generation(cursor, projection, generation)
                    cursor.execute(self.sql.insert_active, (projection.name, generation))
                else:
                    self._create_tables(cursor, projection, generation)

    def _create_generation(self, cursor: Any, projection: Projection, generation: int,
                           indexed: bool = True) -> None:
        for table in projection.tables:
            cursor.execute(self.sql.drop_table(self._physical(table.name, generation)))
        self._create_tables(cursor, projection, generation, indexed)
        cursor.execute(self.sql.insert_generation,
                       (projection.name, generation, projection.version))

    def _create_tables(self, cursor: Any, projection: Projection, generation: int,
                       indexed: bool = True) -> None:
        for table in projection.tables:
            cursor.execute(self.sql.create_table(self._physical(table.name, generation), table))
        if indexed:
            self._create_indexes(cursor, projection, generation)

    def _create_indexes(self, cursor: Any, projection: Projection, generation: int) -> None:
        for table in projection.tables:
            for statement in self.sql.create_indexes(self._physical(table.name, generation),
                                                     table):
                cursor.execute(statement)

    @staticmethod
    def _physical(table: str, generation: int) -> str:
        return f"{table}_g{generation}"

    def _table(self, name: str) -> Table:
        try:
            owner = self._owners[name]
        except KeyError:
            raise KeyError(f"no view table {name!r} was opened in this store") from None
        return next(table for table in owner.tables if table.name == name)

    def _projection(self, name: str) -> Projection:
        try:
            return self._projections[name]
        except KeyError:
            raise KeyError(f"no projection {name!r} was opened in this store") from None

    def _active(self, cursor: Any, name: str) -> int | None:
        cursor.execute(self.sql.select_active, (name,))
        row = cursor.fetchone()
        return None if row is None else int(row[0])

    # Applying events, exactly once.
    def position(self, name: str, generation: int | None = None) -> int:
        with self._read_lock, self._reading() as cursor:
            generation = generation or self._active(cursor, name)
            cursor.execute(self.sql.select_generation, (name, generation))
            row = cursor.fetchone()
        if row is None:
            raise GenerationError(f"projection {name} has no generation {generation}")
        return int(row[2])

    def apply_batch(self, projection: Projection, events: Sequence[Logged],
                    generation: int | None = None) -> int:
        """Applies, in one transaction, every event after the tracked position; returns the
        new position (the last event's, whether or not the projection reads its topic)."""
        self._projection(projection.name)
        with self._write_lock:
            ahead = None if generation is None else self._fold_ahead(projection, events,
                                                                     generation)
            try:
                with self._writing() as cursor:
                    return self._apply(cursor, projection, events, generation, ahead)
            except EventFailed as failed:
                failure = self._record_failure(projection.name, failed)
                raise ProjectionFailed(projection.name, failed.generation, failure) \
                    from failed.error

    def _fold_ahead(self, projection: Projection, events: Sequence[Logged],
                    generation: int) -> _Folded | None:
        """The batch folded before its transaction begins, when no document has to be read
        from the database for it: every one is cached (a rebuild, from empty tables on).

        SQLite lets one writer in at a time: folded inside the transaction, batches of two
        processes rebuilding different views would queue for the whole of their work, not
        only for their writes; so the documents are encoded here too. The fold stands only
        if, under the write lock, the tracked position is still the one it started from."""
        cache = self._caches.get((projection.name, generation))
        if cache is None or not cache.complete or cache.position is None:
            return None
        views = UnitOfWork(projection.tables, cache, _cached_only)
        try:
            last = self._fold(projection, events, views, cache.position, generation)
            writes = self._writes(projection, generation, views.changes())
        except Exception:  # noqa: BLE001 - folded again in the transaction, which reports it
            cache.reset()
            return None
        return _Folded(cache.position, last, writes)

    def _apply(self, cursor: Any, projection: Projection, events: Sequence[Logged],
               generation: int | None, ahead: _Folded | None = None) -> int:
        name = projection.name
        generation = generation or self._active(cursor, name)
        cursor.execute(self.sql.lock_generation, (name, generation))
        row = cursor.fetchone()
        if row is None:
            raise GenerationError(f"projection {name} has no generation {generation}")
        tracked = int(row[2])
        if row[3] is not None:
            raise ProjectionStopped(name, generation, _failure(row))
        cache = self._caches.get((name, generation))
        if cache is None:
            cache = self._caches[name, generation] = DocumentCache(projection.tables,
                                                                   self.cache_limit)
        try:
            if ahead is not None and ahead.tracked == tracked == cache.position:
                writes, last = ahead.writes, ahead.last
            else:
                if ahead is not None:
                    cache.reset()  # folded from a position that is not the tracked one
                cache.check_out(tracked)
                views = UnitOfWork(projection.tables, cache,
                                   lambda table, key: self._load(cursor, table, generation, key))
                last = self._fold(projection, events, views, tracked, generation)
                writes = self._writes(projection, generation, views.changes())
            for write in writes:
                self._write(cursor, write)
            if last > tracked:
                cursor.execute(self.sql.update_position, (last, name, generation))
        except BaseException:
            cache.reset()  # it may hold changes that are being rolled back
            raise
        cache.check_in(last)
        return last

    @staticmethod
    def _fold(projection: Projection, events: Sequence[Logged], views: UnitOfWork,
              tracked: int, generation: int) -> int:
        """Folds the events after `tracked` into `views`; returns the last position."""
        topics, apply, last = projection.topics, projection.apply, tracked
        for event in events:
            if event.position <= last:
                if event.position <= tracked:
                    continue  # applied by an earlier batch
                raise ValueError(f"events out of order: {event.position} after {last}")
            if event.topic in topics:
                try:
                    apply(event, views)
                except Exception as error:
                    raise EventFailed(generation, event, error) from error
            last = event.position
        return last

    def _load(self, cursor: Any, table: str, generation: int, key: str) -> dict | None:
        spec = self._table(table)
        if not spec.documents:
            raise KeyError(f"{table} has no documents to get: find its rows")
        cursor.execute(self.sql.select_doc(self._physical(table, generation)),
                       (spec.stored_key(key),))
        row = cursor.fetchone()
        return None if row is None else self._decode(row[0])

    def _writes(self, projection: Projection, generation: int,
                changes: dict[str, tuple[list[tuple[str, Any]], list[str]]]
                ) -> list[TableWrites]:
        """A batch's writes (`UnitOfWork.changes`), table by table, documents encoded: all
        that can be made before the write lock is taken."""
        tables = {table.name: table for table in projection.tables}
        encode, writes = self._encode, []
        for name, (puts, deletes) in changes.items():
            table, physical = tables[name], self._physical(name, generation)
            columns = tuple(table.columns)
            if not table.documents:
                if deletes:
                    raise ValueError(f"{name}: rows of a table without documents stay")
                row_of = _getter(columns)  # every column is there: they are the row
                writes.append(TableWrites(table, physical, [row_of(doc) for _key, doc in puts]))
                continue
            stored_key = int if table.key_type == "int" else str
            rows = []
            values_of = _getter(columns)
            for key, doc in puts:
                try:
                    values = values_of(doc)
                except KeyError:  # a column the document leaves out: null
                    values = tuple([doc.get(column) for column in columns])
                rows.append((stored_key(key), encode(doc), *values))
            writes.append(TableWrites(table, physical, rows,
                                      [(stored_key(key),) for key in deletes]))
        return writes

    def _write(self, cursor: Any, write: TableWrites) -> None:
        """Runs one table's writes of a batch."""
        if write.rows:
            self._write_rows(cursor, write)
        if write.deleted:
            cursor.executemany(self.sql.delete_doc(write.physical), write.deleted)

    def _write_rows(self, cursor: Any, write: TableWrites) -> None:
        """A statement a row; a store may write many rows its own faster way."""
        statement = (self.sql.insert(write.physical, write.table) if write.fresh
                     else self.sql.upsert(write.physical, write.table))
        cursor.executemany(statement, write.rows)

    def _record_failure(self, name: str, failed: EventFailed) -> Failure:
        event = failed.event
        failure = Failure(event.position, event.topic, event.originator_id,
                          f"{type(failed.error).__name__}: {failed.error}",
                          datetime.now(timezone.utc).isoformat())
        with self._writing() as cursor:
            cursor.execute(self.sql.record_failure, (
                failure.position, failure.topic, failure.originator_id, failure.error,
                failure.failed_at, name, failed.generation))
        return failure

    def clear_failure(self, name: str, generation: int | None = None) -> None:
        """Lets a stopped projection go on from where it stopped (once its cause is fixed)."""
        with self._write_lock, self._writing() as cursor:
            generation = generation or self._active(cursor, name)
            cursor.execute(self.sql.clear_failure, (name, generation))

@dataclass(frozen=True)
class TableWrites:
    """One table's writes in a batch: rows to write, in `Statements.row_columns` order (each
    written over any row with its key), and keys to delete."""
    table: Table
    physical: str
    rows: list[tuple]
    deleted: list[tuple] = field(default_factory=list)
    fresh: bool = False  # the table is empty, and each key is written once: no conflict


@dataclass(frozen=True)
class _Folded:
    tracked: int  # the position the fold started after
    last: int
    writes: list[TableWrites]  # ready to execute


def _getter(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple]:
    """A document's values of `columns`, as a tuple, made in C (itemgetter)."""
    if not columns:
        return lambda _doc: ()
    get = operator.itemgetter(*columns)
    return get if len(columns) > 1 else lambda doc: (get(doc),)


def _cached_only(table: str, key: str) -> None:
    raise AssertionError(f"{table}/{key}: a complete cache never reads the database")

