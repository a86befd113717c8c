"""The log's followers — department feeds (and the record of what they sent), views, signed
checkpoints — and where they run.

Each reads every event the commands write. In the command process they compete for its one
interpreter lock: measured, the command path then ran at about 47% of the raw write rate
while a third of the machine's CPU sat idle. `onestop up` therefore runs them in a process of
their own (`FollowerProcess`); tests and embedded uses may keep them in-process (`Followers`).
The views store is shared (SQLite in WAL mode, or PostgreSQL): the command process answers
queries from it and learns how far the views are from the store itself (`StorePositions`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from nats.aio.client import Client

from adapters.audit.checkpointer import Checkpointer
from adapters.audit.signing import SigningKey
from adapters.children import Child, start_worker
from adapters.integrity.seal import PASSED_OVER, Seal
from adapters.jetstream.recent import RecentMessages
from adapters.lease import Lease, LeasedWork
from adapters.tasks import stopped
from adapters.views import ViewStore
from adapters.views.failures import GenerationError
from adapters.views.follower import ViewFollower
from bus.contract import subjects
from bus.service.deliveries import DeliveryRecorder
from bus.service.feeds import FeedPublisher
from projections import ALL_PROJECTIONS

log = logging.getLogger(__name__)

POLL_SECONDS = 0.01  # how often a query waiting for a position looks at the store
START_SECONDS = 30
STOP_SECONDS = 10
WATCH_SECONDS = 0.05
DRAIN_SECONDS = 3  # when the server is gone, a drain would otherwise wait out its timeout


@dataclass(frozen=True)
class FollowerSettings:
    nats_url: str
    stream: str
    data_dir: Path
    views_dsn: str | None = None


class Followers:
    """The followers of the log, on one connection and loop.

    Several services may run against one cluster. The feeds, the records of what they sent
    and the signed checkpoints are the log's: one service at a time keeps them, through a
    lease (adapters/lease.py), and another takes over within seconds when it goes. The
    views are each service's own in its SQLite file; in a shared PostgreSQL (VIEWS_DSN) they
    are one service's at a time too."""

    def __init__(self, settings: FollowerSettings, connection: Client, views: ViewStore) -> None:
        self.settings, self.connection, self.views = settings, connection, views
        # The views, the feeds and the checkpointer read the same messages of the log, one
        # moment after another: each page is fetched and checked once (recent.py).
        self.recent = RecentMessages(settings.stream)
        self.feeds: FeedPublisher | None = None
        self.views_follower: ViewFollower | None = None
        self.checkpointer: Checkpointer | None = None
        self.deliveries: DeliveryRecorder | None = None
        self.log_work: LeasedWork | None = None
        self.views_work: LeasedWork | None = None
        # Told why the checkpointer fails, whenever this service keeps the checkpoints.
        self.on_checkpoint_trouble: Callable[[str | None], None] | None = None

    async def start(self) -> None:
        data_dir = self.settings.data_dir
        self.seal = await asyncio.to_thread(Seal.load_or_create, data_dir)
        self.key = await asyncio.to_thread(SigningKey.load_or_create, data_dir)
        # Named after its machine and data directory: restarted after a crash, it takes up
        # its own lease and unfinished batch at once, where another service would wait.
        place = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
        self.name = f"{socket.gethostname()}-{place}"
        leases = f"{self.settings.stream}_LEASES"
        if self.settings.views_dsn:
            # The tables are there for the queries whether or not this service keeps them.
            await asyncio.to_thread(self.views.open, ALL_PROJECTIONS)
            store = hashlib.sha256(self.settings.views_dsn.encode()).hexdigest()[:12]
            self.views_work = LeasedWork(
                Lease(self.connection, leases, f"views-{store}", self.name),
                self._start_views, self._stop_views, "the views")
            await self.views_work.begin()
        else:
            await self._start_views()
        self.log_work = LeasedWork(Lease(self.connection, leases, "log", self.name),
                                   self._start_log_followers, self._stop_log_followers,
                                   "the feeds, their records and the checkpoints")
        await self.log_work.begin()

    async def _start_log_followers(self) -> None:
        stream = self.settings.stream
        # The record of what the feeds send starts first: it reads them from when the trail
        # began (bus/service/deliveries.py).
        self.deliveries = DeliveryRecorder(self.connection, stream)
        await self.deliveries.start()
        self.feeds = FeedPublisher(self.connection, stream, seal=self.seal,
                                   doorbell=subjects.LOG_ADVANCED, name=f"feeds-{self.name}",
                                   recent=self.recent)
        await self.feeds.start()
        self.checkpointer = Checkpointer(self.connection, stream, self.key, seal=self.seal,
                                         recent=self.recent)
        if self.on_checkpoint_trouble is not None:
            self.checkpointer.on_trouble = self.on_checkpoint_trouble
        await self.checkpointer.start()

    async def _stop_log_followers(self) -> None:
        for follower in (self.checkpointer, self.deliveries, self.feeds):
            if follower is not None:
                await follower.stop()

    async def _start_views(self) -> None:
        self.views_follower = ViewFollower(self.connection, self.settings.stream, self.views,
                                           ALL_PROJECTIONS, doorbell=subjects.LOG_ADVANCED,
                                           seal=self.seal, recent=self.recent)
        await self.views_follower.start()

    async def _stop_views(self) -> None:
        if self.views_follower is not None:
            await self.views_follower.stop()

    async def stop(self) -> None:
        if self.log_work is not None:
            await self.log_work.end()
        if self.views_work is not None:
            await self.views_work.end()
        else:
            await self._stop_views()


class StorePositions:
    """How far each view is, as the store says: for a process whose views another follows."""

    def __init__(self, views: ViewStore) -> None:
        self.views = views

    def position_of(self, projection: str) -> int:
        """How far one view is: one row of its file (a query asks before each read; reading
        every view's status for it had cost more than the read itself)."""
        try:
            return self.views.position(projection)
        except GenerationError:  # not made yet
            return 0

    async def wait_for(self, projection: str, position: int, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            reached = await asyncio.to_thread(self.position_of, projection)
            if reached >= position:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)


class FollowerProcess:
    """`Followers` in a child process (bus/service/followers_process.py, started and stopped
    by adapters/children.py), stopped with the service and killed with it. Should it end on
    its own, it is started again: the views, feeds and checkpoints must not stop silently
    while the commands go on. It tells the service what it passed over (the seal's warnings)
    and why its checkpointer fails, if it does, for the health check."""

    RESTART_DELAY = 1.0

    def __init__(self, settings: FollowerSettings) -> None:
        self.settings = settings
        self.passed_over = PassedOverElsewhere()
        PASSED_OVER.also_count(self.passed_over.read)
        self.checkpoint_trouble: str | None = None
        self._child: Child | None = None
        self._connection: Connection | None = None
        self._stopping = False
        self._watcher: asyncio.Task | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    async def start(self) -> None:
        await self._spawn()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _spawn(self) -> None:
        # Started from the loop's own thread, which lives as long as the service: the kernel
        # ends the child when the thread that started it ends (adapters/children.py).
        self._child, self._connection = start_worker("onestop-followers",
                                                     "bus.service.followers_process")
        self._connection.send(self.settings)
        # Polled, not waited for on a thread: a thread still waiting would hold up the
        # service's exit until it gave up.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        while not self._connection.poll():
            if loop.time() > deadline or not self._child.running:
                self._child.kill()
                raise RuntimeError("the followers' process did not start; see its log above")
            await asyncio.sleep(WATCH_SECONDS)
        if self._receive() != ("ready",):
            self._child.kill()
            raise RuntimeError("the followers' process did not start; see its log above")
        loop.add_reader(self._connection.fileno(), self._on_message, self._connection)

    def _receive(self) -> tuple | None:
        try:
            return self._connection.recv()
        except (EOFError, OSError):
            return None

    def _on_message(self, connection: Connection) -> None:
        """What the followers' process tells: one message at a time, as the loop sees it."""
        try:
            message = connection.recv()
        except (EOFError, OSError):  # it ended: the watcher starts another
            asyncio.get_running_loop().remove_reader(connection.fileno())
            return
        if message[0] == "passed_over":
            self.passed_over.record(message[1])
        elif message[0] == "checkpoint_trouble":
            self.checkpoint_trouble = message[1]

    def _forget_connection(self) -> None:
        if self._connection is not None:
            asyncio.get_running_loop().remove_reader(self._connection.fileno())
            self._connection.close()
            self._connection = None

    async def _watch(self) -> None:
        while not self._stopping:
            child = self._child
            while child.running:
                await asyncio.sleep(WATCH_SECONDS)
            if self._stopping:
                return
            log.error("the followers' process ended (exit code %s); starting it again",
                      child.exit_code)
            self._forget_connection()
            self.checkpoint_trouble = None  # a new process: an old one's trouble is over
            await asyncio.sleep(self.RESTART_DELAY)
            try:
                await self._spawn()
                self.restarts += 1
            except Exception:  # noqa: BLE001 - keep trying: the views must come back
                log.exception("could not start the followers' process again")

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()  # it may be starting a new process: not any more
        if self._child is not None:
            # SIGTERM: it stops in order, checkpoint last.
            await asyncio.to_thread(self._child.stop, STOP_SECONDS)
        self._forget_connection()
        await stopped(self._watcher)


class PassedOverElsewhere:
    """What the followers' process passed over (adapters/integrity/seal.py), as it told it:
    counted here, where the health check tells the operator."""

    def __init__(self) -> None:
        self.count = 0
        self.last: str | None = None

    def record(self, last: str) -> None:
        self.count += 1
        self.last = last

    def read(self) -> tuple[int, str | None]:
        return self.count, self.last
