"""What the bus handlers need, built when the service starts and closed when it stops."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.client import Client

from adapters.audit.checkpointer import Checkpointer
from adapters.audit.signing import SigningKey
from adapters.audit.trail import AuditTrail, trail_chain
from adapters.integrity.seal import Seal, check_seal_key
from adapters.integrity.seal import key_path as seal_key_path
from adapters.jetstream.factory import DEFAULT_STREAM
from adapters.jetstream.log import StreamLog
from adapters.jetstream.onloop import install_cache
from adapters.jetstream.streams import configured_replicas
from adapters.views import ViewStore, open_view_store
from adapters.views.follower import ViewFollower
from bus.contract.messages import Part
from bus.service.answers import QueryAnswerer
from bus.service.bell import LogBell
from bus.service.bus_streams import ensure_bus_streams
from bus.service.calendar_check import follow_ups_in_unlisted_years, this_year_unlisted
from bus.service.connections import connect_for_good
from bus.service.dispatch import Dispatcher, on_loop
from bus.service.durable_intake import IntakeWorker
from bus.service.followers import FollowerProcess, Followers, FollowerSettings, StorePositions
from bus.service.overdue import OverdueWatch
from bus.service.parts import Parts
from bus.service.query_endpoint import QueryEndpoint
from bus.service.replicas import owned_streams, report, report_batches, without_batches
from bus.service.routes import CommandEndpoint
from bus.contract.identity import CredentialStore
from bus.service.results_screen import ResultsScreen, names_of
from bus.service.security import credential_store, district_principals
from domain.application import OneStop
from projections import ALL_PROJECTIONS

log = logging.getLogger(__name__)

# Aggregates kept in memory between commands (committed state only; see onloop.py).
DEFAULT_AGGREGATE_CACHE = 20_000
GC_THRESHOLD = 10_000  # allocations between young-generation collections (Python: 700)


def quieter_garbage_collection() -> None:
    """What start-up made lives as long as the service: keep the collector off it, and let
    it run less often. A command allocates a few hundred short-lived objects; at Python's
    default threshold the collector ran several times per command and paused the loop. Not
    too seldom either: what survives a command (the cache's copies, recent outcomes) fills
    the young generation, and at 50,000 a collection paused the loop for 13-20 ms under
    `onestop bench bus` (32 commands held up at once); at 10,000, for 2-3 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)


@dataclass
class Services:
    nats_url: str
    stream: str = DEFAULT_STREAM
    data_dir: Path = Path("var")  # where the SQLite views live, unless views_dsn is given
    views_dsn: str | None = None
    # The feeds, views and checkpoints in a process of their own (bus/service/followers.py says why).
    separate_followers: bool = False
    # The results screen (bus/service/results_screen.py): None, none; 0, on a free port.
    screen_port: int | None = None
    screen_host: str = "127.0.0.1"
    # Where the principals' passwords are, for signing in to it (default: the data directory's).
    credentials: CredentialStore | None = None
    screen: ResultsScreen | None = field(default=None, init=False)
    overdue: OverdueWatch | None = field(default=None, init=False)
    dispatcher: Dispatcher | None = field(default=None, init=False)
    commands: CommandEndpoint | None = field(default=None, init=False)
    bell: LogBell | None = field(default=None, init=False)
    intake: IntakeWorker | None = field(default=None, init=False)
    views: ViewStore | None = field(default=None, init=False)
    answers: QueryAnswerer | None = field(default=None, init=False)
    queries: QueryEndpoint | None = field(default=None, init=False)
    followers: Followers | None = field(default=None, init=False)  # when in this process
    follower_process: FollowerProcess | None = field(default=None, init=False)
    connection: Client | None = field(default=None, init=False)
    seal: Seal | None = field(default=None, init=False)
    parts: Parts | None = field(default=None, init=False)
    trail_checkpointer: Checkpointer | None = field(default=None, init=False)
    replica_warning: str | None = field(default=None, init=False)  # for the health check
    batches_advice: str | None = field(default=None, init=False)  # and this, as advice
    _app: OneStop | None = field(default=None, init=False)
    _with_feeds: frozenset[str] | None = field(default=None, init=False)

    def store_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "adapters.jetstream",
            "NATS_URL": self.nats_url,
            "NATS_STREAM": self.stream,
            "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder",
            "ONESTOP_SEAL_KEY_FILE": str(seal_key_path(self.data_dir)),
            # A command whose write the store does not take within this is answered
            # service.unavailable, well within a client's usual 10 s (bus/service/dispatch.py).
            "NATS_WRITE_TIMEOUT": os.environ.get("ONESTOP_STORE_TIMEOUT") or "5",
        }

    async def start(self) -> None:
        if self.screen_port is not None:
            await self._start_screen()
        self.seal = await asyncio.to_thread(Seal.load_or_create, self.data_dir)
        self.connection = await connect_for_good(self.nats_url, "onestop-bus")
        # Before anything reads the log: with another key, all of it would look foreign.
        await check_seal_key(self.connection.jetstream(), self.stream, self.seal)
        # The application connects synchronously (its own loop thread): keep it off this loop.
        self._app = await asyncio.to_thread(OneStop, self.store_env())
        install_cache(self._app, int(os.environ.get("ONESTOP_AGGREGATE_CACHE",
                                                    DEFAULT_AGGREGATE_CACHE)))
        await ensure_bus_streams(self.connection.jetstream(), self.principals())
        await self._report_replicas()
        if warning := this_year_unlisted(self._app.reference.calendar):
            log.warning("%s", warning)
        await self._start_followers_and_queries()
        await self._start_commands()
        # On this loop and connection, where the answers read and record (see
        # bus/service/query_endpoint.py).
        self.queries = QueryEndpoint(self.connection, lambda: self.answers)
        await self.queries.start()
        self.intake = IntakeWorker(self)
        await self.intake.start()
        self.overdue = OverdueWatch(self._app)
        await self.overdue.start()
        quieter_garbage_collection()

    async def _report_replicas(self, say: bool = True) -> None:
        """Streams kept at another number of copies than NATS_REPLICAS, made before it was
        set (bus/service/replicas.py): logged at start-up with the command that mends them, and a
        warning of the health check until it has. Feed streams without atomic batches, made
        by an older onestop: the same, as advice."""
        replicas = configured_replicas()
        owned = await owned_streams(self.connection, self.stream)  # one listing for both
        streams = [kept for kept in owned if kept.replicas != replicas]
        self.replica_warning = report(streams, replicas) if streams else None
        if self.replica_warning and say:
            log.warning("%s", self.replica_warning)
        feeds = without_batches(owned)
        self.batches_advice = report_batches(feeds) if feeds else None
        if self.batches_advice and say:
            log.warning("%s", self.batches_advice)

    async def _start_commands(self) -> None:
        """On the application's own NATS loop: see bus/service/routes.py."""
        bridge = self._app.factory.bridge
        self.dispatcher = await Dispatcher.open(self._app, bucket=f"{self.stream}_COMMANDS")
        self.bell = LogBell(bridge.connection, bridge.loop)
        self.dispatcher.on_written = self.bell.ring
        self.dispatcher.audit = await on_loop(bridge.loop,
                                              AuditTrail.open(bridge.connection, self.stream))
        self.commands = CommandEndpoint(self.dispatcher)
        await on_loop(bridge.loop, self.commands.start())

    @property
    def checkpointer(self) -> Checkpointer | None:
        return None if self.followers is None else self.followers.checkpointer

    def checkpoint_trouble(self) -> str | None:
        """Why the log's checkpointer is failing, in whichever process it runs; None if it
        is not."""
        if self.follower_process is not None:
            return self.follower_process.checkpoint_trouble
        return None if self.checkpointer is None else self.checkpointer.trouble

    async def _start_followers_and_queries(self) -> None:
        settings = FollowerSettings(self.nats_url, self.stream, self.data_dir, self.views_dsn)
        if self.separate_followers:
            # Started first: the followers' process creates the views' tables.
            self.follower_process = FollowerProcess(settings)
            await self.follower_process.start()
        self.views = await asyncio.to_thread(open_view_store, self.views_dsn, self.data_dir)
        if self.separate_followers:
            await asyncio.to_thread(self.views.open, ALL_PROJECTIONS)
            positions: ViewFollower | StorePositions = StorePositions(self.views)
        else:
            self.followers = Followers(settings, self.connection, self.views)
            await self.followers.start()
            # Views in a shared store may be another service's to keep: how far they are is
            # the store's to say.
            positions = (StorePositions(self.views) if self.views_dsn
                         else self.followers.views_follower)
        case_log = StreamLog(self.connection, self.stream, request_timeout=10, seal=self.seal)
        await case_log.start()
        kinds = {p.id: p.kind for p in district_principals(self._app.reference)}
        self.parts = Parts(self.connection, case_log, self.views, self.stream, log,
                           checkpoint_trouble=self.checkpoint_trouble)
        trail = await AuditTrail.open(self.connection, self.stream)
        self.answers = QueryAnswerer(self.views, positions, case_log, kinds, trail,
                                     codes=self._app.reference.codes)
        # The trail's own chain, signed with the log's key (several services share it).
        key = await asyncio.to_thread(SigningKey.load_or_create, self.data_dir)
        self.trail_checkpointer = Checkpointer(self.connection, trail.log.stream, key,
                                               chain=trail_chain(self.stream))
        await self.trail_checkpointer.start()

    async def _start_screen(self) -> None:
        """First of all: a port taken stops the start before anything else was begun. Until
        the queries are ready, the screen says the service is starting."""
        store = self.credentials or credential_store(self.data_dir)

        def password_of(principal: str) -> str | None:
            # People sign in, as a principal of theirs; the service's own account is none.
            kinds = self.answers.kinds if self.answers is not None else {}
            if kinds.get(principal) in (None, "service") or not store.has(principal):
                return None
            return store.password(principal)

        self.screen = ResultsScreen(lambda: self.answers, password_of,
                                    lambda: names_of(self._app.reference), self.screen_host,
                                    self.screen_port)
        await self.screen.start()

    def principals(self) -> list[str]:
        """Everyone with a feed: the same rule that lets them read it (`Principal.has_feed`)."""
        return [principal.id for principal in district_principals(self._app.reference)
                if principal.has_feed]

    async def health(self) -> tuple[list[Part], list[str]]:
        """How each part stands, and what an operator should do about the views."""
        if self.parts is None:
            return [], []
        if self.replica_warning or self.batches_advice:  # until `onestop scale` mends them
            await self._report_replicas(say=False)
        replicas = [self.replica_warning] if self.replica_warning else []
        return await self.parts.check(), await self.view_failures() + replicas

    def advice(self) -> list[str]:
        """What the health check adds for an operator to see to, with no fault of a part."""
        batches = [self.batches_advice] if self.batches_advice else []
        if self.overdue is None:
            return batches
        return batches + follow_ups_in_unlisted_years(self._app.reference.calendar,
                                                      self.overdue.follow_ups_due)

    async def view_failures(self) -> list[str]:
        """Each view that stopped on an event, said so that an operator can act on it."""
        if self.views is None:
            return []
        statuses = await asyncio.to_thread(self.views.status)
        return [f"the view {status.name} stopped at log position {status.failure.position} "
                f"({status.failure.topic} of {status.failure.originator_id}: "
                f"{status.failure.error}); the other views go on. Fix the projection, then "
                f"`onestop views clear {status.name}` (or `onestop replay --view "
                f"{status.name}`); `onestop views status` has the details"
                for status in statuses if status.active and status.failure is not None]

    def has_feed(self, principal: str) -> bool:
        if self._with_feeds is None:
            self._with_feeds = frozenset(self.principals())
        return principal in self._with_feeds

    async def stop(self) -> None:
        if self.screen is not None:
            await self.screen.stop()
        if self.overdue is not None:
            await self.overdue.stop()
        if self.intake is not None:
            await self.intake.stop()
        if self.commands is not None:
            await on_loop(self.dispatcher.loop, self.commands.stop())
        if self.queries is not None:
            await self.queries.stop()
        # Refusals only counted so far get their record before the service goes.
        if self.dispatcher is not None and self.dispatcher.audit is not None:
            await on_loop(self.dispatcher.loop, self.dispatcher.audit.flush())
        if self.answers is not None and self.answers.audit is not None:
            await self.answers.audit.flush()
        if self.bell is not None:
            await on_loop(self.dispatcher.loop, self.bell.stop())
        # After the last record, refusals counted at the flush included: it covers them.
        if self.trail_checkpointer is not None:
            await self.trail_checkpointer.stop()
        # After the last write: the last checkpoint covers it.
        if self.followers is not None:
            await self.followers.stop()
        if self.follower_process is not None:
            await self.follower_process.stop()
        if self.views is not None:
            await asyncio.to_thread(self.views.close)
        if self.connection is not None:
            await self.connection.drain()
        if self._app is not None:
            await asyncio.to_thread(self._app.close)
