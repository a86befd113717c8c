"""A rebuild's documents, written once: mixed into `ViewStore`.

A rebuild from an empty generation keeps every document in memory anyway (`DocumentCache`,
complete from position 0), and each of its large batches rewrote documents that the batches
before had written already: a case, a department's worklist, a month's counters, again and
again. So, while a generation is new, `apply_deferred` folds each batch into the documents in
memory and writes only the rows of write-only tables (a case's steps, the audit trail's
rows); `flush` then writes every document once, into the empty tables, with the position, in
one transaction. Until then the generation's tracked position stays 0, so that nothing takes
its tables for more than they are; a rebuild cut short is abandoned as before, and a batch
applied again only writes the same rows again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.views.failures import (
    EventFailed,
    GenerationError,
    ProjectionFailed,
    ProjectionStopped,
)
from adapters.views.generations import _failure
from adapters.views.unit_of_work import DocumentCache, UnitOfWork
from projections.logged import Logged
from projections.view import Projection


@dataclass
class _Deferral:
    cache: DocumentCache  # every document of the generation, as folded so far
    position: int = 0  # the last event folded
    unwritten: dict[str, dict[str, None]] = field(default_factory=dict)  # table -> keys
    # A write failed after a batch was folded: the documents are ahead of what the tables
    # and the caller know, and cannot be taken back. The rebuild must start again.
    broken: bool = False

    def check(self, name: str, generation: int) -> None:
        if self.broken:
            raise GenerationError(f"a write of the rebuild of {name} (generation "
                                  f"{generation}) failed; rebuild it again")


class Deferral:
    """Mixed into `ViewStore`: uses its locks, transactions, folding and writing."""

    def apply_deferred(self, projection: Projection, events: Sequence[Logged],
                       generation: int) -> int:
        """`apply_batch` for a rebuild: while `generation` is new and its documents fit in
        memory (`cache_limit`), the documents wait for `flush`; returns the last position."""
        key = (projection.name, generation)
        deferral = self._deferred.get(key)
        if deferral is None and key not in self._flushed:
            deferral = self._start_deferral(projection, generation)
        if deferral is None:
            return self.apply_batch(projection, events, generation)
        deferral.check(projection.name, generation)
        if sum(map(len, deferral.cache.docs.values())) > self.cache_limit:
            self.flush(projection, generation)  # too many to keep: written, and on as usual
            return self.apply_batch(projection, events, generation)
        views = UnitOfWork(projection.tables, deferral.cache, _never_stored)
        with self._write_lock:
            try:
                last = self._fold(projection, events, views, deferral.position, generation)
            except EventFailed as failed:
                del self._deferred[key]
                failure = self._record_failure(projection.name, failed)
                raise ProjectionFailed(projection.name, failed.generation, failure) \
                    from failed.error
            changes = views.changes()
            written = {table.name for table in projection.tables if table.write_only}
            for name, (puts, _deletes) in changes.items():
                if name not in written:  # a key deleted was never written, or is put here
                    unwritten = deferral.unwritten.setdefault(name, {})
                    unwritten.update(dict.fromkeys(doc_key for doc_key, _doc in puts))
            try:
                writes = self._writes(projection, generation, {
                    name: change for name, change in changes.items() if name in written})
                with self._writing() as cursor:
                    self._check_new(cursor, projection.name, generation)
                    for write in writes:  # appended rows: new keys, into a new table
                        self._write(cursor, replace(write, fresh=write.table.appended))
            except BaseException:
                deferral.broken = True
                raise
        deferral.position = last
        return last

    def flush(self, projection: Projection, generation: int) -> None:
        """Writes the documents `apply_deferred` kept, each once, and the position, in one
        transaction; later batches are applied as usual (`apply_batch`)."""
        key = (projection.name, generation)
        deferral = self._deferred.get(key)
        if deferral is None:
            return
        deferral.check(projection.name, generation)
        docs = deferral.cache.docs
        changes = {name: ([(doc_key, docs[name][doc_key]) for doc_key in keys
                           if docs[name][doc_key] is not None], [])
                   for name, keys in deferral.unwritten.items()}
        with self._write_lock:
            try:
                writes = self._writes(projection, generation, changes)
                with self._writing() as cursor:
                    self._check_new(cursor, projection.name, generation)
                    for write in writes:  # into empty tables, each key once: no conflict
                        self._write(cursor, replace(write, fresh=True))
                    if deferral.position > 0:
                        cursor.execute(self.sql.update_position,
                                       (deferral.position, projection.name, generation))
            except BaseException:
                deferral.broken = True
                raise
            del self._deferred[key]
            deferral.cache.position = deferral.position  # kept for the batches to come
            self._caches[key] = deferral.cache
            self._flushed.add(key)

    def _start_deferral(self, projection: Projection, generation: int) -> _Deferral | None:
        with self._read_lock, self._reading() as cursor:
            cursor.execute(self.sql.select_generation, (projection.name, generation))
            row = cursor.fetchone()
        if row is None or int(row[2]) != 0 or row[3] is not None:
            return None  # not a new generation: applied as usual, which says why if need be
        cache = DocumentCache(projection.tables, self.cache_limit)
        cache.reset(complete=True)  # empty tables: every document there is, is here
        deferral = self._deferred[projection.name, generation] = _Deferral(cache)
        return deferral

    def _check_new(self, cursor: Any, name: str, generation: int) -> None:
        cursor.execute(self.sql.lock_generation, (name, generation))
        row = cursor.fetchone()
        if row is None:
            raise GenerationError(f"projection {name} has no generation {generation}")
        if row[3] is not None:
            raise ProjectionStopped(name, generation, _failure(row))
        if int(row[2]) != 0:
            raise GenerationError(f"generation {generation} of {name} was written by another "
                                  "process while this one kept its documents")


def _never_stored(table: str, key: str) -> None:
    raise AssertionError(f"{table}/{key}: a new generation has nothing stored to read")
