"""The public contract of commands and replies: what department systems send and get back.

These are integration messages, kept apart from the domain's events and use-case signatures so
either side can change without breaking the other; `bus/operations.py` translates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=2000)
Code = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
Yuan = Field(ge=0, max_digits=16, decimal_places=2)
Note = Field(default="", max_length=2000)
Units = Field(gt=0, le=10**12)
Line = Annotated[str, Field(min_length=1, max_length=2000)]
Dimension = Annotated[str, Code]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Command(Message):
    """Every command carries its own id: sending it again returns the first outcome."""

    command_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$",
                            description="Chosen by the sender, unique per principal; a retry "
                                        "repeats it.")
    person: str = Field(min_length=1, max_length=100, description="Who acts, for the record.")
    correlation_id: str | None = Field(default=None, max_length=64)
    causation_id: str | None = Field(default=None, max_length=64)


# Enterprises, experts, instruments.

class RegisterEnterprise(Command):
    credit_code: str = Field(min_length=18, max_length=18)
    name: str = Text
    scale: Literal["above_scale", "small_micro"]
    industry: str = Code
    town: str = Code


class ChangeEnterpriseProfile(Command):
    enterprise_id: UUID
    name: str | None = Field(default=None, min_length=1, max_length=2000)
    scale: Literal["above_scale", "small_micro"] | None = None
    industry: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    town: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")


class RegisterExpert(Command):
    name: str = Text
    affiliation: str = Text
    specialties: list[str] = Field(min_length=1, max_length=20)


class DeactivateExpert(Command):
    expert_id: UUID
    reason: str = Text


class ReactivateExpert(Command):
    expert_id: UUID


class RegisterEquipment(Command):
    name: str = Text
    owner_institution: str = Text
    capabilities: list[str] = Field(min_length=1, max_length=20)
    calibration_valid_until: AwareDatetime


class RecalibrateEquipment(Command):
    equipment_id: UUID
    valid_until: AwareDatetime


class TakeEquipmentOutOfService(Command):
    equipment_id: UUID
    reason: str = Text


class ReturnEquipmentToService(Command):
    equipment_id: UUID


# Service cases.

class SubmitCase(Command):
    enterprise_id: UUID
    service_type: str = Code
    description: str = Text
    channel: str = Code
    station: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")


class CaseCommand(Command):
    case_id: UUID


class AcceptCase(CaseCommand):
    lead: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    collaborators: list[str] = Field(default_factory=list, max_length=15)


class RejectCase(CaseCommand):
    reason: str = Text


class WithdrawCase(CaseCommand):
    reason: str = Field(default="", max_length=2000)


class TransferCase(CaseCommand):
    to: str = Code
    reason: str = Text


class ScheduleAppointment(CaseCommand):
    at: AwareDatetime
    place: str = Text


class RescheduleAppointment(ScheduleAppointment):
    reason: str = Text


class CancelAppointment(CaseCommand):
    reason: str = Text


class AssignExpert(CaseCommand):
    expert_id: UUID
    start: AwareDatetime
    end: AwareDatetime


class BookEquipment(CaseCommand):
    equipment_id: UUID
    start: AwareDatetime
    end: AwareDatetime


class ReleaseBooking(CaseCommand):
    booking_id: UUID


class VisitFinding(Message):
    stage: Literal["raw_materials", "production", "inspection", "finished_products"]
    finding: str = Text


class RecordVisit(CaseCommand):
    visited_at: AwareDatetime
    experts: list[UUID] = Field(min_length=1, max_length=20)
    findings: list[VisitFinding] = Field(min_length=1, max_length=50)
    recommendations: list[str] = Field(default_factory=list, max_length=50)


class PlanImprovement(CaseCommand):
    actions: list[str] = Field(min_length=1, max_length=50)
    target_date: date


class ResolveCase(CaseCommand):
    outcome: str = Text
    invested_yuan: Decimal = Yuan
    saved_per_year_yuan: Decimal = Yuan
    expected_benefit_yuan: Decimal = Yuan


class RateCase(CaseCommand):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class CloseCase(CaseCommand):
    pass


# Programmes: campaigns, disputes, recalls, improvement projects.

class LaunchCampaign(Command):
    title: str = Text
    industry: str = Code
    department: str = Code
    dimensions: list[Dimension] = Field(min_length=1, max_length=20)
    scale_min: int = Field(default=0, ge=0, le=1000)
    scale_max: int = Field(default=100, ge=0, le=1000)


class CampaignCommand(Command):
    campaign_id: UUID


class EnrollEnterprise(CampaignCommand):
    enterprise_id: UUID


class DiagnoseEnterprise(CampaignCommand):
    enterprise_id: UUID
    scores: dict[Dimension, int] = Field(min_length=1, max_length=20,
                                         description="A score within the campaign's scale for "
                                                     "each of its dimensions.")
    findings: list[VisitFinding] = Field(default_factory=list, max_length=50)
    experts: list[UUID] = Field(default_factory=list, max_length=20)


class CollectOpinion(CampaignCommand):
    buyer: str = Text
    opinion: str = Text
    enterprise_id: UUID | None = None


class IssueReport(CampaignCommand):
    enterprise_id: UUID
    improvements: list[Line] = Field(min_length=1, max_length=50)
    summary: str = Note


class LinkCase(CampaignCommand):
    case_id: UUID


class CloseCampaign(CampaignCommand):
    summary: str = Text


class FileDispute(Command):
    buyer: str = Text
    buyer_id: UUID | None = Field(default=None, description="When the buyer is a registered "
                                                            "enterprise.")
    producer_id: UUID
    product: str = Text
    description: str = Text
    campaign_id: UUID | None = None


class DisputeCommand(Command):
    dispute_id: UUID


class ScheduleMediation(DisputeCommand):
    at: AwareDatetime
    place: str = Text
    mediator_department: str = Code


class MediateDispute(DisputeCommand):
    agreement: bool
    terms: str = Text
    compensation_yuan: Decimal = Field(default=Decimal("0.00"), ge=0, max_digits=16,
                                       decimal_places=2,
                                       description="Agreed only: zero without an agreement.")


class CloseDispute(DisputeCommand):
    note: str = Note


class OrderRecall(Command):
    enterprise_id: UUID
    product: str = Text
    reason: str = Text
    quantity: int = Units
    department: str = Code
    campaign_id: UUID | None = None


class RecallCommand(Command):
    recall_id: UUID


class AmendRecall(RecallCommand):
    quantity: int = Field(gt=0, le=10**12, description="The new, higher number of units ordered.")
    reason: str = Text


class RecordUnits(RecallCommand):
    units: int = Units


class RecordLossRecovered(RecallCommand):
    amount_yuan: Decimal = Yuan
    source: str = Text


class CompleteRecall(RecallCommand):
    note: str = Note


class OpenImprovement(Command):
    enterprise_id: UUID
    title: str = Text
    department: str = Code
    supplier_id: UUID | None = Field(default=None, description="Supply-chain work: the "
                                                               "supplier, with its problem.")
    problem: str | None = Field(default=None, min_length=1, max_length=2000)


class ImprovementCommand(Command):
    improvement_id: UUID


class RecordInvestment(ImprovementCommand):
    amount_yuan: Decimal = Yuan
    note: str = Note


class ExpectBenefit(ImprovementCommand):
    amount_yuan: Decimal = Yuan


class RealiseBenefit(ImprovementCommand):
    amount_yuan: Decimal = Yuan
    note: str = Note


class CompleteImprovement(ImprovementCommand):
    outcome: str = Text


# Replies.

class Done(Message):
    ok: Literal[True] = True
    command_id: str
    id: UUID = Field(description="The aggregate the command created or changed.")
    booking_id: UUID | None = None
    position: int | None = Field(description="Log position to wait for before reading views.")
    replayed: bool = Field(False, description="True when this is the first outcome, sent again.")


class ErrorBody(Message):
    code: str = Field(description="Stable, for programs: e.g. case.invalid_transition.")
    message: str = Field(description="Plain words for the person at the other end.")
    fields: dict[str, Any] = Field(default_factory=dict)


class Refused(Message):
    ok: Literal[False] = False
    command_id: str | None = None
    error: ErrorBody
