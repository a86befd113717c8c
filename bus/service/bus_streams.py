"""The bus's own streams, created and kept by us with nats-py (never declared by FastStream,
which would overwrite a stream's configuration on start-up)."""

from __future__ import annotations

import os

from datetime import timedelta

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from adapters.jetstream.streams import configured_replicas
from bus.contract import subjects
from bus.contract.identity import feed_stream

# Deliveries of an intake message that fails through our fault before it is dead-lettered.
# The consumer itself redelivers without limit: a message whose handling could not even end
# (the server away at that moment) is never left behind undelivered (bus/service/durable_intake.py).
MAX_DELIVER = 5
# Waits before the 2nd, 3rd... delivery of an intake message whose processing failed.
BACKOFF_SECONDS = (1.0, 5.0, 15.0, 30.0)


def feed_duplicate_window() -> float:
    """How long a feed stream remembers message ids (NATS' default, 2 minutes). The feeds'
    exactly-once does not rest on it (bus/service/feeds.py); tests shorten it to show that."""
    return float(os.environ.get("ONESTOP_FEED_DUPLICATE_WINDOW") or 120)


def _durable(name: str, subject_list: list[str], **options) -> StreamConfig:
    return StreamConfig(name=name, subjects=subject_list, storage=StorageType.FILE,
                        discard=DiscardPolicy.NEW, allow_direct=True,
                        num_replicas=configured_replicas(), **options)


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)


async def ensure_bus_streams(js: JetStreamContext, principals: list[str]) -> None:
    # The intake is a work queue: a command leaves it once processed (its effect is in the log).
    await _ensure(js, _durable(subjects.INTAKE_STREAM, [f"{subjects.INTAKE}.>"],
                               retention=RetentionPolicy.WORK_QUEUE))
    await _ensure(js, _durable(subjects.DEAD_LETTER_STREAM, [f"{subjects.DEAD_LETTERS}.>"]))
    for principal in principals:
        # Atomic batches: bus/service/feed_outbox.py. (A feed an older onestop made without
        # them is given them by `onestop scale`: the service may not change streams.)
        await _ensure(js, _durable(feed_stream(principal), [subjects.all_feed(principal)],
                                   max_age=timedelta(days=365).total_seconds(),
                                   duplicate_window=feed_duplicate_window(),
                                   allow_atomic=True))
    try:
        info = await js.consumer_info(subjects.INTAKE_STREAM, subjects.INTAKE_CONSUMER)
    except NotFoundError:
        await js.add_consumer(subjects.INTAKE_STREAM, ConsumerConfig(
            durable_name=subjects.INTAKE_CONSUMER, ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL, filter_subject=subjects.ALL_INTAKE,
            ack_wait=60, max_deliver=-1, max_ack_pending=256,
        ))
    else:
        if info.config.max_deliver not in (None, -1):  # as an older onestop made it
            info.config.max_deliver = -1
            await js.add_consumer(subjects.INTAKE_STREAM, info.config)
