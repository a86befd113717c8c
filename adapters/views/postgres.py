"""Views in PostgreSQL, for a district that outgrows one file (`VIEWS_DSN=postgresql://...`).

Documents are `jsonb`, so an operator can also query them with SQL. A batch locks its
projection's tracking row (`for update`): two runners of one projection take turns, and the
second skips what the first applied. `schema` puts every table in a schema of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg import sql

from adapters.views.base import ViewStore
from adapters.views.sql import Dialect

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

    def _encode(self, doc: dict[str, Any]) -> str:
        return orjson.dumps(doc).decode()

    def _decode(self, stored: Any) -> dict[str, Any]:
        return stored  # psycopg hands jsonb back as Python values

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()
