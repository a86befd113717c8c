"""The reading face of a view store (`projections.view_reader.ViewReader`): always the active
generation, resolved in the same snapshot as the rows it leads to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.view import Projection
from projections.view_reader import Where


class Reads:
    """Mixed into `ViewStore`: uses its read connection, statements and table owners."""

    # Errors of a read whose snapshot still named a generation that a switch has since
    # dropped (PostgreSQL: a dropped table is gone even for older snapshots). Read again.
    switched_under_read: tuple[type[Exception], ...] = ()

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self._again_if_switched(lambda: self._get(table, key))

    def find(self, table: str, where: Where | None = None, order_by: Sequence[str] = (),
             limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._again_if_switched(lambda: self._find(table, where, order_by, limit,
                                                          offset))

    def _again_if_switched(self, read):
        try:
            return read()
        except self.switched_under_read:
            return read()  # a new snapshot, which names the new generation

    def _get(self, table: str, key: str) -> dict[str, Any] | None:
        owner = self._owner(table)
        with self._read_lock, self._reading() as cursor:
            return self._load(cursor, table, self._active(cursor, owner.name) or 0, key)

    def _find(self, table: str, where: Where | None, order_by: Sequence[str],
              limit: int | None, offset: int) -> tuple[list[dict[str, Any]], int]:
        spec = self._table(table)
        clause, params = self.sql.where(spec, where or {})
        ordering = self.sql.order_by(spec, order_by)
        with self._read_lock, self._reading() as cursor:
            physical = self._physical(table, self._active(cursor, self._owner(table).name) or 0)
            cursor.execute(self.sql.count(physical, clause), params)
            total = int(cursor.fetchone()[0])
            cursor.execute(self.sql.select_docs(physical, spec, clause, ordering, limit,
                                                offset), params)
            if spec.documents:
                rows = [self._decode(row[0]) for row in cursor.fetchall()]
            else:
                rows = [dict(zip(spec.columns, row)) for row in cursor.fetchall()]
        return rows, total

    def _owner(self, table: str) -> Projection:
        try:
            return self._owners[table]
        except KeyError:
            raise KeyError(f"no view table {table!r} was opened in this store") from None
