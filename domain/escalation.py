"""Escalates overdue cases. It follows the log for due dates and asks a clock for now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain import case_events as e
from domain.base import Actor, CommandContext
from domain.service import Service

SETS_DUE = (e.Accepted, e.Reopened)
ENDS_DUE = (e.Resolved, e.Rejected, e.Withdrawn, e.Closed, e.Escalated)
TOPICS = [cls.public_name for cls in (*SETS_DUE, *ENDS_DUE)]


class OverdueEscalation:
    def __init__(self, app: Service, clock: Callable[[], datetime],
                 actor: Actor | None = None, batch: int = 500) -> None:
        self.app, self.clock, self.batch = app, clock, batch
        self.actor = actor or Actor(principal=app.reference.lead.code, person="overdue-watch")
        self.position = 0
        self.due: dict[UUID, datetime] = {}

    def run(self) -> list[UUID]:
        """Escalates every case past its due date now; returns the ones escalated."""
        self._catch_up()
        now = self.clock()
        escalated = []
        for case_id, due in sorted(self.due.items(), key=lambda item: item[1]):
            if due >= now:
                break
            # The command id names the case and its due date: a second run writes nothing.
            ctx = CommandContext(actor=self.actor, at=now,
                                 command_id=f"escalate:{case_id}:{due.isoformat()}")
            outcome = self.app.escalate_case(ctx, case_id)
            if outcome.position is not None and not outcome.replayed:
                escalated.append(case_id)
        self._catch_up()
        return escalated

    def _catch_up(self) -> None:
        while True:
            notifications = self.app.recorder.select_notifications(
                start=self.position + 1, limit=self.batch, topics=TOPICS)
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                if isinstance(event, SETS_DUE):
                    self.due[event.originator_id] = event.due
                else:
                    self.due.pop(event.originator_id, None)
                self.position = notification.id
            if len(notifications) < self.batch:
                return
