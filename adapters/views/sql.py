"""The SQL both view stores speak; a `Dialect` holds what differs between SQLite and
PostgreSQL. Table and column names come from `Table`, which admits plain identifiers only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from projections.view import Table
from projections.view_reader import Range, UnknownColumn, Where

GENERATION_COLUMNS = ("generation, version, position, failed_position, failed_topic, "
                      "failed_originator, failed_error, failed_at")


@dataclass(frozen=True)
class Dialect:
    mark: str  # the parameter placeholder
    types: dict[str, str]  # column type -> SQL type
    doc_type: str
    doc_value: str  # how a document parameter is written into the doc column
    for_update: str  # row lock of a read-then-update, where the database has one
    no_limit: str  # what stands for "all rows" before an OFFSET
    clustered: str  # after a table's definition: store rows in their key's order, no rowid


class Statements:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        m = dialect.mark
        self.insert_active = f"insert into view_active (name, generation) values ({m}, {m})"
        self.select_active = f"select generation from view_active where name = {m}"
        self.update_active = f"update view_active set generation = {m} where name = {m}"
        self.insert_generation = (f"insert into view_generations (name, generation, version, "
                                  f"position) values ({m}, {m}, {m}, 0)")
        self.select_generation = (f"select {GENERATION_COLUMNS} from view_generations "
                                  f"where name = {m} and generation = {m}")
        self.lock_generation = self.select_generation + dialect.for_update
        self.max_generation = f"select max(generation) from view_generations where name = {m}"
        self.update_position = (f"update view_generations set position = {m} "
                                f"where name = {m} and generation = {m}")
        self.record_failure = (f"update view_generations set failed_position = {m}, "
                               f"failed_topic = {m}, failed_originator = {m}, failed_error = {m}, "
                               f"failed_at = {m} where name = {m} and generation = {m}")
        self.clear_failure = ("update view_generations set failed_position = null, "
                              "failed_topic = null, failed_originator = null, "
                              f"failed_error = null, failed_at = null "
                              f"where name = {m} and generation = {m}")
        self.delete_generation = (f"delete from view_generations where name = {m} "
                                  f"and generation = {m}")
        qualified = ", ".join(f"g.{column}" for column in GENERATION_COLUMNS.split(", "))
        self.select_status = (f"select g.name, a.generation, {qualified} "
                              "from view_generations g left join view_active a "
                              "on a.name = g.name order by g.name, g.generation")

    def metadata(self) -> list[str]:
        return [
            "create table if not exists view_active (name text primary key, "
            "generation bigint not null)",
            "create table if not exists view_generations (name text not null, "
            "generation bigint not null, version bigint not null, position bigint not null, "
            "failed_position bigint, failed_topic text, failed_originator text, "
            "failed_error text, failed_at text, primary key (name, generation))",
        ]

    def create_table(self, physical: str, table: Table) -> str:
        """The table with its key; its other indexes are `create_indexes`."""
        columns = [f"{name} {self.dialect.types[kind]}" for name, kind in table.columns.items()]
        if not table.documents:
            return (f"create table if not exists {physical} ({', '.join(columns)}, "
                    f"primary key ({', '.join(table.key_columns)})){self.dialect.clustered}")
        key = self.dialect.types["int"] if table.key_type == "int" else "text"
        return (f"create table if not exists {physical} (key {key} primary key, "
                f"doc {self.dialect.doc_type} not null{''.join(', ' + c for c in columns)})")

    @staticmethod
    def create_indexes(physical: str, table: Table) -> list[str]:
        """Each index ends with what breaks ties in `order_by` (the key): a page in an
        index's order is then read from the index. Without it, SQLite sorted every row of
        the filter for each page (a worklist page of 50 from 600 rows: 123 µs, against 14).
        An index made without it, by an earlier version, is replaced."""
        ties = ["key"] if table.documents else list(table.key_columns)
        statements = []
        for index in table.index_columns:
            columns = [*index, *(column for column in ties if column not in index)]
            name = f"{physical}_{'_'.join(index)}"
            if len(columns) > len(index):
                statements.append(f"drop index if exists {name}")
                name += "_k"
            statements.append(f"create index if not exists {name} "
                              f"on {physical} ({', '.join(columns)})")
        return statements

    @staticmethod
    def drop_table(physical: str) -> str:
        return f"drop table if exists {physical}"

    def select_doc(self, physical: str) -> str:
        return f"select doc from {physical} where key = {self.dialect.mark}"

    def delete_doc(self, physical: str) -> str:
        return f"delete from {physical} where key = {self.dialect.mark}"

    @staticmethod
    def row_columns(table: Table) -> list[str]:
        """A row's columns as written: the key, the document and the columns; or only the
        columns, for a table without documents."""
        return ["key", "doc", *table.columns] if table.documents else list(table.columns)

    def upsert(self, physical: str, table: Table) -> str:
        """Writes a row (parameters in `row_columns` order) over any with its key."""
        return self._upsert(physical, table, self._values(table))

    def insert(self, physical: str, table: Table) -> str:
        """Writes a row (parameters in `row_columns` order) whose key no row has."""
        return (f"insert into {physical} ({', '.join(self.row_columns(table))}) "
                f"{self._values(table)}")

    def _values(self, table: Table) -> str:
        m = self.dialect.mark
        values = ([m, self.dialect.doc_value, *[m] * len(table.columns)] if table.documents
                  else [m] * len(table.columns))
        return f"values ({', '.join(values)})"

    def upsert_from(self, physical: str, table: Table, source: str) -> str:
        """Writes every row of the table `source`, of the same columns, over any with its
        key (a later row over an earlier one with the same key: none may)."""
        return self._upsert(physical, table,
                            f"select {', '.join(self.row_columns(table))} from {source}")

    def _upsert(self, physical: str, table: Table, rows: str) -> str:
        names = ", ".join(self.row_columns(table))
        if not table.documents:  # the row is its key: written again, it is the same row
            return f"insert into {physical} ({names}) {rows} on conflict do nothing"
        updates = ", ".join(f"{name} = excluded.{name}" for name in ["doc", *table.columns])
        return (f"insert into {physical} ({names}) {rows} "
                f"on conflict (key) do update set {updates}")

    def where(self, table: Table, where: Where) -> tuple[str, list[Any]]:
        m, clauses, params = self.dialect.mark, [], []
        for column, wanted in where.items():
            self._check(table, column)
            if wanted is None:
                clauses.append(f"{column} is null")
            elif isinstance(wanted, Range):
                for operator, value in wanted.bounds():
                    clauses.append(f"{column} {operator} {m}")
                    params.append(value)
            elif isinstance(wanted, (list, tuple, set, frozenset)):
                values = [table.stored_key(v) for v in wanted] if column == "key" else list(
                    wanted)
                clauses.append(f"{column} in ({', '.join([m] * len(values))})" if values
                               else "1 = 0")
                params += values
            else:
                clauses.append(f"{column} = {m}")
                params.append(table.stored_key(wanted) if column == "key" else wanted)
        return (" where " + " and ".join(clauses)) if clauses else "", params

    def order_by(self, table: Table, order_by: Sequence[str]) -> str:
        terms = []
        for term in order_by:
            column = term.removeprefix("-")
            self._check(table, column)
            terms.append(f"{column} {'desc' if term.startswith('-') else 'asc'}")
        # Ties are broken by the key: the columns, for a table without documents.
        ties = ["key asc"] if table.documents else [f"{c} asc" for c in table.key_columns]
        return " order by " + ", ".join([*terms, *ties])

    def count(self, physical: str, clause: str) -> str:
        return f"select count(*) from {physical}{clause}"

    def select_docs(self, physical: str, table: Table, clause: str, ordering: str,
                    limit: int | None, offset: int) -> str:
        page = f" limit {int(limit)}" if limit is not None else (
            f" {self.dialect.no_limit}" if offset else "")
        page += f" offset {int(offset)}" if offset else ""
        selected = "doc" if table.documents else ", ".join(table.columns)
        return f"select {selected} from {physical}{clause}{ordering}{page}"

    @staticmethod
    def _check(table: Table, column: str) -> None:
        if column == "key" and not table.documents:
            raise UnknownColumn(f"{table.name} has no key apart from its columns")
        if column != "key" and column not in table.columns:
            raise UnknownColumn(f"{table.name} has no column {column!r} to filter or sort on")
