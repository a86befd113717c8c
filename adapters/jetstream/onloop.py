"""Deciding a command on the NATS loop thread, when nothing it needs has to be read.

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
- Anything unusual goes back to the worker-thread path on fresh state: a read the cache
  cannot serve (`NeedsIO`), a refusal (the cache might be stale if another process writes
  the same aggregates), a failed write. That path is the library's own, unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.application import Application, LRUCache
from eventsourcing.persistence import IntegrityError

T = TypeVar("T")


class NeedsIO(Exception):
    """The decision wants to read the log: it must run on a worker thread instead."""


class Fallback(Exception):
    """Nothing was written; decide again on the worker-thread path, on fresh state."""


@dataclass
class Capture:
    writes: list[tuple[Any, Any]] = field(default_factory=list)  # (EventStore, Write)
    saved: dict[Any, Any] = field(default_factory=dict)  # aggregate id -> aggregate
    read: set[Any] = field(default_factory=set)  # aggregate ids served from the cache


_capture: ContextVar[Capture | None] = ContextVar("onestop_capture", default=None)


def current_capture() -> Capture | None:
    return _capture.get()


@contextmanager
def capturing() -> Iterator[Capture]:
    capture = Capture()
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
    with capturing() as capture:
        try:
            result = decision()
        except NeedsIO:
            raise Fallback from None
        except Exception:  # noqa: BLE001 - decided again, and raised again, on the thread
            # A refusal may come from a cached copy another process has since changed.
            cache.forget(capture.read)
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
