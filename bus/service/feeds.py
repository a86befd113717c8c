"""Department feeds: the CloudEvents of the cases each department is involved in.

The publisher reads the event log in order, in batches, and republishes every case event,
headers and body as stored, to the feed stream of each department involved, so each feed
keeps the log's order. A department that becomes involved first receives the case's earlier
events, so its system can build the whole case from its feed alone.

Each event reaches each feed exactly once, whatever crashes: where the feeds are is kept in a
cursor of their own (feed_cursor.py), claimed batch by batch, and within a batch cut short
(the publisher killed, the server away however long) each feed is asked what it last
received before anything is sent to it again. Nothing depends on the server's duplicate
window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import aclosing
from uuid import uuid4

import orjson
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from adapters.integrity.seal import PASSED_OVER, SEAL, Seal
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import Outgoing, Stored, StreamLog
from adapters.jetstream.recent import RecentMessages
from adapters.tasks import stopped
from bus.contract import subjects
from bus.contract.identity import feed_stream
from bus.service.feed_cursor import Cursor, FeedCursor, Moved
from bus.service.feed_outbox import FeedOutbox
from projections.involvement import Involvement

log = logging.getLogger(__name__)

OLD_CONSUMER = "onestop-feeds"  # how an older onestop followed the log for the feeds
BATCH = 256
POLL_SECONDS = 1.0  # a safety net: each write also rings the doorbell
# After the doorbell: let more events arrive, so that under load one round (a cursor read,
# a log read, a claim and its mark) serves dozens of commands instead of two or three.
# Measured under `onestop bench bus`, with the one-write pass below: the followers' CPU per
# command fell from 0.21 to 0.12 ms, and nats-server's from 0.29 to 0.20.
GATHER_SECONDS = 0.05
LOOK_AGAIN_SECONDS = 60.0  # whether a feed stream without atomic batches has them now
REMEMBERED = 200_000  # (department, case) pairs whose feed position is kept in memory
TOPIC = "Onestop-Topic"
FEED_TOPICS = ("case.", "evaluation.")  # the events feeds carry, by their topic's start
# Headers that belong to the log's own write, not to the event.
NOT_COPIED = {"Nats-Expected-Last-Subject-Sequence", "Nats-Batch-Id", "Nats-Batch-Sequence",
              "Nats-Batch-Commit", "Nats-Stream", "Nats-Sequence", "Nats-Subject",
              "Nats-Time-Stamp", "Nats-Num-Pending", "Nats-Last-Sequence", SEAL}


async def start_position(connection: Client, event_stream: str) -> Cursor:
    """Where the feeds start when they have no cursor yet: where the durable consumer of an
    older onestop had got to (which is then removed), else at the start of the log. What
    that consumer had been given but not acknowledged may be in the feeds already."""
    try:
        info = await connection.jetstream().consumer_info(event_stream, OLD_CONSUMER)
    except NotFoundError:
        return Cursor()
    return Cursor(position=info.ack_floor.stream_seq,
                  until=max(info.delivered.stream_seq, info.ack_floor.stream_seq),
                  claimed_at=0.0)


async def retire_old_consumer(connection: Client, event_stream: str) -> None:
    try:
        await connection.jetstream().delete_consumer(event_stream, OLD_CONSUMER)
    except NotFoundError:
        pass


def concerns_feeds(event: Stored) -> bool:
    """Whether `publish` has anything to do with `event`: a case's or a rating's event to
    send, or a foreign message to note as passed over."""
    return event.foreign or event.headers.get(TOPIC, "").startswith(FEED_TOPICS)


class FeedPublisher:
    def __init__(self, connection: Client, event_stream: str, seal: Seal | None = None,
                 doorbell: str | None = None, name: str | None = None,
                 recent: RecentMessages | None = None) -> None:
        self.connection = connection
        self.event_stream = event_stream
        self.log = StreamLog(connection, event_stream, request_timeout=10, seal=seal,
                             recent=recent)
        self.cursor = FeedCursor(connection, f"{event_stream}_FEEDS")
        self.me = name or f"feeds-{uuid4().hex[:12]}"
        self.doorbell = doorbell or f"{event_stream}.events.>"
        self.cases: dict[str, Involvement] = {}
        # A rating's case and who is told of it (好差评), by the rating's id.
        self.evaluations: dict[str, tuple[str, frozenset[str]]] = {}
        # (department, case) -> the last log position its feed holds, as far as known; asked
        # of the feed where it may hold more than this publisher knows (see feed_cursor.py).
        self.sent: dict[tuple[str, str], int] = {}
        self.unsure_to = 0  # events up to here may be in the feeds already
        # Feed stream -> whether it takes atomic batches, and until when that is believed.
        self._batches: dict[str, tuple[bool, float]] = {}
        self.position = 0
        self._rung = asyncio.Event()
        self._following: asyncio.Task | None = None
        self._subscription = None

    async def start(self) -> None:
        await self.log.start()
        await self.cursor.open()
        self._subscription = await self.connection.subscribe(self.doorbell, cb=self._ring)
        self._following = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        await stopped(self._following)
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.unsubscribe()

    async def _ring(self, _message: object) -> None:
        self._rung.set()

    async def _follow(self) -> None:
        # Reads the log itself, by position, rather than through a consumer: its cursor is
        # the feeds' own (feed_cursor.py), so no acknowledgement can skip an event.
        quiet = False
        while True:
            # Cleared before the round looks: a ring while it reads is kept for the next one
            # (cleared after, the last ring of a burst was lost until the poll, a second on).
            self._rung.clear()
            try:
                published = await self.publish_next_batch()
                quiet = False
            except asyncio.CancelledError:
                raise
            except Moved:
                continue  # another service publishes; read its cursor and follow it
            except Exception as error:  # the server away: the same batch again, later
                if not quiet:
                    log.warning("feeds: publishing stopped (%s); trying again", error)
                quiet = True
                # Rebuilt from the log, and asked of the feeds: a batch may be half stored.
                self.cases.clear()
                self.sent.clear()
                published = 0
            if published < BATCH:  # caught up: wait for news, and then for a few more
                try:
                    async with asyncio.timeout(POLL_SECONDS):
                        await self._rung.wait()
                    await asyncio.sleep(GATHER_SECONDS)
                except TimeoutError:
                    pass

    async def publish_next_batch(self) -> int:
        """Claims the next batch of the log, publishes it, marks it done; how many events it
        held (0: nothing new, or another publisher is at work)."""
        cursor = await self.cursor.read()
        if cursor is None:
            # Written before the older consumer goes: its position is never lost between.
            cursor = await start_position(self.connection, self.event_stream)
            await self.cursor.write(cursor)
            await retire_old_consumer(self.connection, self.event_stream)
        if cursor.held_by_another(self.me):
            return 0
        if cursor.publishing or cursor.position != self.position:
            # A batch claimed and not marked done (some of it may be out), or rounds another
            # publisher made (another service, while this one was cut off): what this one
            # remembers of the cases and of the feeds may be behind them. Rebuilt from the
            # log, and asked of the feeds.
            self.cases.clear()
            self.sent.clear()
        if cursor.publishing:
            self.unsure_to = max(self.unsure_to, cursor.until)
        batch = await self._read(cursor.position, BATCH)
        if not batch:
            if cursor.publishing:  # nothing to publish after all: done with it
                await self.cursor.write(Cursor(position=cursor.until))
            return 0
        last = max(batch[-1].sequence, cursor.until)
        if not cursor.publishing and not any(map(concerns_feeds, batch)):
            # Nothing in it goes to a feed (registrations, the library, ...): passed in one
            # write, with no claim, as nothing can be half sent.
            await self.cursor.write(Cursor(position=last))
            self.position = last
            return len(batch)
        await self.cursor.write(Cursor(position=cursor.position, until=last, holder=self.me,
                                       claimed_at=time.time()))
        if len(self.sent) >= REMEMBERED:  # only a shortcut: the feed is asked where it matters
            self.sent.clear()
        outbox = FeedOutbox()
        for event in batch:
            await self.publish(event, outbox)
        await outbox.send(self.log, self._takes_batches)
        await self.cursor.write(Cursor(position=last))
        self.position = last
        return len(batch)

    async def _read(self, after: int, limit: int) -> list[Stored]:
        batch: list[Stored] = []
        async with aclosing(self.log.read(f"{self.event_stream}.events.>", after + 1,
                                          page=limit)) as messages:
            async for stored in messages:
                batch.append(stored)
                if len(batch) >= limit:
                    break
        return batch

    async def publish(self, event: Stored, outbox: FeedOutbox) -> None:
        """Adds to `outbox` what `event` makes each feed receive."""
        if event.foreign:  # told by the log as it read it (adapters/integrity/seal.py)
            PASSED_OVER.note("feeds", self.event_stream, event.sequence, event.subject)
            return
        topic = event.headers.get(TOPIC, "")
        if topic.startswith("evaluation."):
            await self._publish_evaluation(event, topic, outbox)
            return
        if not topic.startswith("case."):
            return
        case_id = event.subject.rsplit(".", 1)[1]
        involvement = self.cases.get(case_id)
        if involvement is None and event.headers.get(ce.VERSION) == "1":  # a new case
            involvement = Involvement()
        elif involvement is None:  # first sight since start-up: catch up from its history
            involvement = await self._rebuild(case_id, before=event.sequence)
        try:
            delivery = involvement.apply(topic, orjson.loads(event.body))
            if delivery.newcomers:  # read once, for all of them (an acceptance has several)
                history = [earlier async for earlier in self._history(case_id, event.sequence)]
                for newcomer in sorted(delivery.newcomers):
                    for earlier in history:
                        await self._send(outbox, newcomer, case_id, earlier, history=True)
            for department in sorted(delivery.recipients):
                await self._send(outbox, department, case_id, event)
        except Exception:
            self.cases.pop(case_id, None)  # rebuilt from the log when redelivered
            raise
        self.cases[case_id] = involvement

    async def _publish_evaluation(self, event: Stored, topic: str, outbox: FeedOutbox) -> None:
        """A rating of a stage of a case (好差评) and what followed it: to the department
        it is for, and to whoever took the case (a window, a town post, the portal), which
        tells the enterprise. On the case's subject of their feeds."""
        evaluation_id = event.subject.rsplit(".", 1)[1]
        about = self.evaluations.get(evaluation_id)
        if about is None:
            rated = event
            if topic != "evaluation.rated":
                async with aclosing(self._history(evaluation_id, event.sequence)) as earlier:
                    rated = await anext(earlier, None)
            if rated is None:
                return  # its rating passed over as foreign: nobody to tell
            data = orjson.loads(rated.body)
            about = (data["case_id"], frozenset({data["department"],
                                                 data.get("station") or "portal"}))
            if len(self.evaluations) >= REMEMBERED:
                self.evaluations.clear()
            self.evaluations[evaluation_id] = about
        case_id, recipients = about
        for principal in sorted(recipients):
            await self._send(outbox, principal, case_id, event)

    async def _last_in_feed(self, department: str, subject: str) -> int:
        """The log position of the last message a feed holds on `subject` (0: none), asked of
        the feed stream's leader: on a cluster a direct get may be answered by a follower that
        has not stored the last write yet, and what it lacked would be sent again."""
        try:
            stored = await self.connection.jetstream().get_last_msg(feed_stream(department),
                                                                    subject)
        except NotFoundError:
            return 0
        return int((stored.headers or {}).get("Onestop-Log-Sequence", "0"))

    async def _takes_batches(self, stream: str) -> bool:
        """Whether a feed stream takes atomic batches; one made by an older onestop does once
        the operator has run `onestop scale`, which is looked for again now and then."""
        known = self._batches.get(stream)
        if known is not None and (known[0] or time.monotonic() < known[1]):
            return known[0]
        info = await self.connection.jetstream().stream_info(stream)
        takes = bool(info.config.allow_atomic)
        self._batches[stream] = (takes, time.monotonic() + LOOK_AGAIN_SECONDS)
        return takes

    async def _rebuild(self, case_id: str, before: int) -> Involvement:
        involvement = Involvement()
        async for earlier in self._history(case_id, before):
            involvement.apply(earlier.headers.get(TOPIC, ""), orjson.loads(earlier.body))
        return involvement

    async def _history(self, case_id: str, before: int):
        async for earlier in self.log.read(f"{self.event_stream}.events.{case_id}", 1,
                                           stop=before - 1):
            if earlier.foreign:
                PASSED_OVER.note("feeds", self.event_stream, earlier.sequence, earlier.subject)
            else:
                yield earlier

    async def _send(self, outbox: FeedOutbox, department: str, case_id: str, event: Stored,
                    history: bool = False) -> None:
        subject = subjects.feed_case(department, case_id)
        key = (department, case_id)
        if (history or event.sequence <= self.unsure_to) and key not in self.sent:
            # It may hold this already: from a batch cut short, or from an earlier time the
            # department was involved. The feed says what it last received.
            self.sent[key] = await self._last_in_feed(department, subject)
        if self.sent.get(key, 0) >= event.sequence:
            return  # in this feed already
        headers = {k: v for k, v in event.headers.items() if k not in NOT_COPIED}
        headers["Onestop-Log-Sequence"] = str(event.sequence)
        headers[subjects.FEED_LOG_HEADER] = self.event_stream
        outbox.add(feed_stream(department), Outgoing(subject, headers, event.body))
        # Counted as in the feed from now: the round either stores it or fails (and forgets).
        self.sent[key] = event.sequence
