"""Generations of a projection's tables: rebuilt beside the active ones, then switched to
atomically; and the status of every generation (position, version, last failure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.views.failures import Failure, GenerationBehind, GenerationError
from projections.view import Projection


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    generation: int
    active: bool
    version: int  # the projection version the generation was built with
    code_version: int | None  # the version of the projection now in code (None: unknown)
    position: int
    failure: Failure | None

    @property
    def needs_rebuild(self) -> bool:
        return self.active and self.code_version is not None and self.code_version != self.version

class Generations:
    """Mixed into `ViewStore`: uses its locks, transactions and statements."""

    def status(self) -> list[ProjectionStatus]:
        with self._read_lock, self._reading() as cursor:
            cursor.execute(self.sql.select_status)
            rows = cursor.fetchall()
        result = []
        for name, active, *row in rows:
            projection = self._projections.get(name)
            result.append(ProjectionStatus(
                name=name, generation=int(row[0]), active=int(row[0]) == active,
                version=int(row[1]), code_version=projection.version if projection else None,
                position=int(row[2]), failure=_failure(row)))
        return result

    def start_generation(self, name: str, indexed: bool = True) -> int:
        """Fresh empty tables and a tracking position of 0 for a rebuild of `name`.

        `indexed=False`: the tables get their keys only, and their other indexes when the
        generation is switched in (or `index_generation`, before). A rebuild fills its tables
        much faster so: an index made over a full table is one sort, where one kept up as
        rows come is a search and an insert in a tree for every row."""
        projection = self._projection(name)
        with self._write_lock, self._writing() as cursor:
            cursor.execute(self.sql.max_generation, (name,))
            generation = int(cursor.fetchone()[0] or 0) + 1
            self._create_generation(cursor, projection, generation, indexed)
        self._caches.pop((name, generation), None)
        return generation

    def index_generation(self, name: str, generation: int) -> None:
        """Makes the indexes a generation started without (`start_generation`) lacks."""
        projection = self._projection(name)
        with self._write_lock, self._writing() as cursor:
            self._create_indexes(cursor, projection, generation)

    def switch(self, name: str, generation: int) -> None:
        """Makes `generation` the one that answers, and drops the one it replaces, atomically.

        Only once it has caught up with the one it replaces (GenerationBehind otherwise): a
        query answered just before the switch must not see an older view just after it."""
        projection = self._projection(name)
        with self._write_lock, self._writing() as cursor:
            cursor.execute(self.sql.lock_generation, (name, generation))
            row = cursor.fetchone()
            if row is None:
                raise GenerationError(f"projection {name} has no generation {generation}")
            if row[3] is not None:
                raise GenerationError(f"generation {generation} of {name} has failed")
            old = self._active(cursor, name)
            if old == generation:
                return
            if old is not None:
                cursor.execute(self.sql.lock_generation, (name, old))
                replaced = cursor.fetchone()
                if replaced is not None and int(replaced[2]) > int(row[2]):
                    raise GenerationBehind(
                        f"generation {generation} of {name} is at position {row[2]}, behind "
                        f"the active generation at {replaced[2]}")
            # Never in without its indexes; made already, as a rebuild does, they cost
            # nothing here.
            self._create_indexes(cursor, projection, generation)
            cursor.execute(self.sql.update_active, (generation, name))
            if old is not None:
                self._drop_generation(cursor, projection, old)

    def abandon_generation(self, name: str, generation: int) -> None:
        """Drops a rebuild that will not be switched to (never the active generation)."""
        projection = self._projection(name)
        with self._write_lock, self._writing() as cursor:
            if self._active(cursor, name) == generation:
                raise GenerationError(f"generation {generation} of {name} is the active one")
            self._drop_generation(cursor, projection, generation)

    def _drop_generation(self, cursor: Any, projection: Projection, generation: int) -> None:
        self._caches.pop((projection.name, generation), None)
        self._deferred.pop((projection.name, generation), None)
        for table in projection.tables:
            cursor.execute(self.sql.drop_table(self._physical(table.name, generation)))
        cursor.execute(self.sql.delete_generation, (projection.name, generation))


def _failure(row: Any) -> Failure | None:
    """A generation row's failure columns (from `failed_position` on), if it failed."""
    position, topic, originator, error, at = row[3:8]
    if position is None:
        return None
    return Failure(int(position), topic, originator, error, at)
