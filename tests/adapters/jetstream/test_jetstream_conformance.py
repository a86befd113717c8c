"""The eventsourcing library's own recorder and factory suites, on a real nats-server."""

from __future__ import annotations

from typing import ClassVar

from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from adapters.jetstream import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamFactory,
    JetStreamProcessRecorder,
    JetStreamTrackingRecorder,
)
from tests.support import session_nats_url, unique_stream_name


class FreshStore:
    """Each recorder gets a fresh, empty stream (ids must start at 1) on the session server."""

    factories: ClassVar[list[InfrastructureFactory]]

    def setUp(self) -> None:
        self.factories = []
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        for factory in self.factories:
            factory.close()

    def factory(self, **env: str) -> JetStreamFactory:
        factory = JetStreamFactory(
            {"NATS_URL": session_nats_url(), "NATS_STREAM": unique_stream_name(), **env}
        )
        self.factories.append(factory)
        return factory


class TestAggregateRecorder(FreshStore, AggregateRecorderTestCase):
    def create_recorder(self) -> JetStreamAggregateRecorder:
        return self.factory().aggregate_recorder()


class TestSnapshotRecorder(FreshStore, AggregateRecorderTestCase):
    def create_recorder(self) -> JetStreamAggregateRecorder:
        return self.factory().aggregate_recorder(purpose="snapshots")


class TestApplicationRecorder(FreshStore, ApplicationRecorderTestCase):
    def create_recorder(self) -> JetStreamApplicationRecorder:
        return self.factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestTrackingRecorder(FreshStore, TrackingRecorderTestCase):
    def create_recorder(self) -> JetStreamTrackingRecorder:
        return self.factory().tracking_recorder()


class TestProcessRecorder(FreshStore, ProcessRecorderTestCase):
    def create_recorder(self) -> JetStreamProcessRecorder:
        return self.factory().process_recorder()


class TestProcessRecorderAsTracking(FreshStore, TrackingRecorderTestCase):
    def create_recorder(self) -> JetStreamProcessRecorder:
        return self.factory().process_recorder()


class TestNonInterleavingNotificationIDs(FreshStore, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> JetStreamApplicationRecorder:
        return self.factory().application_recorder()


class CustomTrackingRecorder(JetStreamTrackingRecorder):
    pass


class TestInfrastructureFactory(InfrastructureFactoryTestCase[JetStreamFactory]):
    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = "adapters.jetstream"
        self.env[JetStreamFactory.NATS_URL] = session_nats_url()
        self.env[JetStreamFactory.NATS_STREAM] = unique_stream_name()
        super().setUp()

    def expected_factory_class(self) -> type[JetStreamFactory]:
        return JetStreamFactory

    def expected_aggregate_recorder_class(self) -> type[JetStreamAggregateRecorder]:
        return JetStreamAggregateRecorder

    def expected_application_recorder_class(self) -> type[JetStreamApplicationRecorder]:
        return JetStreamApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[JetStreamTrackingRecorder]:
        return JetStreamTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return CustomTrackingRecorder

    def expected_process_recorder_class(self) -> type[JetStreamProcessRecorder]:
        return JetStreamProcessRecorder


del AggregateRecorderTestCase
del ApplicationRecorderTestCase
del TrackingRecorderTestCase
del ProcessRecorderTestCase
del NonInterleavingNotificationIDsBaseCase
del InfrastructureFactoryTestCase
