"""Views in an SQLite file; the embedded default keeps a file per view (`files.py`).

One connection writes (the runner) and another reads (queries, on other threads): in WAL mode
readers never wait for a batch being applied. `synchronous=NORMAL` syncs at checkpoints, not
at every commit: a power cut may lose the last batches, which the log replays, since their
tracking position was lost with them.
"""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from adapters.views.sql import Dialect
from adapters.views.view_store import ViewStore

SQLITE = Dialect(mark="?", types={"text": "text", "int": "integer", "real": "real"},
                 doc_type="text", doc_value="?", for_update="", no_limit="limit -1",
                 clustered=" without rowid")
PAGE_BYTES = 16384
CHECKPOINT_PAGES = 128  # 2 MiB of the write-ahead log (see _connect)


class SqliteViewStore(ViewStore):
    dialect = SQLITE
    local_reads = True  # a file on this machine, in WAL mode: readers never wait for writers

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._connect()
        self._reader = self._connect()
        # Writers of this file, in any process, queue on this lock before SQLite's own.
        self._writers = open(self.path.with_name(self.path.name + ".writer"), "a+b")

    def __reduce__(self) -> tuple:
        # Pickled as how to open it again: a rebuild's worker process opens its own.
        return type(self), (self.path,)

    def _connect(self) -> sqlite3.Connection:
        # Transactions are begun and ended here, explicitly: isolation_level=None.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                     timeout=30)
        # A new file gets 16 KiB pages (an existing one keeps its own): a rebuild writes
        # hundreds of megabytes, each page once to the log and once to the file, and larger
        # pages are fewer writes; larger still (64 KiB) made every small batch the followers
        # commit live dearer, since a commit logs whole pages.
        connection.execute(f"pragma page_size={PAGE_BYTES}")
        connection.execute("pragma journal_mode=wal")
        connection.execute("pragma synchronous=normal")
        connection.execute("pragma cache_size=-65536")  # KiB: a batch's documents stay cached
        # Copied into the file 2 MiB at a time. A checkpoint syncs the log and the file, and
        # on the disk the log of record shares, the server's sync of each command's event
        # waits behind it (one filesystem journal). Every 32 MiB, measured under `onestop
        # bench bus`: every command in flight stalled for 70-110 ms a few times a second, as
        # did a JetStream publish to another stream, while a core NATS round trip did not;
        # the commands' p99 was 5x the raw publishes'. Every 2 MiB: stalls of 20-30 ms, p99
        # about 3x. A rebuild's rate was the same either way.
        connection.execute(f"pragma wal_autocheckpoint={CHECKPOINT_PAGES}")
        return connection

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Cursor]:
        cursor = self._writer.cursor()
        # Writers take turns on a file lock first: the kernel wakes the next one the moment
        # the lock is let go, where SQLite's busy handler polls, sleeping up to 100 ms at a
        # time (a rebuild's workers and the followers would each lose that at every turn).
        fcntl.flock(self._writers, fcntl.LOCK_EX)
        try:
            # IMMEDIATE takes SQLite's write lock at once: a writer that does not queue above
            # (another program) makes this one wait, not fail half-way through a batch.
            cursor.execute("begin immediate")
            try:
                yield cursor
            except BaseException:
                cursor.execute("rollback")
                raise
            cursor.execute("commit")
        finally:
            fcntl.flock(self._writers, fcntl.LOCK_UN)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        cursor = self._reader.cursor()
        cursor.execute("begin")
        try:
            yield cursor
        finally:
            cursor.execute("commit")

    def _encode(self, doc: dict[str, Any]) -> bytes:
        # The UTF-8 bytes as they are, stored as a blob: as text, Python would decode them
        # and sqlite3 encode them again, row by row (a third of a large row's insert).
        return orjson.dumps(doc)

    def _decode(self, stored: Any) -> dict[str, Any]:
        return orjson.loads(stored)

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()
            self._writers.close()
