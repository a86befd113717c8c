"""The `eventsourcing` recorder interfaces, each a thin face over one EventStore."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from adapters.jetstream.store import EventStore
from adapters.jetstream.subscription import JetStreamSubscription


class JetStreamAggregateRecorder(AggregateRecorder):
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        self.store.insert(stored_events)
        return None

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        return self.store.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)


class JetStreamApplicationRecorder(JetStreamAggregateRecorder, ApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        return self.store.insert(stored_events)

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        return self.store.select_notifications(start, limit, stop, topics, inclusive_of_start)

    def max_notification_id(self) -> int | None:
        return self.store.max_notification_id()

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Subscription[Any]:
        return JetStreamSubscription(self, gt=gt, topics=topics)


class JetStreamTrackingRecorder(TrackingRecorder):
    """Tracking records live in the event stream itself (`<stream>.tracking.<upstream>`), so a
    process recorder can write them in the same atomic batch as the events they caused."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def insert_tracking(self, tracking: Tracking) -> None:
        self.store.insert((), tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.store.max_tracking_id(application_name)


class JetStreamProcessRecorder(JetStreamTrackingRecorder, JetStreamApplicationRecorder,
                               ProcessRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      tracking: Tracking | None = None, **kwargs: Any) -> Sequence[int] | None:
        return self.store.insert(stored_events, tracking)
