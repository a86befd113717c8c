"""Department feeds: the CloudEvents of the cases each department is involved in.

A durable consumer (pulled by the service, in batches) follows the event log, strictly in order (so each
feed keeps the log's order), and republishes every case event, headers and body as stored, to
the feed stream of each department involved. A department that becomes involved first receives the case's
earlier events, so its system can build the whole case from its feed alone. Feed messages keep
the event's id as `Nats-Msg-Id`: a redelivery after a crash is not published twice.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy as ConsumerAck
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from adapters.audit.seal import PASSED_OVER, SEAL, Seal
from adapters.jetstream import cloudevents as ce
from adapters.jetstream.log import Outgoing, Stored, StreamLog
from adapters.tasks import stopped
from bus import subjects
from projections.involvement import Involvement

log = logging.getLogger(__name__)

CONSUMER = "onestop-feeds"
BATCH = 256
TOPIC = "Onestop-Topic"
# Headers that belong to the log's own write, not to the event.
NOT_COPIED = {"Nats-Expected-Last-Subject-Sequence", "Nats-Batch-Id", "Nats-Batch-Sequence",
              "Nats-Batch-Commit", "Nats-Stream", "Nats-Sequence", "Nats-Subject",
              "Nats-Time-Stamp", "Nats-Num-Pending", "Nats-Last-Sequence", SEAL}


async def ensure_feed_consumer(connection: Client, event_stream: str) -> bool:
    """Makes the durable consumer the feeds follow the log with; True if one ack acknowledges
    everything before it (a consumer made by an older onestop acknowledges one by one)."""
    js = connection.jetstream()
    try:
        info = await js.consumer_info(event_stream, CONSUMER)
    except NotFoundError:
        info = await js.add_consumer(event_stream, ConsumerConfig(
            durable_name=CONSUMER, ack_policy=ConsumerAck.ALL,
            deliver_policy=DeliverPolicy.ALL, filter_subject=f"{event_stream}.events.>",
            # One batch at a time, handled in order (see on_logged_events).
            max_ack_pending=BATCH, ack_wait=60,
        ))
    if info.config.max_ack_pending != BATCH:  # one at a time, as an older onestop made it
        info.config.max_ack_pending = BATCH
        info = await js.add_consumer(event_stream, info.config)
    return info.config.ack_policy == ConsumerAck.ALL


class FeedPublisher:
    def __init__(self, connection: Client, event_stream: str, ack_all: bool = True,
                 seal: Seal | None = None) -> None:
        self.connection = connection
        self.ack_all = ack_all
        self.event_stream = event_stream
        self.log = StreamLog(connection, event_stream, request_timeout=10, seal=seal)
        self.cases: dict[str, Involvement] = {}

    async def start(self) -> None:
        await self.log.start()
        self._subscription = await self.connection.jetstream().pull_subscribe_bind(
            durable=CONSUMER, stream=self.event_stream)
        self._following = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        await stopped(self._following)
        await self._subscription.unsubscribe()

    async def _follow(self) -> None:
        # A plain pull subscription rather than a FastStream subscriber: this consumer is
        # internal, and FastStream's per-message wrapping cost a tenth of the service's CPU.
        while True:
            try:
                batch = await self._subscription.fetch(BATCH, timeout=1.0)
            except NatsTimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the server restarting: fetch again
                log.warning("feeds: fetching from the log failed; trying again", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            await self.handle(batch)

    async def handle(self, batch: list[Msg]) -> None:
        """Publishes a batch in log order; from a failure on, the rest comes again later."""
        for position, raw in enumerate(batch):
            event = Stored(raw.subject, raw.metadata.sequence.stream, raw.headers or {},
                           raw.data)
            try:
                await self.publish(event)
            except Exception:
                log.exception("feeds: event %s not published yet; it will come again",
                              event.sequence)
                if self.ack_all and position:
                    await batch[position - 1].ack()
                for later in batch[position:]:
                    await later.nak(delay=2.0)
                return
            if not self.ack_all:
                await raw.ack()
        if self.ack_all and batch:
            await batch[-1].ack()  # and so every event before it

    async def publish(self, event: Stored) -> None:
        sealed = self.log.sealed
        if sealed is not None and sealed.foreign(event.sequence, event.subject, event.headers,
                                                 event.body):
            PASSED_OVER.note("feeds", self.event_stream, event.sequence, event.subject)
            return
        topic = event.headers.get(TOPIC, "")
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
            for newcomer in sorted(delivery.newcomers):
                async for earlier in self._history(case_id, before=event.sequence):
                    await self._send(newcomer, case_id, earlier)
            for department in sorted(delivery.recipients):
                await self._send(department, case_id, event)
        except Exception:
            self.cases.pop(case_id, None)  # rebuilt from the log when redelivered
            raise
        self.cases[case_id] = involvement

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

    async def _send(self, department: str, case_id: str, event: Stored) -> None:
        headers = {k: v for k, v in event.headers.items() if k not in NOT_COPIED}
        headers["Onestop-Log-Sequence"] = str(event.sequence)
        await self.log.publish(Outgoing(subjects.feed_case(department, case_id), headers,
                                        event.body))
