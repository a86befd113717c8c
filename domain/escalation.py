"""Escalates what is overdue: cases past their due date, and follow-ups of bad ratings (好差评)
not rectified in their working days. It follows the log for due dates and asks a clock for
now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain import case_events as e
from domain.base import Actor, CommandContext
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


class OverdueEscalation:
    def __init__(self, app: Service, clock: Callable[[], datetime],
                 actor: Actor | None = None, batch: int = 500) -> None:
        self.app, self.clock, self.batch = app, clock, batch
        self.actor = actor or Actor(principal=app.reference.lead.code, person="overdue-watch")
        self.position = 0
        self.due: dict[UUID, tuple[datetime, Callable[[CommandContext, UUID], Outcome]]] = {}

    def run(self) -> list[UUID]:
        """Escalates every case and follow-up past its due date now; returns their ids."""
        self._catch_up()
        now = self.clock()
        escalated = []
        for record_id, (due, escalate) in sorted(self.due.items(), key=lambda item: item[1][0]):
            if due >= now:
                break
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
        return [due for due, escalate in list(self.due.values())
                if escalate == self.app.escalate_evaluation]

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
                    self.due[event.originator_id] = (due, escalate)
                else:
                    self.due.pop(event.originator_id, None)
                self.position = notification.id
            if len(notifications) < self.batch:
                return
