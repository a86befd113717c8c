"""The views the service keeps while commands flow are exactly what a rebuild from the log
gives: on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from bus.contract.identity import inbox_prefix
from bus.service.security import OPERATOR
from tests.bus_support import Service
from tests.views_support import (
    OnPostgres,
    OnSqlite,
    documents,
    open_views,
    rebuild_all,
    run_stories,
    wait_for_views,
)

STORIES = 12


class LiveViewsMatchARebuild:
    @pytest.fixture
    def service(self, district, unique_name, views_dsn):
        running = Service(district, unique_name())
        yield running
        running.close()

    def test_views_equal_a_rebuild_from_scratch_after_a_long_scenario(self, service):
        # Department systems work a dozen cases through the bus, several at a time.
        positions = run_stories(service.request, STORIES)
        # The service's views follow until they have applied every command's events.
        wait_for_views(service.query, max(positions))
        with open_views(service.bus.services.data_dir) as store:
            live = documents(store)
            # Every view is rebuilt from the log into new tables, then switched to: by
            # worker processes (one per CPU), each reading the log as the operator on a
            # connection of its own, and writing the store beside the others.
            generations = rebuild_all(service.district.url(OPERATOR), service.stream, store,
                                      batch_size=50, worker=True,
                                      inbox=inbox_prefix(OPERATOR))
            rebuilt = documents(store)
            statuses = store.status()

        assert generations == {name: 2 for name in generations}
        assert all(status.generation == 2 and status.active for status in statuses)
        assert len(live["cases"]) == 3 * STORIES and live["case_steps"] and live["intake"]
        for table, docs in live.items():
            assert rebuilt[table] == docs, table


class TestOnSqlite(OnSqlite, LiveViewsMatchARebuild):
    pass


class TestOnPostgres(OnPostgres, LiveViewsMatchARebuild):
    pass


del LiveViewsMatchARebuild
