"""Following the log in the service and writing a signed checkpoint of the hash chain
every `every` messages, or `interval` seconds after the oldest message not yet covered.

It keeps no state of its own: at start-up, and whenever another service wrote a checkpoint
first, it resumes from the last checkpoint in the log (its range and head hash), so a restart
or a crash leaves no gap — the messages written meanwhile are covered by the next one.
Each checkpoint is written only if the checkpoint subject has not moved since the one it
continues (`Nats-Expected-Last-Subject-Sequence`): two services never chain two checkpoints
over the same range.

With a seal (seal.py), a checkpoint is sealed, a message without a valid one is never taken
for a checkpoint to resume from, and each checkpoint lists the foreign positions it covers.

An idle log stays idle: a checkpoint is due only when something other than checkpoints has
been written since the last one, so the last checkpoint itself waits for the next activity
to be covered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client

from adapters.audit.checkpoints import ChainSubjects, Checkpoint
from adapters.audit.signing import SigningKey
from adapters.integrity.chain import GENESIS, digest, link
from adapters.integrity.seal import PASSED_OVER, Seal
from adapters.jetstream.log import Conflict, Outgoing, StreamLog
from adapters.jetstream.recent import RecentMessages
from adapters.logs import Throttled
from adapters.tasks import stopped

log = logging.getLogger(__name__)

EVERY = 1000  # messages per checkpoint at most (a body of about 70 kB)
INTERVAL_SECONDS = 10.0
POLL_SECONDS = 1.0
STOP_SECONDS = 2.0  # for the last checkpoint when the service stops


class GapInLog(Exception):
    """A sequence missing from a stream that denies deletes: an operator's doing."""


class Checkpointer:
    def __init__(self, connection: Client, stream: str, key: SigningKey, *,
                 every: int = EVERY, interval: float = INTERVAL_SECONDS,
                 seal: Seal | None = None, chain: ChainSubjects | None = None,
                 recent: RecentMessages | None = None) -> None:
        """`chain`: where in the stream the chain's messages and checkpoints are; by
        default, an event log's (all of `<stream>.>`, checkpoints on `<stream>.checkpoints`)."""
        self.stream, self.key, self.every, self.interval = stream, key, every, interval
        self.chain = chain or ChainSubjects.of_event_log(stream)
        self.subject = self.chain.checkpoints
        self.log = StreamLog(connection, stream, request_timeout=10, seal=seal, recent=recent)
        self.position = 0  # the last position a checkpoint covers
        self._head = GENESIS  # the chain hash there
        self._last_checkpoint = 0  # the stream sequence of that checkpoint
        self._pending: list[bytes] = []  # chain hashes of positions position+1...
        self._foreign: list[int] = []  # the positions among them with no valid seal
        self._oldest_news: float | None = None  # when a message not a checkpoint was read
        self._wanted = 0  # someone waits for this position to be covered: now, not later
        self._wake = asyncio.Event()
        self._covered = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._failing = Throttled(log)
        # Why the last round failed, until one succeeds: what the health check says of a
        # checkpointer that is stuck (`on_trouble` carries it to another process's).
        self.trouble: str | None = None
        self.on_trouble: Callable[[str | None], None] = lambda _: None

    async def start(self) -> None:
        await self.log.start()
        await self._resume()
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self, final: bool = True) -> None:
        """`final`: first cover what was written since the last checkpoint, as a service
        stopping in order does (False: as if it were killed)."""
        await stopped(self._task)
        # Not on a connection that is down: the wait would only hold up the stop.
        if final and self.log.connection.is_connected:
            try:
                await asyncio.wait_for(self.catch_up(force=True), STOP_SECONDS)
            except Exception:
                log.warning("audit: no last checkpoint at stop; the next start covers it",
                            exc_info=True)

    async def wait_covered(self, position: int, timeout: float) -> bool:
        """Until a checkpoint covers `position` (written at once); False on timeout."""
        self._wanted = max(self._wanted, position)
        self._wake.set()
        async with self._covered:
            try:
                await asyncio.wait_for(self._covered.wait_for(
                    lambda: self.position >= position), timeout)
            except TimeoutError:
                return False
        return True

    async def _resume(self) -> None:
        last = await self.log.last(self.subject)
        ours = last
        if last is not None and last.foreign:
            # Not a checkpoint of ours: resume from the last that is. The next one is still
            # written after the foreign message (the server's check compares with it), and
            # covers it, naming it.
            PASSED_OVER.note("checkpointer", self.stream, last.sequence, last.subject)
            ours = await self.log.last_sealed(self.subject, before=last.sequence)
        if ours is None:
            self.position, self._head = 0, GENESIS
        else:
            checkpoint = Checkpoint.parse(ours.body)
            self.position, self._head = checkpoint.last, bytes.fromhex(checkpoint.head)
        self._last_checkpoint = 0 if last is None else last.sequence
        self._pending, self._foreign, self._oldest_news = [], [], None

    async def _follow(self) -> None:
        while True:
            self._wake.clear()  # before the round: one asked for during it is kept for the next
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Conflict:
                log.info("audit: another service wrote a checkpoint first; resuming from it")
                await self._resume()
                continue
            except Exception as error:  # the server away, a gap: the next round goes on
                # Once a minute, not every round: the health check says it is stuck.
                self._failing.warning("round", "audit: checkpointing failed (%r); trying "
                                      "again", error)
                self._troubled(f"{type(error).__name__}: {error}")
            else:
                self._failing.clear()
                self._troubled(None)
            try:  # asyncio.timeout: a wait_for cancelled as it ends can hang a stop (3.11)
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _troubled(self, trouble: str | None) -> None:
        if trouble != self.trouble:
            self.trouble = trouble
            self.on_trouble(trouble)

    async def catch_up(self, force: bool = False) -> None:
        """Hashes what was written since the last round and writes the checkpoints due."""
        previous = self._pending[-1] if self._pending else self._head
        expected = self.position + len(self._pending) + 1
        async for stored in self.log.read(self.chain.messages, expected, page=EVERY):
            if stored.sequence != expected:
                raise GapInLog(f"{self.stream}: position {expected} is missing "
                               f"(next is {stored.sequence})")
            previous = link(previous, stored.sequence,
                            digest(stored.subject, stored.headers, stored.body))
            self._pending.append(previous)
            expected += 1
            if stored.foreign:
                PASSED_OVER.note("checkpointer", self.stream, stored.sequence, stored.subject)
                self._foreign.append(stored.sequence)
            if (stored.subject != self.subject or stored.foreign) and self._oldest_news is None:
                self._oldest_news = asyncio.get_running_loop().time()
            if len(self._pending) >= self.every:
                await self._checkpoint(self.every)
        news = self._oldest_news is not None
        if self._pending and ((force and news) or self._wanted > self.position or self._due()):
            while self._pending:
                await self._checkpoint(min(self.every, len(self._pending)))

    def _due(self) -> bool:
        return (self._oldest_news is not None
                and asyncio.get_running_loop().time() - self._oldest_news >= self.interval)

    async def _checkpoint(self, count: int) -> None:
        hashes = self._pending[:count]
        last = self.position + count
        foreign = tuple(position for position in self._foreign if position <= last)
        checkpoint = Checkpoint.signed(self.key, self.stream, self.position + 1, hashes,
                                       foreign)
        sequence = await self.log.publish(self.log.sealed_message(Outgoing(self.subject, {
            "Nats-Msg-Id": f"checkpoint-{checkpoint.first}-{checkpoint.last}",
            "Nats-Expected-Last-Subject-Sequence": str(self._last_checkpoint),
        }, checkpoint.body())))
        self.position, self._head, self._last_checkpoint = checkpoint.last, hashes[-1], sequence
        del self._pending[:count]
        self._foreign = self._foreign[len(foreign):]
        if not self._pending:
            self._oldest_news = None
        async with self._covered:
            self._covered.notify_all()
