"""The view store contract, run on SQLite and on PostgreSQL (a schema of its own per test)."""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
from datetime import timedelta
from typing import ClassVar

import pytest

from adapters.views import (
    GenerationError,
    ProjectionFailed,
    ProjectionStopped,
    SqliteViewFiles,
    SqliteViewStore,
    open_view_store,
)
from projections import ALL_PROJECTIONS
from projections.audit import EveryTopic
from projections.intake import INTAKE, Intake
from projections.logged import Logged
from projections.memory import InMemoryViews
from projections.view import Projection, Table, Views, handles
from projections.view_reader import UnknownColumn
from tests.domain.scenario import run_case_scenario
from tests.projections.support import logged_since


class Fragile(Projection):
    """Counts case submissions, and cannot apply the event at `breaks_at`."""

    name = "fragile"
    tables = (Table("fragile_counts", {"n": "int"}),)
    breaks_at: ClassVar[int | None] = None

    @handles("case.submitted", "case.accepted")
    def _count(self, event: Logged, views: Views) -> None:
        if event.position == self.breaks_at:
            raise ValueError("cannot read this one")
        doc = views.get("fragile_counts", "all") or {"n": 0}
        doc["n"] += 1
        views.put("fragile_counts", "all", doc)


class Seen(Projection):
    """Every event by its position (integer keys), two departments' rows for each (rows
    without documents), and a count of the events applied."""

    name = "seen"
    tables = (Table("seen_events", {"position": "int"}, write_only=True, key_type="int"),
              Table("seen_by", {"department": "text", "position": "int"}, write_only=True,
                    documents=False),
              Table("seen_count"))
    topics = EveryTopic()  # type: ignore[assignment]

    def apply(self, event: Logged, views: Views) -> None:
        views.put("seen_events", str(event.position),
                  {"position": event.position, "topic": event.topic})
        for department in ("jxw", "samr"):
            views.put("seen_by", f"{event.position}:{department}",
                      {"department": department, "position": event.position})
        count = views.get("seen_count", "all") or {"n": 0}
        count["n"] += 1
        views.put("seen_count", "all", count)


class Bulky(Projection):
    """A document of 4 KiB for every event."""

    name = "bulky"
    tables = (Table("bulky_docs"),)
    topics = EveryTopic()  # type: ignore[assignment]

    def apply(self, event: Logged, views: Views) -> None:
        views.put("bulky_docs", str(event.position), {"text": "x" * 4096})


def same(rows):
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


class Twice(Projection):
    """Writes one key again and again: a document (the last stands) and a row without one
    (the first stays)."""

    name = "twice"
    tables = (Table("twice_docs", {"n": "int"}, write_only=True),
              Table("twice_rows", {"k": "text", "n": "int"}, key=("k",), write_only=True,
                    documents=False))
    topics = EveryTopic()  # type: ignore[assignment]

    def apply(self, event: Logged, views: Views) -> None:
        views.put("twice_docs", "same", {"n": event.position})
        views.put("twice_rows", "same", {"k": "same", "n": event.position})


class Again(Projection):
    """Declares its rows appended (each key new), and puts one key again and again."""

    name = "again"
    tables = (Table("again_rows", {"k": "text"}, write_only=True, documents=False,
                    appended=True),)
    topics = EveryTopic()  # type: ignore[assignment]

    def apply(self, event: Logged, views: Views) -> None:
        views.put("again_rows", "same", {"k": "same"})


OPENED = [*ALL_PROJECTIONS, Fragile(), Seen(), Twice(), Again()]


def unique_key_errors() -> tuple[type[Exception], ...]:
    """What each database raises for a second row with a key (PostgreSQL: if installed)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


class ViewStoreContract:
    @pytest.fixture
    def store(self):
        raise NotImplementedError

    @pytest.fixture
    def events(self, world):
        run_case_scenario(world.app)
        run_case_scenario(world.app)
        return logged_since(world)

    def test_every_view_matches_the_in_memory_fold_whatever_the_batches(self, store, events):
        for projection in ALL_PROJECTIONS:
            for start in range(0, len(events), 7):
                store.apply_batch(projection, events[start:start + 7])
            expected = InMemoryViews().fold(projection, events)
            for table in projection.tables:
                assert same(store.find(table.name)[0]) == \
                    same(expected.rows(table.name).values()), table.name

    def test_a_key_written_again_keeps_the_last_document_and_the_first_row(
            self, store, events):
        store.apply_batch(Twice(), events[:5])
        store.apply_batch(Twice(), events[5:])
        assert store.find("twice_docs")[0] == [{"n": events[-1].position}]
        assert store.find("twice_rows")[0] == [{"k": "same", "n": events[0].position}]

    def test_a_batch_sent_again_or_overlapping_changes_nothing(self, store, events):
        intake = Intake()
        assert store.apply_batch(intake, events[:25]) == 25
        assert store.apply_batch(intake, events[10:]) == len(events)
        assert store.apply_batch(intake, events) == len(events)
        rows, total = store.find(INTAKE)
        assert total == 1 and rows[0]["submitted"] == 2
        assert store.position("intake") == len(events)

    def test_positions_keep_pace_with_events_a_view_does_not_read(self, store, events):
        unread = [e for e in events if e.topic.startswith("expert.")]
        assert store.apply_batch(Intake(), unread) == unread[-1].position
        assert store.find(INTAKE) == ([], 0)

    def test_a_failing_event_writes_nothing_of_its_batch_and_stops_only_its_view(
            self, store, events, monkeypatch):
        fragile = Fragile()
        store.apply_batch(fragile, events[:5])
        counted = sum(e.topic in Fragile.topics for e in events[:5])
        accepted = next(e for e in events[5:] if e.topic == "case.accepted")
        monkeypatch.setattr(Fragile, "breaks_at", accepted.position)

        with pytest.raises(ProjectionFailed) as failed:
            store.apply_batch(fragile, events)
        assert isinstance(failed.value.__cause__, ValueError)
        assert store.get("fragile_counts", "all")["n"] == counted  # the first batch's only
        status = {s.name: s for s in store.status()}["fragile"]
        assert status.position == 5
        assert (status.failure.position, status.failure.topic) == (accepted.position,
                                                                   "case.accepted")
        assert status.failure.originator_id == accepted.originator_id
        assert "ValueError: cannot read this one" in status.failure.error
        with pytest.raises(ProjectionStopped):
            store.apply_batch(fragile, events)
        assert store.apply_batch(Intake(), events) == len(events)  # the others go on

        monkeypatch.setattr(Fragile, "breaks_at", None)  # the fix is deployed
        store.clear_failure("fragile")
        assert store.apply_batch(fragile, events) == len(events)
        assert store.get("fragile_counts", "all")["n"] == 4
        assert {s.name: s for s in store.status()}["fragile"].failure is None

    def test_a_rebuild_fills_a_new_generation_while_the_old_answers_then_switches(
            self, store, events):
        intake = Intake()
        half = len(events) // 2
        store.apply_batch(intake, events[:half])
        generation = store.start_generation("intake")
        assert generation == 2
        store.apply_batch(intake, events, generation=generation)
        assert store.find(INTAKE)[0][0]["submitted"] == 1  # still generation 1
        assert store.position("intake", generation) == len(events)

        store.switch("intake", generation)
        assert store.find(INTAKE)[0][0]["submitted"] == 2
        assert store.position("intake") == len(events)
        assert [(s.generation, s.active) for s in store.status() if s.name == "intake"] == [
            (2, True)]
        with pytest.raises(GenerationError):
            store.switch("intake", 1)

    def indexes(self, store, projection: str, physical: str) -> set[str]:
        """The names of a table's indexes beside its key."""
        raise NotImplementedError

    def test_a_rebuild_keeping_its_documents_until_flushed_gives_the_same_views(
            self, store, events):
        # Each document written once at the end (deferred.py), the rows of write-only
        # tables as they come; then batches as usual.
        half = len(events) // 2
        for projection in ALL_PROJECTIONS:
            generation = store.start_generation(projection.name, indexed=False)
            for start in range(0, half, 7):
                store.apply_deferred(projection, events[start:min(start + 7, half)],
                                     generation)
            assert store.position(projection.name, generation) == 0  # nothing claimed yet
            store.flush(projection, generation)
            assert store.position(projection.name, generation) == events[half - 1].position
            for start in range(half, len(events), 7):  # chasing the log: as usual
                store.apply_deferred(projection, events[start:start + 7], generation)
            store.switch(projection.name, generation)
            expected = InMemoryViews().fold(projection, events)
            for table in projection.tables:
                assert same(store.find(table.name)[0]) == \
                    same(expected.rows(table.name).values()), table.name

    def test_rows_of_write_only_tables_are_written_before_the_flush(self, store, events):
        generation = store.start_generation("seen")
        store.apply_deferred(Seen(), events, generation)
        written = store._file("seen") if isinstance(store, SqliteViewFiles) else store
        count = written._reader.execute(
            f"select count(*) from seen_events_g{generation}").fetchone()[0]
        assert count == len(events) and store.position("seen", generation) == 0
        store.flush(Seen(), generation)
        store.switch("seen", generation)
        assert store.get("seen_count", "all")["n"] == len(events)

    def test_a_failure_while_keeping_documents_stops_the_generation(
            self, store, events, monkeypatch):
        generation = store.start_generation("fragile")
        store.apply_deferred(Fragile(), events[:5], generation)
        poison = next(event.position for event in events[5:]
                      if event.topic in ("case.submitted", "case.accepted"))
        monkeypatch.setattr(Fragile, "breaks_at", poison)
        with pytest.raises(ProjectionFailed) as failed:
            store.apply_deferred(Fragile(), events[5:], generation)
        assert failed.value.failure.position == poison
        with pytest.raises(GenerationError):
            store.switch("fragile", generation)

    def test_documents_beyond_the_cache_limit_are_written_at_once_and_kept_right(
            self, store, events):
        store.cache_limit = 1  # the second case is one too many (SqliteViewFiles: each file)
        generation = store.start_generation("cases")
        cases = next(p for p in ALL_PROJECTIONS if p.name == "cases")
        for start in range(0, len(events), 7):
            store.apply_deferred(cases, events[start:start + 7], generation)
        assert store.position("cases", generation) == events[-1].position  # flushed early
        store.flush(cases, generation)  # nothing left to write
        store.switch("cases", generation)
        expected = InMemoryViews().fold(cases, events)
        assert same(store.find("cases")[0]) == same(expected.rows("cases").values())

    def test_a_write_that_fails_while_documents_are_kept_ends_that_rebuild(
            self, store, events, monkeypatch):
        # The batch was folded into the documents already: going on would apply it twice.
        generation = store.start_generation("seen")
        writer = store._file("seen") if isinstance(store, SqliteViewFiles) else store

        def disk_full(cursor, write):
            raise OSError("disk full")

        monkeypatch.setattr(writer, "_write", disk_full)
        with pytest.raises(OSError):
            store.apply_deferred(Seen(), events[:5], generation)
        monkeypatch.undo()
        with pytest.raises(GenerationError):
            store.apply_deferred(Seen(), events[5:], generation)
        with pytest.raises(GenerationError):
            store.flush(Seen(), generation)

    def test_a_row_put_again_in_an_appended_table_fails_a_rebuild_loudly(self, store, events):
        # Rows declared appended go into a rebuild's tables without a look for their keys: a
        # projection that breaks the promise fails there, it does not overwrite.
        generation = store.start_generation("again")
        with pytest.raises(unique_key_errors()):
            store.apply_deferred(Again(), events, generation)
        with pytest.raises(GenerationError):
            store.flush(Again(), generation)

    def test_another_writer_of_a_new_generation_is_found_out_at_the_flush(self, store, events):
        generation = store.start_generation("intake")
        store.apply_deferred(Intake(), events[:10], generation)
        store.apply_batch(Intake(), events[:3], generation=generation)  # someone else
        with pytest.raises(GenerationError):
            store.flush(Intake(), generation)

    def test_a_generation_started_without_indexes_gets_them_when_switched_in(
            self, store, events):
        # A rebuild fills its tables first and indexes them after: one sort, not a tree
        # insert for every row.
        generation = store.start_generation("intake", indexed=False)
        physical = f"{INTAKE}_g{generation}"
        assert self.indexes(store, "intake", physical) == set()
        store.apply_batch(Intake(), events, generation=generation)
        store.switch("intake", generation)
        assert self.indexes(store, "intake", physical) == {f"{physical}_day_k"}
        day = store.find(INTAKE)[0][0]["day"]
        assert store.find(INTAKE, {"day": day})[1] == 1

    def test_indexes_are_made_before_the_switch_once_and_for_all(self, store, events):
        generation = store.start_generation("intake", indexed=False)
        physical = f"{INTAKE}_g{generation}"
        store.apply_batch(Intake(), events[:10], generation=generation)
        store.index_generation("intake", generation)
        store.index_generation("intake", generation)  # again: nothing to make
        assert self.indexes(store, "intake", physical) == {f"{physical}_day_k"}
        store.apply_batch(Intake(), events, generation=generation)  # kept up from now on
        store.switch("intake", generation)
        assert self.indexes(store, "intake", physical) == {f"{physical}_day_k"}
        assert store.find(INTAKE)[0][0]["submitted"] == 2

    def test_a_failed_rebuild_cannot_be_switched_to_and_is_abandoned(
            self, store, events, monkeypatch):
        fragile = Fragile()
        generation = store.start_generation("fragile")
        monkeypatch.setattr(Fragile, "breaks_at", events[1].position)
        with pytest.raises(ProjectionFailed):
            store.apply_batch(fragile, events, generation=generation)
        with pytest.raises(GenerationError):
            store.switch("fragile", generation)
        store.abandon_generation("fragile", generation)
        assert [s.generation for s in store.status() if s.name == "fragile"] == [1]

    def test_queries_read_from_another_thread_while_batches_are_applied(self, store, events):
        answers = []
        reader = threading.Thread(target=lambda: answers.append(store.find(INTAKE)))
        store.apply_batch(Intake(), events)
        reader.start()
        reader.join()
        assert answers[0][1] == 1

    def test_find_filters_orders_and_pages(self, store, world):
        for day in range(3):
            world.case()
            world.now += timedelta(days=1)
        store.apply_batch(Intake(), logged_since(world))
        from projections.view_reader import Range

        rows, total = store.find(INTAKE, {"day": Range(ge="2026-03-03")}, ["-day"], limit=1)
        assert total == 2 and [r["day"] for r in rows] == ["2026-03-04"]
        rows, _ = store.find(INTAKE, {"day": ["2026-03-02", "2026-03-04"]}, ["day"], offset=1)
        assert [r["day"] for r in rows] == ["2026-03-04"]
        assert store.find(INTAKE, {"day": []}) == ([], 0)


    def test_a_table_without_documents_answers_its_columns(self, store, events):
        seen = Seen()
        store.apply_batch(seen, events[:5])
        store.apply_batch(seen, events)
        positions = [event.position for event in events]

        rows, total = store.find("seen_by", {"department": "jxw"}, ["-position"], limit=2)
        assert total == len(events)
        assert rows == [{"department": "jxw", "position": p} for p in positions[::-1][:2]]
        assert store.find("seen_by")[1] == 2 * len(events)
        with pytest.raises(KeyError):
            store.get("seen_by", f"{positions[0]}:jxw")  # no document to get
        with pytest.raises(UnknownColumn):
            store.find("seen_by", {"key": f"{positions[0]}:jxw"})

    def test_integer_keys_are_kept_in_number_order(self, store, events):
        store.apply_batch(Seen(), events)
        positions = [event.position for event in events]
        assert len(positions) > 10  # "10" sorts before "9" as text

        rows, total = store.find("seen_events")
        assert [row["position"] for row in rows] == positions and total == len(events)
        assert store.get("seen_events", str(positions[-1]))["topic"] == events[-1].topic
        wanted = [str(positions[0]), str(positions[-1])]
        assert [row["position"] for row in store.find("seen_events", {"key": wanted})[0]] == [
            positions[0], positions[-1]]

    def test_a_batch_folded_ahead_is_folded_again_if_another_writer_went_first(
            self, store, events):
        # A rebuild's worker folds a batch before its transaction when it has every
        # document cached; if another writer (another process) applied a batch meanwhile,
        # that fold must not be written: it would count those events twice.
        seen = Seen()
        generation = store.start_generation(seen.name)
        other = pickle.loads(pickle.dumps(store))  # the same store, opened again
        other.open([seen])
        try:
            store.apply_batch(seen, events[:3], generation=generation)  # cached from here
            other.apply_batch(seen, events[:10], generation=generation)
            # Folded ahead from 3, but 10 is applied already: nothing new, nothing written.
            assert store.apply_batch(seen, events[:8], generation=generation) == 10
            store.switch(seen.name, generation)
            assert store.get("seen_count", "all") == {"n": 10}
            assert store.apply_batch(seen, events) == len(events)
        finally:
            other.close()
        assert store.get("seen_count", "all") == {"n": len(events)}
        assert store.find("seen_events")[1] == len(events)


def sqlite_indexes(file: SqliteViewStore, physical: str) -> set[str]:
    rows = file._reader.execute("select name from sqlite_master where type = 'index' and "
                                "tbl_name = ? and sql is not null", (physical,))  # not keys
    return {name for (name,) in rows}


class TestSqliteViewStore(ViewStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with SqliteViewStore(tmp_path / "views.sqlite3") as store:
            store.open(OPENED)
            yield store

    def indexes(self, store, projection: str, physical: str) -> set[str]:
        return sqlite_indexes(store, physical)

    def test_a_page_in_an_indexes_order_is_read_from_the_index(self, store, events):
        # Ties are broken by the key (`order_by`): the index ends with it, so SQLite does
        # not sort every row of the filter for each page.
        store.apply_batch(Intake(), events)
        physical = f"{INTAKE}_g1"
        statement = store.sql.select_docs(physical, store._table(INTAKE), " where day = ?",
                                          store.sql.order_by(store._table(INTAKE), ["day"]),
                                          10, 0)
        plan = " ".join(row[3] for row in store._reader.execute(f"explain query plan {statement}",
                                                                ("2026-01-01",)))
        assert f"INDEX {physical}_day_k" in plan and "TEMP B-TREE" not in plan, plan

    def test_an_index_an_earlier_version_made_without_the_key_is_replaced(self, tmp_path,
                                                                         events):
        with SqliteViewStore(tmp_path / "old.sqlite3") as store:
            store.open(OPENED)
            store.apply_batch(Intake(), events)
            physical = f"{INTAKE}_g1"
            before = store.find(INTAKE)
            with store._writing() as cursor:  # as it was made before
                cursor.execute(f"drop index {physical}_day_k")
                cursor.execute(f"create index {physical}_day on {physical} (day)")
        with SqliteViewStore(tmp_path / "old.sqlite3") as store:
            store.open(OPENED)
            assert sqlite_indexes(store, physical) == {f"{physical}_day_k"}
            assert store.find(INTAKE) == before


    def test_the_write_ahead_log_is_copied_into_the_file_a_little_at_a_time(self, tmp_path):
        # Each copy ends with a sync that the log of record's syncs wait behind on a shared
        # disk: 16 MiB of documents reach the file in copies of about 2 MiB, never 32.
        with SqliteViewStore(tmp_path / "bulky.sqlite3") as store:
            store.open([Bulky()])
            for start in range(0, 4000, 100):
                store.apply_batch(Bulky(), [Logged(position, "a", position, "case.noted", {})
                                            for position in range(start + 1, start + 101)])
            assert store.find("bulky_docs")[1] == 4000
            # Measured while open: the last connection to close removes the log.
            log_bytes = (tmp_path / "bulky.sqlite3-wal").stat().st_size
            assert (tmp_path / "bulky.sqlite3").stat().st_size > 16 * 2**20
        assert log_bytes <= 4 * 2**20, log_bytes  # 2 MiB and the batch that went past


class TestSqliteViewFiles(ViewStoreContract):
    """A file per view: the same contract, each projection in its own file."""

    @pytest.fixture
    def store(self, tmp_path):
        with SqliteViewFiles(tmp_path / "views") as store:
            store.open(OPENED)
            yield store

    def indexes(self, store, projection: str, physical: str) -> set[str]:
        return sqlite_indexes(store._file(projection), physical)

    def test_it_is_the_default_under_the_data_directory(self, tmp_path, monkeypatch):
        monkeypatch.delenv("VIEWS_DSN", raising=False)
        with open_view_store(None, tmp_path) as store:
            assert isinstance(store, SqliteViewFiles)
            store.open(ALL_PROJECTIONS)
        assert sorted(path.name for path in (tmp_path / "views").glob("*.sqlite3")) == sorted(
            f"{projection.name}.sqlite3" for projection in ALL_PROJECTIONS)

    def test_a_view_writes_while_another_views_file_is_being_written(self, store, events):
        applied = threading.Event()
        writer = threading.Thread(target=lambda: (store.apply_batch(Seen(), events),
                                                  applied.set()))
        with store._file("intake")._writing():  # a batch of intake, under way
            writer.start()
            assert applied.wait(30), "a write to one view waited for another's"
        writer.join()
        assert store.position("seen") == len(events) and store.position("intake") == 0


class TestPostgresViewStore(ViewStoreContract):
    @pytest.fixture
    def store(self, postgres_dsn, unique_name):
        import psycopg

        from adapters.views.postgres import PostgresViewStore

        schema = unique_name("views").lower()
        try:
            with PostgresViewStore(postgres_dsn, schema=schema) as store:
                store.open(OPENED)
                yield store
        finally:
            with psycopg.connect(postgres_dsn, autocommit=True) as connection:
                connection.execute(f"drop schema if exists {schema} cascade")

    @pytest.fixture
    def copied(self, monkeypatch):
        from adapters.views import postgres

        monkeypatch.setattr(postgres, "COPY_FROM_ROWS", 2)  # every table with rows to write

    def test_rows_copied_in_are_the_rows_written_one_by_one(self, store, events, copied):
        # Large batches (a rebuild's) are written through COPY: the same views come out.
        self.test_every_view_matches_the_in_memory_fold_whatever_the_batches(store, events)
        self.test_a_key_written_again_keeps_the_last_document_and_the_first_row(store, events)

    def indexes(self, store, projection: str, physical: str) -> set[str]:
        rows = store._reader.execute(
            "select indexname from pg_indexes where schemaname = %s and tablename = %s and "
            "indexname <> %s", (store.schema, physical, f"{physical}_pkey"))
        return {name for (name,) in rows}
