"""Every command of the district's one-stop service, declared once.

A command is what a principal asks the service to do: its public name (`public_name`: the
subject it is sent on, the intake's and the contract's name for it), a line saying what it
does (`purpose`), the aggregate it acts on (`target`: the field holding its id) and its
fields with their rules. The use case that handles it is marked `@handles(TheCommand)`
(domain/catalogue.py); who may send it is in the district's rules of authority
(domain/authority.toml). The bus adds only the envelope every command travels in (its id, the
person acting, correlation): bus/contract/messages.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from domain.base import Value
from domain.bounds import Day, Moment
from domain.case_events import OPEN, Finding, Score
from domain.codes import Channel, Department, Industry, ServiceType, Station, Town
from domain.credit_code import CreditCode
from domain.money import Yuan

Text = Field(min_length=1, max_length=2000)
Note = Field(default="", max_length=2000)
Units = Field(gt=0, le=10**12)
Line = Annotated[str, Field(min_length=1, max_length=2000)]
Dimension = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Scale = Literal["above_scale", "small_micro"]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, BaseModel):
        for _, item in value:
            yield from _texts(item)


class Command(Value):
    """What a principal asks for. Subclasses name themselves (`public_name`, `purpose`) and say
    which of their fields holds the id of the aggregate they act on (`target`)."""

    public_name: ClassVar[str] = ""
    purpose: ClassVar[str] = ""
    target: ClassVar[str | None] = None
    # The states of its record in which it can be done (none said: any); the aggregate
    # enforces them from here, and the published contract says them.
    states: ClassVar[frozenset[str]] = frozenset()
    # The codes its own rules refuse it with; those that follow from the above, from the
    # reference codes it takes and from the rules of authority are added by
    # domain/refusals.py. The published contract lists them all for the command.
    refusals: ClassVar[frozenset[str]] = frozenset()

    def target_id(self) -> UUID | None:
        return None if self.target is None else getattr(self, self.target)

    @model_validator(mode="after")
    def _printable(self) -> Command:
        """No control character in any text (tabs and line breaks aside): a NUL is valid
        JSON but no PostgreSQL view can store it, and the log would hold it for good."""
        for name, value in self:
            for text in _texts(value):
                if _CONTROL.search(text):
                    raise ValueError(f"{name}: control characters are not allowed")
        return self


# Enterprises, experts, instruments.

class RegisterEnterprise(Command):
    public_name = "enterprise.register"
    purpose = "Register an enterprise by credit code."
    refusals = frozenset({"enterprise.invalid_credit_code", "enterprise.already_registered"})
    credit_code: CreditCode
    name: str = Text
    scale: Scale
    industry: Industry
    town: Town


class ChangeEnterpriseProfile(Command):
    public_name = "enterprise.change_profile"
    purpose = "Change an enterprise profile."
    target = "enterprise_id"
    enterprise_id: UUID
    name: str | None = Field(default=None, min_length=1, max_length=2000)
    scale: Scale | None = None
    industry: Industry | None = None
    town: Town | None = None


class RegisterExpert(Command):
    public_name = "expert.register"
    purpose = "Add an expert to the expert library."
    name: str = Text
    affiliation: str = Text
    specialties: tuple[str, ...] = Field(min_length=1, max_length=20)


class ExpertCommand(Command):
    target = "expert_id"
    expert_id: UUID


class DeactivateExpert(ExpertCommand):
    public_name = "expert.deactivate"
    purpose = "Stop assigning an expert."
    reason: str = Text


class ReactivateExpert(ExpertCommand):
    public_name = "expert.reactivate"
    purpose = "Assign an expert again."


class RegisterEquipment(Command):
    public_name = "equipment.register"
    purpose = "Add an instrument to the library."
    refusals = frozenset({"equipment.out_of_range"})
    name: str = Text
    owner_institution: str = Text
    capabilities: tuple[str, ...] = Field(min_length=1, max_length=20)
    calibration_valid_until: Moment


class EquipmentCommand(Command):
    target = "equipment_id"
    equipment_id: UUID


class RecalibrateEquipment(EquipmentCommand):
    public_name = "equipment.recalibrate"
    purpose = "Record a new calibration."
    refusals = frozenset({"equipment.out_of_range"})
    valid_until: Moment


class TakeEquipmentOutOfService(EquipmentCommand):
    public_name = "equipment.take_out_of_service"
    purpose = "Withdraw an instrument."
    reason: str = Text


class ReturnEquipmentToService(EquipmentCommand):
    public_name = "equipment.return_to_service"
    purpose = "Return an instrument."


# Service cases.

class SubmitCase(Command):
    public_name = "case.submit"
    purpose = "An enterprise orders a quality service."
    refusals = frozenset({"enterprise.not_found"})
    enterprise_id: UUID
    service_type: ServiceType
    description: str = Text
    channel: Channel
    station: Station | None = None


SUBMITTED, RESOLVED = frozenset({"submitted"}), frozenset({"resolved"})
# A booking outlives the work: it may be released after the case is resolved or closed.
BOOKINGS_KEPT = OPEN | RESOLVED | {"closed"}


class CaseCommand(Command):
    target = "case_id"
    case_id: UUID


class AcceptCase(CaseCommand):
    public_name = "case.accept"
    purpose = "Accept a case and route it to a lead department."
    states = SUBMITTED
    lead: Department | None = Field(default=None, description="Default: the department that "
                                                               "leads the service type.")
    collaborators: tuple[Department, ...] = Field(default=(), max_length=15)


class RejectCase(CaseCommand):
    public_name = "case.reject"
    purpose = "Reject a case with a reason."
    states = SUBMITTED
    reason: str = Text


class WithdrawCase(CaseCommand):
    public_name = "case.withdraw"
    purpose = "The enterprise withdraws its order."
    states = SUBMITTED | OPEN
    reason: str = Note


class TransferCase(CaseCommand):
    public_name = "case.transfer"
    purpose = "Transfer a case to another department."
    states = OPEN
    refusals = frozenset({"case.same_department"})
    to: Department
    reason: str = Text


class ScheduleAppointment(CaseCommand):
    public_name = "case.schedule_appointment"
    purpose = "Agree a time and place."
    states = OPEN
    refusals = frozenset({"case.out_of_range", "case.appointment_exists"})
    at: Moment
    place: str = Text


class RescheduleAppointment(CaseCommand):
    public_name = "case.reschedule_appointment"
    purpose = "Move the appointment."
    states = OPEN
    refusals = frozenset({"case.out_of_range", "case.no_appointment"})
    at: Moment
    place: str = Text
    reason: str = Text


class CancelAppointment(CaseCommand):
    public_name = "case.cancel_appointment"
    purpose = "Cancel the appointment."
    states = OPEN
    refusals = frozenset({"case.no_appointment"})
    reason: str = Text


class AssignExpert(CaseCommand):
    public_name = "case.assign_expert"
    purpose = "Book an expert for the case."
    states = OPEN
    refusals = frozenset({"booking.out_of_range", "booking.invalid_period", "expert.not_found",
                          "expert.inactive", "expert.double_booked"})
    expert_id: UUID
    start: Moment
    end: Moment


class ReleaseExpert(CaseCommand):
    public_name = "case.release_expert"
    purpose = "Release an expert booking."
    states = BOOKINGS_KEPT
    refusals = frozenset({"booking.not_found"})
    booking_id: UUID


class BookEquipment(CaseCommand):
    public_name = "case.book_equipment"
    purpose = "Book a shared instrument for the case."
    states = OPEN
    refusals = frozenset({"booking.out_of_range", "booking.invalid_period",
                          "equipment.not_found", "equipment.out_of_service",
                          "equipment.calibration_lapsed", "equipment.double_booked"})
    equipment_id: UUID
    start: Moment
    end: Moment


class ReleaseEquipment(CaseCommand):
    public_name = "case.release_equipment"
    purpose = "Release an instrument booking."
    states = BOOKINGS_KEPT
    refusals = frozenset({"booking.not_found"})
    booking_id: UUID


class VisitFinding(Finding):
    """A finding as reported: one stage of production and what was found there."""

    finding: str = Text


class RecordVisit(CaseCommand):
    public_name = "case.record_visit"
    purpose = "Record an on-site diagnosis visit."
    states = OPEN
    refusals = frozenset({"case.out_of_range", "case.expert_not_assigned"})
    visited_at: Moment
    experts: tuple[UUID, ...] = Field(min_length=1, max_length=20)
    findings: tuple[VisitFinding, ...] = Field(min_length=1, max_length=50)
    recommendations: tuple[str, ...] = Field(default=(), max_length=50)


class PlanImprovement(CaseCommand):
    public_name = "case.plan_improvement"
    purpose = "Agree an improvement plan."
    states = OPEN
    refusals = frozenset({"case.out_of_range", "case.no_visit"})
    actions: tuple[str, ...] = Field(min_length=1, max_length=50)
    target_date: Day


class ResolveCase(CaseCommand):
    public_name = "case.resolve"
    purpose = "Resolve the case with its money figures."
    states = OPEN
    outcome: str = Text
    invested_yuan: Yuan
    saved_per_year_yuan: Yuan
    expected_benefit_yuan: Yuan


class RateCase(CaseCommand):
    public_name = "case.rate"
    purpose = "The enterprise rates the service (1-5)."
    states = RESOLVED
    refusals = frozenset({"case.already_rated"})
    score: Score
    comment: str = Note


class CloseCase(CaseCommand):
    public_name = "case.close"
    purpose = "Close the case."
    states = RESOLVED


# Programmes: campaigns, disputes, recalls, improvement projects.

class LaunchCampaign(Command):
    public_name = "campaign.launch"
    purpose = "Launch a touring diagnosis of an industry."
    refusals = frozenset({"campaign.invalid_input"})  # dimensions not distinct, no scale
    title: str = Text
    industry: Industry
    department: Department
    dimensions: tuple[Dimension, ...] = Field(min_length=1, max_length=20)
    scale_min: int = Field(default=0, ge=0, le=1000)
    scale_max: int = Field(default=100, ge=0, le=1000)


# 好差评: the rating of a stage of a case, and what a bad one sets going (domain/evaluations.py).

EvaluatedStage = Literal["accepted", "served", "resolved"]
Level = Literal["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied",
                "very_dissatisfied"]

class EvaluateCase(CaseCommand):
    public_name = "case.evaluate"
    purpose = ("The enterprise rates a stage of its case (好差评), on five levels; a bad "
               "rating must be followed up by the department at fault.")
    refusals = frozenset({"case.stage_not_reached", "case.already_evaluated"})
    stage: EvaluatedStage = Field(description="accepted, served or resolved: the stage rated.")
    level: Level = Field(description="非常满意 very_satisfied, 满意 satisfied, 基本满意 "
                                     "basically_satisfied, 不满意 dissatisfied, 非常不满意 "
                                     "very_dissatisfied.")
    comment: str = Note


class EvaluationCommand(Command):
    target = "evaluation_id"
    evaluation_id: UUID


class FollowUpEvaluation(EvaluationCommand):
    public_name = "evaluation.follow_up"
    purpose = "The department at fault has followed up a bad rating with the enterprise (回访核实)."
    states = frozenset({"follow_up_due"})
    contact: str = Field(min_length=1, max_length=200, description="With whom, and how.")
    finding: str = Text


class ReportRectification(EvaluationCommand):
    public_name = "evaluation.report_rectification"
    purpose = ("What the department at fault did about a bad rating, as it told the "
               "enterprise (整改反馈); on time if within the working days it had.")
    states = frozenset({"verified"})
    rectification: str = Text
    told: str = Field(min_length=1, max_length=200,
                      description="How the enterprise was told, and when.")


class AppealEvaluation(EvaluationCommand):
    public_name = "evaluation.appeal"
    purpose = "The department at fault appeals a bad rating it found unfounded (申诉)."
    states = frozenset({"verified"})
    reason: str = Text


class ReviewAppeal(EvaluationCommand):
    public_name = "evaluation.review"
    purpose = ("The lead bureau reviews an appeal (复核): upheld, the rating stands and must be "
               "rectified; overturned, it no longer counts.")
    states = frozenset({"appealed"})
    upheld: bool
    note: str = Note


class CampaignCommand(Command):
    target = "campaign_id"
    campaign_id: UUID


class EnrollEnterprise(CampaignCommand):
    public_name = "campaign.enroll"
    purpose = "Enrol a registered enterprise."
    refusals = frozenset({"enterprise.not_found", "campaign.invalid_transition",
                          "campaign.already_enrolled"})
    enterprise_id: UUID


class DiagnoseEnterprise(CampaignCommand):
    public_name = "campaign.diagnose"
    purpose = "Score an enrolled enterprise, once."
    refusals = frozenset({"expert.not_found", "campaign.invalid_transition",
                          "campaign.not_enrolled", "campaign.already_diagnosed",
                          "campaign.unknown_dimension", "campaign.missing_dimension",
                          "campaign.score_out_of_scale"})
    enterprise_id: UUID
    scores: dict[Dimension, int] = Field(min_length=1, max_length=20,
                                         description="A score within the campaign's scale for "
                                                     "each of its dimensions.")
    findings: tuple[VisitFinding, ...] = Field(default=(), max_length=50)
    experts: tuple[UUID, ...] = Field(default=(), max_length=20)


class CollectOpinion(CampaignCommand):
    public_name = "campaign.collect_opinion"
    purpose = "Record a buyer's opinion."
    refusals = frozenset({"campaign.invalid_transition", "campaign.not_enrolled"})
    buyer: str = Text
    opinion: str = Text
    enterprise_id: UUID | None = None


class IssueReport(CampaignCommand):
    public_name = "campaign.issue_report"
    purpose = "Issue a diagnosed enterprise its report."
    refusals = frozenset({"campaign.invalid_transition", "campaign.not_enrolled",
                          "campaign.not_diagnosed", "campaign.report_exists"})
    enterprise_id: UUID
    improvements: tuple[Line, ...] = Field(min_length=1, max_length=50)
    summary: str = Note


class LinkCase(CampaignCommand):
    public_name = "campaign.link_case"
    purpose = "Link a case raised during the campaign."
    refusals = frozenset({"case.not_found"})
    case_id: UUID


class CloseCampaign(CampaignCommand):
    public_name = "campaign.close"
    purpose = "Close the campaign with its summary."
    refusals = frozenset({"campaign.invalid_transition", "campaign.open_diagnoses"})
    summary: str = Text


class FileDispute(Command):
    public_name = "dispute.file"
    purpose = "File a buyer's quality dispute with a producer."
    refusals = frozenset({"enterprise.not_found", "campaign.not_found"})
    buyer: str = Text
    buyer_id: UUID | None = Field(default=None, description="When the buyer is a registered "
                                                            "enterprise.")
    producer_id: UUID
    product: str = Text
    description: str = Text
    campaign_id: UUID | None = None


class DisputeCommand(Command):
    target = "dispute_id"
    dispute_id: UUID


class ScheduleMediation(DisputeCommand):
    public_name = "dispute.schedule_mediation"
    purpose = "Schedule or move the mediation."
    refusals = frozenset({"dispute.invalid_transition", "dispute.out_of_range"})
    at: Moment
    place: str = Text
    mediator_department: Department


class MediateDispute(DisputeCommand):
    public_name = "dispute.mediate"
    purpose = "Record the mediation: settled or not."
    # invalid_input: compensation without an agreement
    refusals = frozenset({"dispute.invalid_transition", "dispute.invalid_input"})
    agreement: bool
    terms: str = Text
    compensation_yuan: Yuan = Field(default=Decimal("0.00"),
                                    description="Agreed only: zero without an agreement.")


class CloseDispute(DisputeCommand):
    public_name = "dispute.close"
    purpose = "Close a mediated dispute."
    refusals = frozenset({"dispute.invalid_transition"})
    note: str = Note


class OrderRecall(Command):
    public_name = "recall.order"
    purpose = "Order a recall of a non-conforming product."
    refusals = frozenset({"enterprise.not_found", "campaign.not_found"})
    enterprise_id: UUID
    product: str = Text
    reason: str = Text
    quantity: int = Units
    department: Department
    campaign_id: UUID | None = None


class RecallCommand(Command):
    target = "recall_id"
    recall_id: UUID


class AmendRecall(RecallCommand):
    public_name = "recall.amend"
    purpose = "Raise the number of units ordered for recall."
    refusals = frozenset({"recall.invalid_transition", "recall.quantity_not_raised"})
    quantity: int = Field(gt=0, le=10**12, description="The new, higher number of units ordered.")
    reason: str = Text


class RecordUnitsRecalled(RecallCommand):
    public_name = "recall.record_recalled"
    purpose = "Count units recalled."
    refusals = frozenset({"recall.invalid_transition", "recall.over_recall"})
    units: int = Units


class RecordUnitsDestroyed(RecallCommand):
    public_name = "recall.record_destroyed"
    purpose = "Count recalled units destroyed."
    refusals = frozenset({"recall.invalid_transition", "recall.over_destruction"})
    units: int = Units


class RecordLossRecovered(RecallCommand):
    public_name = "recall.record_loss_recovered"
    purpose = "Record a loss recovered."
    refusals = frozenset({"recall.invalid_transition"})
    amount_yuan: Yuan
    source: str = Text


class CompleteRecall(RecallCommand):
    public_name = "recall.complete"
    purpose = "Complete the recall."
    refusals = frozenset({"recall.invalid_transition"})
    note: str = Note


class OpenImprovement(Command):
    public_name = "improvement.open"
    purpose = "Open an improvement project."
    # invalid_input: a supplier without its problem, or the enterprise its own supplier
    refusals = frozenset({"enterprise.not_found", "improvement.invalid_input"})
    enterprise_id: UUID
    title: str = Text
    department: Department
    supplier_id: UUID | None = Field(default=None, description="Supply-chain work: the "
                                                               "supplier, with its problem.")
    problem: str | None = Field(default=None, min_length=1, max_length=2000)


class ImprovementCommand(Command):
    target = "improvement_id"
    improvement_id: UUID


class RecordInvestment(ImprovementCommand):
    public_name = "improvement.record_investment"
    purpose = "Record money invested."
    refusals = frozenset({"improvement.invalid_transition"})
    amount_yuan: Yuan
    note: str = Note


class ExpectBenefit(ImprovementCommand):
    public_name = "improvement.expect_benefit"
    purpose = "Set the expected benefit."
    refusals = frozenset({"improvement.invalid_transition"})
    amount_yuan: Yuan


class RealiseBenefit(ImprovementCommand):
    public_name = "improvement.realise_benefit"
    purpose = "Record a benefit realised."
    amount_yuan: Yuan
    note: str = Note


class CompleteImprovement(ImprovementCommand):
    public_name = "improvement.complete"
    purpose = "Complete the project with its outcome."
    refusals = frozenset({"improvement.invalid_transition"})
    outcome: str = Text
