"""The facts of a service case, from the enterprise's order to closure."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from domain.base import DomainEvent, Value
from domain.codes import Recorded
from domain.money import RecordedYuan

Stage = Literal["raw_materials", "production", "inspection", "finished_products"]
OPEN = frozenset({"accepted", "reopened"})  # being worked on
Status = Literal["submitted", "accepted", "rejected", "withdrawn", "resolved", "reopened",
                 "closed"]
# The enterprise's rating of a service: one rule for the command that asks and the fact stored.
Score = Annotated[int, Field(ge=1, le=5)]


class Finding(Value):
    stage: Stage
    finding: str = Field(min_length=1)


class CaseEvent(DomainEvent):
    pass


class Submitted(CaseEvent):
    public_name = "case.submitted"
    enterprise_id: UUID
    service_type: Recorded.service
    description: str = Field(min_length=1)
    channel: Recorded.channel
    station: Recorded.station | None = None

    def apply(self, case: Any) -> None:
        case.enterprise_id, case.service_type = self.enterprise_id, self.service_type
        case.channel, case.station, case.status = self.channel, self.station, "submitted"
        case.taker = self.station or self.actor.principal
        case.lead = None
        case.collaborators, case.due, case.sla_days, case.escalations = (), None, 0, 0
        case.appointment, case.experts, case.equipment = None, {}, {}
        case.visits, case.plan, case.resolution, case.rating = [], None, None, None


class Accepted(CaseEvent):
    public_name = "case.accepted"
    lead_department: Recorded.department
    collaborators: tuple[Recorded.department, ...]
    sla_days: int
    due: AwareDatetime

    def apply(self, case: Any) -> None:
        case.status, case.lead, case.collaborators = "accepted", self.lead_department, self.collaborators
        case.sla_days, case.due = self.sla_days, self.due


class Rejected(CaseEvent):
    public_name = "case.rejected"
    reason: str = Field(min_length=1)

    def apply(self, case: Any) -> None:
        case.status = "rejected"


class Withdrawn(CaseEvent):
    public_name = "case.withdrawn"
    reason: str

    def apply(self, case: Any) -> None:
        case.status = "withdrawn"


class Transferred(CaseEvent):
    public_name = "case.transferred"
    from_department: Recorded.department
    to_department: Recorded.department
    reason: str = Field(min_length=1)

    def apply(self, case: Any) -> None:
        case.lead = self.to_department


class AppointmentSet(CaseEvent):
    at: AwareDatetime
    place: str = Field(min_length=1)

    def apply(self, case: Any) -> None:
        case.appointment = (self.at, self.place)


class AppointmentScheduled(AppointmentSet):
    public_name = "case.appointment_scheduled"


class AppointmentRescheduled(AppointmentSet):
    public_name = "case.appointment_rescheduled"
    reason: str


class AppointmentCancelled(CaseEvent):
    public_name = "case.appointment_cancelled"
    reason: str

    def apply(self, case: Any) -> None:
        case.appointment = None


class ExpertAssigned(CaseEvent):
    public_name = "case.expert_assigned"
    expert_id: UUID
    booking_id: UUID
    start: AwareDatetime
    end: AwareDatetime

    def apply(self, case: Any) -> None:
        case.experts[self.booking_id] = self.expert_id


class ExpertReleased(CaseEvent):
    public_name = "case.expert_released"
    expert_id: UUID
    booking_id: UUID

    def apply(self, case: Any) -> None:
        del case.experts[self.booking_id]


class EquipmentBooked(CaseEvent):
    public_name = "case.equipment_booked"
    equipment_id: UUID
    booking_id: UUID
    start: AwareDatetime
    end: AwareDatetime

    def apply(self, case: Any) -> None:
        case.equipment[self.booking_id] = self.equipment_id


class EquipmentReleased(CaseEvent):
    public_name = "case.equipment_released"
    equipment_id: UUID
    booking_id: UUID

    def apply(self, case: Any) -> None:
        del case.equipment[self.booking_id]


class VisitRecorded(CaseEvent):
    public_name = "case.visit_recorded"
    visited_at: AwareDatetime
    experts: tuple[UUID, ...] = Field(min_length=1)
    findings: tuple[Finding, ...] = Field(min_length=1)
    recommendations: tuple[str, ...]

    def apply(self, case: Any) -> None:
        case.visits.append(self)


class ImprovementPlanned(CaseEvent):
    public_name = "case.improvement_planned"
    actions: tuple[str, ...] = Field(min_length=1)
    target_date: date

    def apply(self, case: Any) -> None:
        case.plan = self


class Resolved(CaseEvent):
    public_name = "case.resolved"
    outcome: str = Field(min_length=1)
    invested_yuan: RecordedYuan
    saved_per_year_yuan: RecordedYuan
    expected_benefit_yuan: RecordedYuan

    def apply(self, case: Any) -> None:
        case.status, case.resolution, case.rating = "resolved", self, None


class Rated(CaseEvent):
    public_name = "case.rated"
    score: Score
    comment: str = ""

    def apply(self, case: Any) -> None:
        case.rating = self.score


class Reopened(CaseEvent):
    public_name = "case.reopened"
    reason: str
    due: AwareDatetime

    def apply(self, case: Any) -> None:
        case.status, case.escalations, case.due = "reopened", 0, self.due


class Escalated(CaseEvent):
    public_name = "case.escalated"
    due: AwareDatetime
    level: int = Field(ge=1)

    def apply(self, case: Any) -> None:
        case.escalations = self.level


class Closed(CaseEvent):
    public_name = "case.closed"

    def apply(self, case: Any) -> None:
        case.status = "closed"
