"""A view an older version of its projection built is not followed with the new code (its
documents have another shape): the follower rebuilds it from the log and switches it in,
while the old generation keeps answering."""

from __future__ import annotations

import asyncio

import nats

from adapters.jetstream.log import StreamLog
from adapters.views import open_view_store
from adapters.views.follower import ViewFollower, read_batch
from projections.logged import Logged
from projections.view import Projection, Table, Views, handles
from tests.adapters.views.test_views_rebuild_worker import write_cases


class Submissions(Projection):
    """Version 1 counts submissions as `n`."""

    name = "submissions"
    version = 1
    tables = (Table("submissions"),)

    @handles("case.submitted")
    def _count(self, event: Logged, views: Views) -> None:
        doc = views.get("submissions", "all") or {"n": 0}
        doc["n"] += 1
        views.put("submissions", "all", doc)


class SubmissionsV2(Submissions):
    """Version 2 calls it `count`, and notes the last case."""

    version = 2

    @handles("case.submitted")
    def _count(self, event: Logged, views: Views) -> None:
        doc = views.get("submissions", "all") or {"count": 0}
        doc["count"] += 1
        doc["last_case"] = event.originator_id
        views.put("submissions", "all", doc)


def test_an_outdated_view_is_rebuilt_and_switched_in_by_the_follower(
        nats_url, unique_name, tmp_path):
    stream = unique_name()
    write_cases(nats_url, stream, 2)

    async def scenario() -> tuple[dict, list, dict]:
        connection = await nats.connect(nats_url)
        store = open_view_store("", tmp_path)
        try:
            # Version 1 built the view from the log as it stood.
            store.open([Submissions()])
            log = StreamLog(connection, stream, request_timeout=10)
            await log.start()
            events = await read_batch(log, f"{stream}.events.>", 0, 10_000)
            store.apply_batch(Submissions(), events)
            before = store.get("submissions", "all")
            # The code now has version 2: the follower must not apply it to version 1's
            # documents, but rebuild the view and switch to it.
            follower = ViewFollower(connection, stream, store, [SubmissionsV2()])
            await follower.start()
            try:
                await follower.catch_up_once()  # finds the view outdated: rebuilds it
                await asyncio.wait_for(follower.rebuilding, 60)
                await follower.catch_up_once()  # and follows the new one
            finally:
                await follower.stop()
            return before, store.status(), store.get("submissions", "all")
        finally:
            store.close()
            await connection.close()

    before, statuses, after = asyncio.run(scenario())
    assert before == {"n": 2}
    assert [(s.generation, s.version, s.active, s.failure) for s in statuses] == [
        (2, 2, True, None)]
    assert after["count"] == 2 and "n" not in after


def test_an_empty_view_over_a_long_log_is_rebuilt_not_followed_from_the_start(
        nats_url, unique_name, tmp_path):
    stream = unique_name()
    write_cases(nats_url, stream, 2)

    async def scenario() -> tuple[list, dict]:
        connection = await nats.connect(nats_url)
        store = open_view_store("", tmp_path)
        try:
            # "Long" is 10 events here; a view that has applied nothing yet.
            follower = ViewFollower(connection, stream, store, [SubmissionsV2()],
                                    rebuild_from=10)
            await follower.start()
            try:
                await follower.catch_up_once()
                await asyncio.wait_for(follower.rebuilding, 60)
                await follower.catch_up_once()
            finally:
                await follower.stop()
            return store.status(), store.get("submissions", "all")
        finally:
            store.close()
            await connection.close()

    statuses, view = asyncio.run(scenario())
    # Rebuilt into a generation of its own and switched in; the empty one is gone.
    assert [(s.generation, s.active, s.failure) for s in statuses] == [(2, True, None)]
    assert view["count"] == 2
