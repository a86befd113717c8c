"""Deciding a command on the NATS loop thread.

The library is synchronous, so a command normally runs on a worker thread and each read or
write hops to the NATS loop and back. Profiled, those hops (wake-ups, GIL hand-overs, the
loop's self-pipe) cost more CPU than the domain itself. When every aggregate a command needs
is in the aggregate cache, none of that is necessary: the decision runs right here, its
writes are captured instead of sent, and then awaited on this loop.

Two rules keep that exactly as safe as the worker-thread path:
- The cache holds committed state only (`CommittedCache`): what a decision saves is put in
  the cache after its write is acknowledged, never before. So every decision starts from a
  version that is in the log, and the server's expected-sequence check catches anyone who
  wrote after it (the write fails with IntegrityError and nothing is stored).
- Anything unusual goes back to the worker-thread path on fresh state: a read that cannot
  be made here, a refusal made on a cached copy (the cache might be stale if another process
  writes the same aggregates), a failed write. That path is the library's own, unchanged.

A read of one aggregate's events that the cache cannot serve is made here too: the decision
stops at it (`NeedsIO`), the read is awaited on this loop, and the decision is made again from
the start with that read's result at hand (`Capture.reads`). Deciding is pure given what it
read, so deciding twice is safe; only the last attempt's writes are sent, and a refusal
made on reads alone stands. Before, such a command went to a worker thread: with two
services, a case submitted for an enterprise the other one registered cost three times the
CPU of one decided here.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.application import Application, LRUCache
from eventsourcing.persistence import IntegrityError

T = TypeVar("T")


class NeedsIO(Exception):
    """The decision wants to read the log. With `read` (an awaitable's factory), the read can
    be made on the loop and the decision made again; without, it must run on a worker
    thread."""

    def __init__(self, key: Any = None, read: Callable[[], Awaitable[Any]] | None = None
                 ) -> None:
        super().__init__(key)
        self.key, self.read = key, read


class Fallback(Exception):
    """Nothing was written; decide again on the worker-thread path, on fresh state."""


# Reads made on the loop for one decision; a decision wanting more goes to a worker thread.
MAX_READS = 8


@dataclass
class Capture:
    writes: list[tuple[Any, Any]] = field(default_factory=list)  # (EventStore, Write)
    saved: dict[Any, Any] = field(default_factory=dict)  # aggregate id -> aggregate
    read: set[Any] = field(default_factory=set)  # aggregate ids served from the cache
    # What was read from the log on the loop for this decision, by what was asked (NeedsIO.key).
    reads: dict[Any, Any] = field(default_factory=dict)


_capture: ContextVar[Capture | None] = ContextVar("onestop_capture", default=None)


def current_capture() -> Capture | None:
    return _capture.get()


@contextmanager
def capturing(reads: dict[Any, Any] | None = None) -> Iterator[Capture]:
    capture = Capture(reads={} if reads is None else reads)
    token = _capture.set(capture)
    try:
        yield capture
    finally:
        _capture.reset(token)


class CommittedCache(LRUCache):
    """The aggregate cache, holding only what the log holds, never an older version."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._newer_lock = threading.Lock()

    def get(self, key: Any, *, evict: bool = False) -> Any:
        value = super().get(key, evict=evict)
        capture = _capture.get()
        if capture is not None:
            capture.read.add(key)
        return value

    def put(self, key: Any, value: Any) -> Any:
        capture = _capture.get()
        if capture is not None:  # saved but not yet written: kept aside until it is
            capture.saved[key] = value
            return None
        with self._newer_lock:
            try:
                cached = super().get(key)
            except KeyError:
                cached = None
            if cached is not None and cached.version > value.version:
                return None
            return super().put(key, value)

    def forget(self, keys: Any) -> None:
        for key in keys:
            try:
                super().get(key, evict=True)
            except KeyError:
                pass


def install_cache(app: Application, maxsize: int) -> CommittedCache:
    """Give `app` a committed-only cache (the library's own would cache a save before it is
    written, and fast-forward each hit with a read)."""
    cache = CommittedCache(maxsize)
    app.repository.cache = cache
    app.repository.fastforward = False
    return cache


async def decide(app: Application, decision: Callable[[], T],
                 finish: Callable[[T, list[int]], T]) -> T:
    """Run `decision` here, then write what it saved; `finish(result, sequences)` completes its
    result with the log positions. Raises Fallback when the worker-thread path must decide."""
    cache = app.repository.cache
    if not isinstance(cache, CommittedCache):
        raise Fallback
    reads: dict[Any, Any] = {}
    while True:
        with capturing(reads) as capture:
            try:
                result = decision()
                break
            except NeedsIO as need:
                wanted = need
            except Exception:
                if not capture.read:  # decided on what it read from the log just now
                    raise
                # A refusal may come from a cached copy another process has since changed:
                # decided again, and raised again if it still holds, on the thread.
                cache.forget(capture.read)
                raise Fallback from None
        if wanted.read is None or len(reads) >= MAX_READS:
            raise Fallback
        try:
            reads[wanted.key] = await wanted.read()
        except Exception:  # noqa: BLE001 - the thread's path retries a store that is away
            raise Fallback from None
    sequences: list[int] = []
    try:
        for store, write in capture.writes:
            sequences.extend(await store.write_now(write))
    except IntegrityError:
        cache.forget(capture.read | capture.saved.keys())
        raise Fallback from None
    except BaseException:
        cache.forget(capture.read | capture.saved.keys())
        raise
    for key, aggregate in capture.saved.items():
        cache.put(key, aggregate)
    return finish(result, sequences)
