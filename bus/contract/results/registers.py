"""The enterprise register, the expert library and the instrument library, as their views
keep them: `enterprise.*`, `expert.*`, `equipment.*`."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from bus.contract.results.cases import Rating
from bus.contract.results.common import Page, Result, Time, Utc
from domain.base import Actor
from domain.case_events import Status
from domain.money import RecordedYuan


class ProfileChange(Result):
    at: Time
    by: Actor
    changed: dict[str, str] = Field(description="The profile fields changed, new values.")


class EnterpriseEntry(Result):
    enterprise_id: UUID
    credit_code: str
    name: str
    scale: Literal["above_scale", "small_micro"]
    industry: str = Field(description="An industry code; `unspecified` for an enterprise "
                                      "registered before industries were recorded.")
    town: str
    registered_at: Time
    registered_by: Actor
    changes: list[ProfileChange]
    cases: int = Field(ge=0, description="How many cases it has ordered.")
    updated_at: Time


class CaseResolution(Result):
    outcome: str
    at: Time
    invested_yuan: RecordedYuan
    saved_per_year_yuan: RecordedYuan
    expected_benefit_yuan: RecordedYuan


class EnterpriseCase(Result):
    case_id: UUID
    enterprise_id: UUID
    service_type: str
    channel: str
    station: str | None
    submitted_by: str
    submitted_at: Time
    submitted_utc: Utc
    status: Status
    lead: str | None
    collaborators: list[str]
    departments: list[str]
    resolutions: list[CaseResolution] = Field(description="Each time it was resolved.")
    rating: Rating | None
    closed_at: Time | None
    updated_at: Time


class EnterpriseCasePage(Page):
    items: list[EnterpriseCase]


class EnterpriseWithCases(Result):
    enterprise: EnterpriseEntry
    cases: EnterpriseCasePage = Field(description="Newest first; only those the asker may see.")


class Resource(Result):
    name: str
    registered_at: Time
    registered_by: Actor
    bookings: int = Field(ge=0, description="Bookings standing (not released).")
    booked_hours: float = Field(ge=0)
    updated_at: Time


class ExpertEntry(Resource):
    expert_id: UUID
    affiliation: str
    specialties: list[str]
    active: Literal[0, 1]
    inactive_reason: str | None
    visits: int = Field(ge=0)


class EquipmentEntry(Resource):
    equipment_id: UUID
    owner_institution: str
    capabilities: list[str]
    calibration_valid_until: Time
    calibration_valid_until_utc: Utc
    in_service: Literal[0, 1]
    out_of_service_reason: str | None


class BookingRow(Result):
    booking_id: UUID
    case_id: UUID | None = Field(description="Null when `private`.")
    start: Time
    end: Time
    start_utc: Utc
    end_utc: Utc
    hours: float = Field(ge=0)
    status: Literal["booked", "released"]
    booked_at: Time
    booked_by: Actor | None = Field(description="Null when `private`.")
    released_at: Time | None
    released_by: Actor | None
    private: Literal[True] = Field(None, description="Another department's booking: when "
                                                     "the resource is taken, not for whom.")


class ExpertBooking(BookingRow):
    expert_id: UUID


class EquipmentBooking(BookingRow):
    equipment_id: UUID


class ExpertBookingPage(Page):
    items: list[ExpertBooking]


class EquipmentBookingPage(Page):
    items: list[EquipmentBooking]


class ExpertWithBookings(Result):
    expert: ExpertEntry
    bookings: ExpertBookingPage


class EquipmentWithBookings(Result):
    equipment: EquipmentEntry
    bookings: EquipmentBookingPage


class Load(Result):
    name: str
    bookings: int = Field(ge=0)
    booked_hours: float = Field(ge=0, description="Inside the period.")
    utilisation: float = Field(ge=0, description="Booked hours over the period's hours.")


class ExpertLoad(Load):
    expert_id: UUID
    visits: int = Field(ge=0)
    active: bool


class EquipmentLoad(Load):
    equipment_id: UUID
    in_service: bool


class Workload(Result):
    since: Utc
    until: Utc
    period_hours: float
    items: list[ExpertLoad] = Field(description="Busiest first.")


class Utilisation(Result):
    since: Utc
    until: Utc
    period_hours: float
    items: list[EquipmentLoad] = Field(description="Busiest first.")
