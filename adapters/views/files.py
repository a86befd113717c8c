"""Views in SQLite, a file per projection: the embedded default (`<data dir>/views/`).

SQLite lets one writer at a time into a file. With every projection in one file, the worker
processes of a rebuild (one per CPU, each applying its own projections) queued for that one
lock: a seventh of a rebuild's time went to waiting for it. A file per projection lets each
write beside the others, and a rebuild of one view never holds up the service's followers
writing the rest. A projection's tables and its tracking rows are in its own file, so a batch
is still applied in one transaction with its tracking position.

`SqliteViewFiles` has the face of a `ViewStore` and hands each call to the projection's own
`SqliteViewStore`; a query of a table goes to the file of the projection that owns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from adapters.views.generations import ProjectionStatus
from adapters.views.sqlite import SqliteViewStore
from projections.logged import Logged
from projections.view import Projection
from projections.view_reader import Where


class SqliteViewFiles:
    local_reads = SqliteViewStore.local_reads

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._cache_limit: int | None = None
        self._files: dict[str, SqliteViewStore] = {}  # projection name -> its file
        self._owners: dict[str, str] = {}  # table name -> projection name

    def __reduce__(self) -> tuple:
        # Pickled as how to open it again: a rebuild's worker process opens its own.
        return type(self), (self.directory,)

    def __enter__(self) -> SqliteViewFiles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def cache_limit(self) -> int | None:
        return self._cache_limit

    @cache_limit.setter
    def cache_limit(self, limit: int) -> None:
        """Documents kept between batches, per projection (see `ViewStore`)."""
        self._cache_limit = limit
        for store in self._files.values():
            store.cache_limit = limit

    def path_of(self, name: str) -> Path:
        return self.directory / f"{name}.sqlite3"

    def open(self, projections: Iterable[Projection]) -> None:
        for projection in projections:
            for table in projection.tables:
                owner = self._owners.setdefault(table.name, projection.name)
                if owner != projection.name:
                    raise ValueError(f"table {table.name} belongs to {owner} and "
                                     f"{projection.name}")
            store = self._files.get(projection.name)
            if store is None:
                store = self._files[projection.name] = SqliteViewStore(
                    self.path_of(projection.name))
                if self._cache_limit is not None:
                    store.cache_limit = self._cache_limit
            store.open([projection])

    def close(self) -> None:
        for store in self._files.values():
            store.close()

    # Applying, and generations: the projection's own file.
    def apply_batch(self, projection: Projection, events: Sequence[Logged],
                    generation: int | None = None) -> int:
        return self._file(projection.name).apply_batch(projection, events, generation)

    def apply_deferred(self, projection: Projection, events: Sequence[Logged],
                       generation: int) -> int:
        return self._file(projection.name).apply_deferred(projection, events, generation)

    def flush(self, projection: Projection, generation: int) -> None:
        self._file(projection.name).flush(projection, generation)

    def position(self, name: str, generation: int | None = None) -> int:
        return self._file(name).position(name, generation)

    def start_generation(self, name: str, indexed: bool = True) -> int:
        return self._file(name).start_generation(name, indexed)

    def index_generation(self, name: str, generation: int) -> None:
        self._file(name).index_generation(name, generation)

    def switch(self, name: str, generation: int) -> None:
        self._file(name).switch(name, generation)

    def abandon_generation(self, name: str, generation: int) -> None:
        self._file(name).abandon_generation(name, generation)

    def clear_failure(self, name: str, generation: int | None = None) -> None:
        self._file(name).clear_failure(name, generation)

    def status(self) -> list[ProjectionStatus]:
        return sorted((status for store in self._files.values() for status in store.status()),
                      key=lambda status: (status.name, status.generation))

    # Reading: the file of the projection that owns the table.
    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self._owner(table).get(table, key)

    def find(self, table: str, where: Where | None = None, order_by: Sequence[str] = (),
             limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._owner(table).find(table, where, order_by, limit, offset)

    def _file(self, name: str) -> SqliteViewStore:
        try:
            return self._files[name]
        except KeyError:
            raise KeyError(f"no projection {name!r} was opened in this store") from None

    def _owner(self, table: str) -> SqliteViewStore:
        try:
            return self._files[self._owners[table]]
        except KeyError:
            raise KeyError(f"no view table {table!r} was opened in this store") from None
