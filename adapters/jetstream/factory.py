"""`PERSISTENCE_MODULE=adapters.jetstream`: the infrastructure factory the library constructs."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from adapters.integrity.seal import Seal
from adapters.jetstream.bridge import NatsBridge
from adapters.jetstream.recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamTrackingRecorder,
)
from adapters.jetstream.store import EventStore
from adapters.jetstream.stream_subjects import StreamSubjects, check_stream_name
from adapters.jetstream.streams import StreamRecipe, configured_replicas, ensure_stream

DEFAULT_STREAM = "ONESTOP"


class JetStreamFactory(InfrastructureFactory[JetStreamTrackingRecorder]):
    NATS_URL = "NATS_URL"
    NATS_STREAM = "NATS_STREAM"
    NATS_CREDS = "NATS_CREDS"
    NATS_REPLICAS = "NATS_REPLICAS"
    NATS_CONNECT_TIMEOUT = "NATS_CONNECT_TIMEOUT"
    NATS_REQUEST_TIMEOUT = "NATS_REQUEST_TIMEOUT"
    NATS_WRITE_TIMEOUT = "NATS_WRITE_TIMEOUT"
    CLOUDEVENTS_SOURCE = "CLOUDEVENTS_SOURCE"
    ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"
    CREATE_TABLE = "CREATE_TABLE"
    # The key every message is sealed with (adapters/integrity/seal.py); none: not sealed,
    # nothing told foreign (a store used outside onestop's service, the library's tests).
    SEAL_KEY_FILE = "ONESTOP_SEAL_KEY_FILE"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        url = self.env.get(self.NATS_URL)
        if not url:
            raise OSError(f"NATS server URL not found in environment with key '{self.NATS_URL}'")
        self.stream = check_stream_name(self.env.get(self.NATS_STREAM) or DEFAULT_STREAM)
        self.originator_id_type = (self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid").lower()
        if self.originator_id_type not in ("uuid", "text"):
            raise OSError(f"invalid {self.ORIGINATOR_ID_TYPE} {self.originator_id_type!r}: "
                          "use 'uuid' or 'text'")
        self.replicas = configured_replicas(self.env)
        self.request_timeout = float(self.env.get(self.NATS_REQUEST_TIMEOUT) or 5)
        self.write_timeout = float(self.env.get(self.NATS_WRITE_TIMEOUT) or 30)
        self.source = self.env.get(self.CLOUDEVENTS_SOURCE) or f"/onestop/{self.stream}"
        self.bridge = NatsBridge(
            url, name=f"onestop-{self.stream}",
            credentials=self.env.get(self.NATS_CREDS) or None,
            connect_timeout=float(self.env.get(self.NATS_CONNECT_TIMEOUT) or 5),
        )
        key_file = self.env.get(self.SEAL_KEY_FILE)
        self.seal = Seal.load(Path(key_file)) if key_file else None
        self._stores: dict[str, EventStore] = {}

    def _store(self, kind: str) -> EventStore:
        if kind not in self._stores:
            subjects = StreamSubjects(self.stream, kind)
            if kind == "events":
                recipe = StreamRecipe(self.stream, (subjects.all_events, subjects.all_tracking,
                                                    subjects.checkpoints),
                                      append_only=True, replicas=self.replicas,
                                      seal=self.seal)
            else:
                recipe = StreamRecipe(f"{self.stream}_SNAPSHOTS", (subjects.all_events,),
                                      append_only=False, replicas=self.replicas,
                                      seal=self.seal)
            create = strtobool(self.env.get(self.CREATE_TABLE) or "yes")
            js = self.bridge.connection.jetstream()
            self.bridge.run(ensure_stream(js, recipe, create=create))
            self._stores[kind] = EventStore(
                self.bridge, subjects, source=self.source,
                originator_id_type=self.originator_id_type,
                request_timeout=self.request_timeout, write_timeout=self.write_timeout,
                seal=self.seal,
            )
        return self._stores[kind]

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose != "snapshots":
            return JetStreamAggregateRecorder(self._store("events"))
        snapshots = self._store("snapshots")
        snapshots.point_snapshots_into(self._store("events"))
        return JetStreamAggregateRecorder(snapshots)

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        recorder_class = resolve_topic(topic) if topic else JetStreamApplicationRecorder
        return recorder_class(self._store("events"))

    def tracking_recorder(
        self, tracking_recorder_class: type[JetStreamTrackingRecorder] | None = None
    ) -> JetStreamTrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = resolve_topic(topic) if topic else JetStreamTrackingRecorder
        return tracking_recorder_class(self._store("events"))

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        recorder_class = resolve_topic(topic) if topic else JetStreamProcessRecorder
        return recorder_class(self._store("events"))

    def close(self) -> None:
        self.bridge.close()

    def __del__(self) -> None:
        bridge = getattr(self, "bridge", None)
        if bridge is not None and not bridge.closed:
            bridge.close()


__all__ = ["JetStreamFactory"]
