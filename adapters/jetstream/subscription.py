"""`subscribe()`: an ordered push consumer delivers new events in stream order to a queue that
the library's synchronous iterator blocks on; `stop()` from any thread unblocks it.

Why it exists beside the other readers: it is the library's own interface for following a
log as it grows (its process applications and system runners call it), where the others
read up to the head as it was and stop."""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eventsourcing.persistence import Notification, Subscription
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from adapters.jetstream.log import Stored

if TYPE_CHECKING:
    from adapters.jetstream.recorders import JetStreamApplicationRecorder

_STOPPED = object()


class JetStreamSubscription(Subscription["JetStreamApplicationRecorder"]):
    def __init__(self, recorder: JetStreamApplicationRecorder, gt: int | None = None,
                 topics: Sequence[str] = ()) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._store = recorder.store
        self._wanted_topics = frozenset(topics)
        self._queue: queue.Queue[object] = queue.Queue()
        self._consumer = self._store.bridge.run(self._start(gt or 0))

    async def _start(self, gt: int):
        js = self._store.bridge.connection.jetstream()
        return await js.subscribe(
            self._store.subjects.all_events,
            stream=self._store.log.stream,
            cb=self._receive,
            ordered_consumer=True,
            # Missed heartbeats are how the client notices a restarted server and recreates
            # the consumer; the default 5 s left new events waiting ~20 s after a restart.
            idle_heartbeat=1.0,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=gt + 1
            ),
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )

    async def _receive(self, message: Msg) -> None:
        stored = Stored(message.subject, message.metadata.sequence.stream,
                        message.headers or {}, message.data)
        try:
            notification = self._store.notification(stored)
        except Exception as error:  # a foreign message on our subjects: surface it
            self._queue.put(error)
            return
        if not self._wanted_topics or notification.topic in self._wanted_topics:
            self._queue.put(notification)

    def __next__(self) -> Notification:
        if self._has_been_stopped:
            raise StopIteration
        item = self._queue.get()
        if item is _STOPPED or self._has_been_stopped:
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[return-value]

    def stop(self) -> None:
        if self._has_been_stopped:
            return
        super().stop()
        self._queue.put(_STOPPED)
        consumer, self._consumer = self._consumer, None
        if consumer is not None and not self._store.bridge.closed:
            try:
                self._store.bridge.run(consumer.unsubscribe(), timeout=5)
            except Exception:  # the consumer is ephemeral; the server cleans it up anyway
                pass
