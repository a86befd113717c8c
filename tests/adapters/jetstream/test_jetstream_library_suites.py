"""The library's application and projection suites with the JetStream module as the store,
and SQLite views fed from a JetStream application."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder
from eventsourcing.tests.application import ExampleApplicationTestCase
from eventsourcing.tests.projection import (
    AggregateEventCountersProjectionTestCase,
    EventCountersView,
    EventCountersViewTestCase,
    EventSourcedProjectionTestCase,
)

from tests.support import session_nats_url, unique_stream_name


class SQLiteEventCountersView(SQLiteTrackingRecorder, EventCountersView):
    """A view whose counters change in the same SQLite transaction as its tracking row."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, count INTEGER)"]

    def get_created_event_counter(self) -> int:
        return self._count("created")

    def get_subsequent_event_counter(self) -> int:
        return self._count("subsequent")

    def incr_created_event_counter(self, tracking: Tracking) -> None:
        self._increment("created", tracking)

    def incr_subsequent_event_counter(self, tracking: Tracking) -> None:
        self._increment("subsequent", tracking)

    def _count(self, name: str) -> int:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT count FROM counters WHERE name = ?", (name,))
            row = cursor.fetchone()
        return 0 if row is None else row[0]

    def _increment(self, name: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            self._bump(cursor, name)
            self._insert_tracking(cursor, tracking)

    @staticmethod
    def _bump(cursor: SQLiteCursor, name: str) -> None:
        cursor.execute(
            "INSERT INTO counters VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET count = count + 1",
            (name,),
        )


@pytest.fixture(autouse=True)
def jetstream_environment(monkeypatch, tmp_path):
    """The library's suites read PERSISTENCE_MODULE and friends from os.environ."""
    monkeypatch.setenv("PERSISTENCE_MODULE", "adapters.jetstream")
    monkeypatch.setenv("NATS_URL", session_nats_url())
    monkeypatch.setenv("NATS_STREAM", unique_stream_name())
    # Views live in SQLite; an event-sourced projection keeps its own JetStream stream.
    monkeypatch.setenv("EVENTCOUNTERS_PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("EVENTCOUNTERS_SQLITE_DBNAME", str(tmp_path / "views.db"))
    monkeypatch.setenv("COUNTERS_NATS_STREAM", unique_stream_name())


class TestExampleApplication(ExampleApplicationTestCase):
    expected_factory_topic = "adapters.jetstream.factory:JetStreamFactory"


class TestSQLiteEventCountersView(EventCountersViewTestCase):
    def construct_event_counters_view(self) -> EventCountersView:
        from eventsourcing.sqlite import SQLiteDatastore

        view = SQLiteEventCountersView(SQLiteDatastore(os.environ["EVENTCOUNTERS_SQLITE_DBNAME"]))
        view.create_table()
        return view


class TestSQLiteViewFedFromJetStream(AggregateEventCountersProjectionTestCase):
    view_class = SQLiteEventCountersView
    env: ClassVar[dict[str, str]] = {}


class TestEventSourcedProjectionOnJetStream(EventSourcedProjectionTestCase):
    env: ClassVar[dict[str, str]] = {}


del ExampleApplicationTestCase
del AggregateEventCountersProjectionTestCase
del EventCountersViewTestCase
del EventSourcedProjectionTestCase
