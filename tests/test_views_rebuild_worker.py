"""A long rebuild applies its batches in a worker process: the same views as on a thread."""

from __future__ import annotations

import asyncio

import nats

from adapters.views import open_view_store
from adapters.views.rebuild import rebuild
from domain.application import OneStop
from projections import ALL_PROJECTIONS
from tests.domain.scenario import run_case_scenario
from tests.views_support import documents


def rebuilt(url: str, stream: str, directory, worker: bool) -> dict[str, list[str]]:
    store = open_view_store("", directory)
    store.open(ALL_PROJECTIONS)

    async def run() -> None:
        connection = await nats.connect(url)
        try:
            # Small batches, so the worker applies many and keeps documents between them.
            await rebuild(connection, stream, store, ALL_PROJECTIONS, batch_size=7,
                          worker=worker)
        finally:
            await connection.close()

    try:
        asyncio.run(run())
        return documents(store)
    finally:
        store.close()


def test_a_rebuild_in_a_worker_process_gives_the_same_views_as_on_a_thread(
        nats_url, unique_name, tmp_path):
    stream = unique_name()
    app = OneStop(env={"PERSISTENCE_MODULE": "adapters.jetstream", "NATS_URL": nats_url,
                       "NATS_STREAM": stream,
                       "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder"})
    try:
        for _ in range(3):
            run_case_scenario(app)
    finally:
        app.close()

    on_a_thread = rebuilt(nats_url, stream, tmp_path / "thread", worker=False)
    in_a_worker = rebuilt(nats_url, stream, tmp_path / "worker", worker=True)

    assert in_a_worker == on_a_thread
    assert sum(len(docs) for docs in on_a_thread.values()) > 20
