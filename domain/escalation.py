"""Escalates what is overdue: cases past their due date, and follow-ups of bad ratings (好差评)
not rectified in their working days. It follows the log for due dates and asks a clock for
now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain import case_events as e
from domain.base import Actor, CommandContext, DomainEvent
from domain.evaluations import Evaluation
from domain.service import Outcome, Service

# What sets a due date, and what ends it, for each kind of record.
SETS_DUE = (e.Accepted, e.Reopened, Evaluation.Rated, Evaluation.Reviewed)
ENDS_DUE = (e.Resolved, e.Rejected, e.Withdrawn, e.Closed, e.Escalated,
            Evaluation.RectificationReported, Evaluation.Appealed, Evaluation.Escalated)
TOPICS = [cls.public_name for cls in (*SETS_DUE, *ENDS_DUE)]


def _due(event: e.Accepted | e.Reopened | Evaluation.Rated | Evaluation.Reviewed
         ) -> datetime | None:
    if isinstance(event, Evaluation.Rated):
        return event.follow_up_due  # None for a good rating
    if isinstance(event, Evaluation.Reviewed):
        return event.rectification_due  # None when overturned
    return event.due


# An event dated this long before it was recorded was loaded from a ledger (a town post's
# paper forms, last year's cases), not done just now.
BACKDATED = timedelta(hours=1)
# A loaded record's later events (its resolution, say) may still be on their way: it is
# judged once the loading has paused this long.
SETTLING = timedelta(minutes=10)


@dataclass(frozen=True)
class Due:
    at: datetime
    escalate: Callable[[CommandContext, UUID], Outcome]
    loaded: bool  # set by an event loaded from a ledger


class OverdueEscalation:
    def __init__(self, app: Service, clock: Callable[[], datetime],
                 actor: Actor | None = None, batch: int = 500,
                 settling: timedelta = SETTLING) -> None:
        self.app, self.clock, self.batch, self.settling = app, clock, batch, settling
        self.actor = actor or Actor(principal=app.reference.lead.code, person="overdue-watch")
        self.position = 0
        self.due: dict[UUID, Due] = {}
        self.last_loaded: datetime | None = None  # when the last loaded event was recorded

    def run(self) -> list[UUID]:
        """Escalates every case and follow-up past its due date now; returns their ids. One
        set by an event loaded from a ledger waits until the loading has paused (`settling`):
        loaded accepted today and resolved a minute later, it was never overdue."""
        self._catch_up()
        now = self.clock()
        loading = self.last_loaded is not None and now < self.last_loaded + self.settling
        escalated = []
        for record_id, record in sorted(self.due.items(), key=lambda item: item[1].at):
            due, escalate = record.at, record.escalate
            if due >= now:
                break
            if record.loaded and loading:
                continue
            # The command id names the record and its due date: a second run writes nothing.
            ctx = CommandContext(actor=self.actor, at=now,
                                 command_id=f"escalate:{record_id}:{due.isoformat()}")
            outcome = escalate(ctx, record_id)
            if outcome.position is not None and not outcome.replayed:
                escalated.append(record_id)
        self._catch_up()
        return escalated

    def follow_ups_due(self) -> list[datetime]:
        """When each open follow-up of a bad rating is due, as far as the log has been read."""
        return [record.at for record in list(self.due.values())
                if record.escalate == self.app.escalate_evaluation]

    def _loaded(self, event: DomainEvent) -> bool:
        recorded = event.recorded_at
        if recorded is None or recorded - event.timestamp < BACKDATED:
            return False
        if self.last_loaded is None or recorded > self.last_loaded:
            self.last_loaded = recorded
        return True

    def _catch_up(self) -> None:
        while True:
            notifications = self.app.recorder.select_notifications(
                start=self.position + 1, limit=self.batch, topics=TOPICS)
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                due = _due(event) if isinstance(event, SETS_DUE) else None
                if due is not None:
                    escalate = (self.app.escalate_evaluation
                                if isinstance(event, Evaluation.Rated | Evaluation.Reviewed)
                                else self.app.escalate_case)
                    self.due[event.originator_id] = Due(due, escalate, self._loaded(event))
                else:
                    self.due.pop(event.originator_id, None)
                self.position = notification.id
            if len(notifications) < self.batch:
                return
