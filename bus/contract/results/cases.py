"""Cases as the cases and worklists views keep them: `case.get`, `case.list`, `case.as_of`,
`worklist.list`, `audit.case_visibility`."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from bus.contract.results.common import Day, Page, Result, Time, Utc
from domain.base import Actor
from domain.case_events import Stage, Status
from domain.money import RecordedYuan


class Appointment(Result):
    at: Time
    at_utc: Utc
    place: str


class BookedExpert(Result):
    expert_id: UUID
    start: Time
    end: Time


class BookedInstrument(Result):
    equipment_id: UUID
    start: Time
    end: Time


class VisitFound(Result):
    stage: Stage
    finding: str


class Visit(Result):
    visited_at: Time
    experts: list[UUID]
    findings: list[VisitFound]
    recommendations: list[str]


class Plan(Result):
    actions: list[str]
    target_date: Day


class Resolution(Result):
    outcome: str
    resolved_at: Time
    invested_yuan: RecordedYuan
    saved_per_year_yuan: RecordedYuan
    expected_benefit_yuan: RecordedYuan


class Rating(Result):
    score: int = Field(ge=1, le=5)
    comment: str


class CaseState(Result):
    """A case as the cases view keeps it."""

    case_id: UUID
    enterprise_id: UUID
    service_type: str
    description: str
    channel: str
    station: str | None
    submitted_by: str = Field(description="The principal that submitted it.")
    submitted_at: Time
    submitted_utc: Utc
    status: Status
    lead: str | None
    collaborators: list[str]
    departments: list[str] = Field(description="The lead and the collaborators.")
    sla_days: int | None
    due: Time | None
    due_utc: Utc | None
    escalation_level: int = Field(ge=0)
    appointment: Appointment | None
    experts: dict[str, BookedExpert] = Field(description="By booking id.")
    equipment: dict[str, BookedInstrument] = Field(description="By booking id.")
    visits: list[Visit]
    plan: Plan | None
    resolution: Resolution | None
    rating: Rating | None
    closed_at: Time | None
    ended_reason: str = Field(None, description="Why it was rejected or withdrawn (then only).")
    version: int = Field(ge=1, description="How many events the case has had.")
    position: int = Field(ge=1, description="The log position of its last event.")
    updated_at: Time


class Step(Result):
    """One event of a case, as its timeline shows it."""

    case_id: UUID
    version: int = Field(ge=1)
    position: int = Field(ge=1)
    topic: str = Field(description="The event's public name, e.g. case.accepted.")
    at: Time = Field(description="When it happened, as its sender said.")
    recorded_at: Time | None = Field(None, description=(
        "When the service recorded it (the same as `at` unless it was sent later, as a "
        "town post's paper form is; none for a step recorded before the two were told apart)."))
    by: Actor
    command_id: str = Field(description="`<principal>/<command id>`.")
    details: dict[str, Any] = Field(description="The event's own fields (its message in "
                                                "this document).")


class CaseWithTimeline(Result):
    case: CaseState
    timeline: list[Step]


class CasePage(Page):
    items: list[CaseState]


class Visibility(Result):
    principal: str
    case_id: UUID
    at: Utc
    visible: bool
    reason: str = Field(None, description="Why not, when not visible.")
    case: CaseState = Field(None, description="When visible: as it stood then, as the "
                                              "principal was allowed to see it.")
    timeline: list[Step] = Field(None, description="When visible.")


class WorklistEntry(Result):
    case_id: UUID
    enterprise_id: UUID
    service_type: str
    channel: str
    station: str | None
    status: Status
    lead: str | None
    due: Time | None
    due_utc: Utc | None
    submitted_at: Time
    submitted_utc: Utc
    escalation_level: int = Field(ge=0)
    appointment_at: Time | None
    appointment_utc: Utc | None
    updated_at: Time
    department: str
    role: Literal["lead", "collaborator", "triage"] = Field(
        description="triage: a submitted case waiting on the lead bureau's desk.")


class WorklistPage(Page):
    items: list[WorklistEntry]
