"""What a rebuild's worker process runs: batches of rows in, applied to its projections.

`python -m adapters.views.rebuild_worker <fd>`: the rebuild (`rebuild.py`) starts one a
group of views, and talks to it over the socket `fd`. A module of its own, which imports no
more than a worker needs (the view stores and the projections; not the NATS client, not the
domain), so that a worker is ready before the rebuild has made its tables.
"""

from __future__ import annotations

import gc
import marshal
import os
import traceback
from collections.abc import Sequence

from adapters.children import worker_connection
from adapters.views.failures import ProjectionFailed
from adapters.views.rows import Row, logged_from_row
from adapters.views.view_store import ViewStore
from projections.logged import know_versions
from projections.view import Projection

# Documents a worker keeps between batches, per projection: all of them, up to about a
# gigabyte, so that no batch reads the database and every batch is folded outside the write
# transaction. Beyond it, batches read what they need in their transaction: slower, as right.
WORKER_CACHE_LIMIT = 1_000_000
# What a worker is sent: APPLY and a batch of rows (`marshal`); FINISH, once caught up: write
# the documents kept in memory and make the indexes (`finish`); nothing: the end.
APPLY, FINISH = b"A", b"F"


def apply_rows(store: ViewStore, projections: Sequence[Projection],
               generations: dict[str, int], rows: list[Row]) -> None:
    """Applies a batch to each projection's new generation: its documents kept in memory
    until `finish` (`ViewStore.apply_deferred`), its other rows written."""
    # Only the events these projections read are decoded, and the batch's last: each
    # projection's position then still moves to the end of the batch.
    read = topics_read(projections)
    batch = [logged_from_row(row) for row in rows[:-1] if read is None or row[3] in read]
    batch.append(logged_from_row(rows[-1]))
    for projection in projections:
        store.apply_deferred(projection, batch, generations[projection.name])


def finish(store: ViewStore, projections: Sequence[Projection],
           generations: dict[str, int]) -> None:
    """Once caught up: each new generation's documents written, and its indexes made."""
    for projection in projections:
        store.flush(projection, generations[projection.name])
        store.index_generation(projection.name, generations[projection.name])


def topics_read(projections: Sequence[Projection]) -> frozenset[str] | None:
    """Every topic one of `projections` reads; None when one reads any topic there is."""
    topics: set[str] = set()
    for projection in projections:
        if not isinstance(projection.topics, (set, frozenset)):
            return None  # a topic set that holds any topic (the audit trail's)
        topics |= projection.topics
    return frozenset(topics)


def work(connection, store: ViewStore, projections: list[Projection]) -> None:
    """A worker's life: told its generations and the event versions, it does what each
    message says (APPLY, FINISH) and answers each, until an empty one."""
    # No collections: applying makes no reference cycles (tested), and collecting the young
    # generation, nearly all of it documents kept for the next batch, took 7% of the worker.
    gc.disable()
    store.cache_limit = WORKER_CACHE_LIMIT
    store.open(projections)
    try:
        generations, versions = connection.recv()  # made while this process started
        know_versions(versions)
        while message := connection.recv_bytes():
            try:
                if message[:1] == APPLY:
                    apply_rows(store, projections, generations,
                               marshal.loads(memoryview(message)[1:]))
                    connection.send(("applied",))
                else:
                    finish(store, projections, generations)
                    connection.send(("finished",))
            except ProjectionFailed as failed:
                connection.send(("failed", failed.name, failed.generation, failed.failure))
            except Exception as error:  # noqa: BLE001 - handed to the rebuild, raised there
                connection.send(("error", "the rebuild worker failed: " + "".join(
                    traceback.format_exception(error)).strip()))
    finally:
        store.close()
    # Every batch is committed and answered for. Exit now, without the interpreter taking
    # apart, object by object, the millions of documents this process kept: that took
    # longer than switching every view in.
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """Told, over the socket it is given, its store and projections; then `work`."""
    connection = worker_connection(argv or ())  # killed with the rebuild (adapters/children.py)
    store, projections = connection.recv()
    work(connection, store, projections)


if __name__ == "__main__":
    main()
