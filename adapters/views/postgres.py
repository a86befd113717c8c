"""Views in PostgreSQL, for a district that outgrows one file (`VIEWS_DSN=postgresql://...`).

Documents are `jsonb`, so an operator can also query them with SQL. A batch locks its
projection's tracking row (`for update`): two runners of one projection take turns, and the
second skips what the first applied. `schema` puts every table in a schema of its own.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg import sql

from adapters.views.sql import Dialect
from adapters.views.view_store import TableWrites, ViewStore
from projections.view import Table

# From this many rows, a table's writes in a batch go through COPY (`_write`); fewer are not
# worth a statement more.
COPY_FROM_ROWS = 500

POSTGRES = Dialect(mark="%s", types={"text": "text", "int": "bigint", "real": "double precision"},
                   doc_type="jsonb", doc_value="%s::jsonb", for_update=" for update",
                   no_limit="", clustered="")


class PostgresViewStore(ViewStore):
    switched_under_read = (psycopg.errors.UndefinedTable,)
    dialect = POSTGRES

    def __init__(self, dsn: str, schema: str | None = None) -> None:
        super().__init__()
        self.dsn, self.schema = dsn, schema
        self._writer = self._connect()
        self._reader = self._connect()

    def __reduce__(self) -> tuple:
        # Pickled as how to open it again: a rebuild's worker process opens its own.
        return type(self), (self.dsn, self.schema)

    def _connect(self) -> psycopg.Connection:
        connection = psycopg.connect(self.dsn, autocommit=True)
        if self.schema:
            connection.execute(sql.SQL("create schema if not exists {}").format(
                sql.Identifier(self.schema)))
            connection.execute(sql.SQL("set search_path to {}").format(
                sql.Identifier(self.schema)))
        return connection

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Cursor]:
        with self._writer.transaction(), self._writer.cursor() as cursor:
            yield cursor

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Cursor]:
        # One snapshot for the generation lookup and the rows it leads to.
        with self._reader.transaction(), self._reader.cursor() as cursor:
            cursor.execute("set transaction isolation level repeatable read, read only")
            yield cursor

    def _write_rows(self, cursor: psycopg.Cursor, write: TableWrites) -> None:
        """Many rows are copied into a temporary table, then written from it in one
        statement: a statement a row had cost the server and this process together four
        times the CPU (a rebuild writes hundreds of thousands of rows a table)."""
        if len(write.rows) < COPY_FROM_ROWS:
            super()._write_rows(cursor, write)
            return
        table, staged = write.table, f"{write.physical}_staged"
        if write.fresh:  # new rows into an empty table, each key once: straight in
            self._copy(cursor, write.physical, table, write.rows)
            return
        # One statement writes a key once only: the row a statement a row would have left,
        # the last put with that key (the first, for rows without documents: those stay).
        key_of, rows = _key_of(table), {}
        if table.documents:
            for row in write.rows:
                rows[key_of(row)] = row
        else:
            for row in write.rows:
                rows.setdefault(key_of(row), row)
        cursor.execute(f"create temporary table if not exists {staged} "
                       f"(like {write.physical}) on commit delete rows")
        self._copy(cursor, staged, table, rows.values())
        cursor.execute(self.sql.upsert_from(write.physical, table, staged))

    def _copy(self, cursor: psycopg.Cursor, target: str, table: Table,
              rows: Iterable[tuple]) -> None:
        columns = ", ".join(self.sql.row_columns(table))
        with cursor.copy(f"copy {target} ({columns}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)

    def _encode(self, doc: dict[str, Any]) -> str:
        return orjson.dumps(doc).decode()

    def _decode(self, stored: Any) -> dict[str, Any]:
        return stored  # psycopg hands jsonb back as Python values

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()


def _key_of(table: Table) -> Callable[[tuple], Any]:
    """A written row's key (`Statements.row_columns` order)."""
    if table.documents:
        return operator.itemgetter(0)
    columns = list(table.columns)
    return operator.itemgetter(*[columns.index(column) for column in table.key_columns])
