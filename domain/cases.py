"""The service case: decisions and the states in which each is allowed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime

from domain import case_events as e
from domain import commands as c
from domain.base import Aggregate, CommandContext
from domain.case_events import OPEN
from domain.errors import refuse
from domain.resources import Booking

LOW_RATING = 2


class Case(Aggregate):
    public_name = "case"
    enterprise_id: UUID
    service_type: str
    channel: str
    station: str | None
    # Who took the order: its station, or whoever submitted it (the portal online). It may
    # withdraw and rate the case (domain/authority.py). None in a snapshot older than it.
    taker: str | None = None
    status: e.Status
    lead: str | None
    collaborators: tuple[str, ...]
    due: AwareDatetime | None
    sla_days: int
    escalations: int
    appointment: tuple[AwareDatetime, str] | None
    experts: dict[UUID, UUID]  # booking id -> expert id
    equipment: dict[UUID, UUID]  # booking id -> equipment id
    visits: list[e.VisitRecorded]
    plan: e.ImprovementPlanned | None
    resolution: e.Resolved | None
    rating: int | None

    @classmethod
    def submit(cls, ctx: CommandContext, case_id: UUID, **fields: Any) -> Case:
        return cls.start(case_id, e.Submitted, ctx, **fields)

    def _require(self, allowed: frozenset[str], doing: str) -> None:
        """The states each command allows are declared with it (domain/commands.py)."""
        if self.status not in allowed:
            raise refuse("case.invalid_transition",
                         f"This case is {self.status}; it cannot be {doing} now.",
                         status=self.status, action=doing)

    def accept(self, ctx: CommandContext, lead: str, collaborators: tuple[str, ...],
               sla_days: int) -> None:
        self._require(c.AcceptCase.states, "accepted")
        self.trigger(e.Accepted, ctx, lead_department=lead, sla_days=sla_days,
                     collaborators=tuple(c for c in collaborators if c != lead),
                     due=ctx.at + timedelta(days=sla_days))

    def reject(self, ctx: CommandContext, reason: str) -> None:
        self._require(c.RejectCase.states, "rejected")
        self.trigger(e.Rejected, ctx, reason=reason)

    def withdraw(self, ctx: CommandContext, reason: str) -> None:
        self._require(c.WithdrawCase.states, "withdrawn")
        self.trigger(e.Withdrawn, ctx, reason=reason)

    def transfer(self, ctx: CommandContext, to: str, reason: str) -> None:
        self._require(c.TransferCase.states, "transferred")
        if to == self.lead:
            raise refuse("case.same_department", f"The case is already led by {to}.", to=to)
        self.trigger(e.Transferred, ctx, from_department=self.lead, to_department=to, reason=reason)

    def schedule(self, ctx: CommandContext, at: AwareDatetime, place: str) -> None:
        self._require(c.ScheduleAppointment.states, "given an appointment")
        if self.appointment is not None:
            raise refuse("case.appointment_exists",
                          "The case already has an appointment: reschedule or cancel it.")
        self.trigger(e.AppointmentScheduled, ctx, at=at, place=place)

    def reschedule(self, ctx: CommandContext, at: AwareDatetime, place: str, reason: str) -> None:
        self._require(c.RescheduleAppointment.states, "rescheduled")
        self._require_appointment()
        self.trigger(e.AppointmentRescheduled, ctx, at=at, place=place, reason=reason)

    def cancel_appointment(self, ctx: CommandContext, reason: str) -> None:
        self._require(c.CancelAppointment.states, "have its appointment cancelled")
        self._require_appointment()
        self.trigger(e.AppointmentCancelled, ctx, reason=reason)

    def _require_appointment(self) -> None:
        if self.appointment is None:
            raise refuse("case.no_appointment", "The case has no appointment.")

    def assign_expert(self, ctx: CommandContext, expert_id: UUID, booking: Booking) -> None:
        self._require(c.AssignExpert.states, "given an expert")
        self.trigger(e.ExpertAssigned, ctx, expert_id=expert_id, booking_id=booking.booking_id,
                     start=booking.start, end=booking.end)

    def release_expert(self, ctx: CommandContext, booking_id: UUID) -> UUID:
        expert_id = self._booked(self.experts, booking_id)
        self.trigger(e.ExpertReleased, ctx, expert_id=expert_id, booking_id=booking_id)
        return expert_id

    def book_equipment(self, ctx: CommandContext, equipment_id: UUID, booking: Booking) -> None:
        self._require(c.BookEquipment.states, "given equipment")
        self.trigger(e.EquipmentBooked, ctx, equipment_id=equipment_id,
                     booking_id=booking.booking_id, start=booking.start, end=booking.end)

    def release_equipment(self, ctx: CommandContext, booking_id: UUID) -> UUID:
        equipment_id = self._booked(self.equipment, booking_id)
        self.trigger(e.EquipmentReleased, ctx, equipment_id=equipment_id, booking_id=booking_id)
        return equipment_id

    def _booked(self, bookings: dict[UUID, UUID], booking_id: UUID) -> UUID:
        self._require(c.BOOKINGS_KEPT, "released from a booking")
        if booking_id not in bookings:
            raise refuse("booking.not_found", "The case has no such booking.",
                         booking_id=booking_id)
        return bookings[booking_id]

    def record_visit(self, ctx: CommandContext, visited_at: AwareDatetime,
                     experts: tuple[UUID, ...], findings: tuple[e.Finding, ...],
                     recommendations: tuple[str, ...]) -> None:
        self._require(c.RecordVisit.states, "given a visit report")
        strangers = set(experts) - set(self.experts.values())
        if strangers:
            raise refuse("case.expert_not_assigned",
                         "Only experts assigned to the case can report a visit.",
                         experts=sorted(str(x) for x in strangers))
        self.trigger(e.VisitRecorded, ctx, visited_at=visited_at, experts=experts,
                     findings=findings, recommendations=recommendations)

    def plan_improvement(self, ctx: CommandContext, actions: tuple[str, ...],
                         target_date: date) -> None:
        self._require(c.PlanImprovement.states, "given an improvement plan")
        if not self.visits:
            raise refuse("case.no_visit", "An improvement plan follows an on-site visit; "
                         "record the visit first.")
        self.trigger(e.ImprovementPlanned, ctx, actions=actions, target_date=target_date)

    def resolve(self, ctx: CommandContext, outcome: str, invested: Decimal,
                saved_per_year: Decimal, expected_benefit: Decimal) -> None:
        self._require(c.ResolveCase.states, "resolved")
        self.trigger(e.Resolved, ctx, outcome=outcome, invested_yuan=invested,
                     saved_per_year_yuan=saved_per_year, expected_benefit_yuan=expected_benefit)

    def rate(self, ctx: CommandContext, score: int, comment: str) -> None:
        self._require(c.RateCase.states, "rated")
        if self.rating is not None:
            raise refuse("case.already_rated", "The enterprise has already rated this service.")
        self.trigger(e.Rated, ctx, score=score, comment=comment)
        if score <= LOW_RATING:
            self.trigger(e.Reopened, ctx, reason=comment or f"rated {score} of 5",
                         due=ctx.at + timedelta(days=self.sla_days))

    def escalate(self, ctx: CommandContext) -> bool:
        if self.status not in OPEN or self.due is None or ctx.at <= self.due or self.escalations:
            return False
        self.trigger(e.Escalated, ctx, due=self.due, level=self.escalations + 1)
        return True

    def close(self, ctx: CommandContext) -> None:
        self._require(c.CloseCase.states, "closed")
        self.trigger(e.Closed, ctx)


Case.owns(e.CaseEvent)
