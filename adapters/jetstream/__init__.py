"""An `eventsourcing` persistence module on NATS JetStream: `PERSISTENCE_MODULE=adapters.jetstream`.

Settings (read from the environment, optionally prefixed with the application's name):
NATS_URL (required), NATS_STREAM (default ONESTOP), NATS_CREDS, NATS_REPLICAS,
NATS_CONNECT_TIMEOUT, NATS_REQUEST_TIMEOUT, NATS_WRITE_TIMEOUT, CLOUDEVENTS_SOURCE, ORIGINATOR_ID_TYPE, CREATE_TABLE.
"""

from adapters.jetstream.factory import JetStreamFactory
from adapters.jetstream.recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamTrackingRecorder,
)

__all__ = [
    "JetStreamAggregateRecorder",
    "JetStreamApplicationRecorder",
    "JetStreamFactory",
    "JetStreamProcessRecorder",
    "JetStreamTrackingRecorder",
]
