"""The facts of an industry-wide touring diagnosis campaign (巡回问诊)."""

from __future__ import annotations

from typing import Any, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from domain.base import DomainEvent
from domain.case_events import Finding
from domain.codes import Recorded

Status = Literal["open", "closed"]


class CampaignEvent(DomainEvent):
    pass


class Launched(CampaignEvent):
    public_name = "campaign.launched"
    title: str = Field(min_length=1)
    industry: Recorded.industry
    department: Recorded.department
    dimensions: tuple[str, ...] = Field(min_length=1)
    scale_min: int
    scale_max: int

    @model_validator(mode="after")
    def _a_scale_and_distinct_dimensions(self) -> Self:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be above scale_min")
        if len(set(self.dimensions)) != len(self.dimensions) or not all(self.dimensions):
            raise ValueError("dimensions must be distinct and named")
        return self

    def apply(self, campaign: Any) -> None:
        campaign.title, campaign.industry = self.title, self.industry
        campaign.department, campaign.dimensions = self.department, self.dimensions
        campaign.scale = (self.scale_min, self.scale_max)
        campaign.status, campaign.enrolled, campaign.diagnoses = "open", [], {}
        campaign.opinions, campaign.reports, campaign.cases = [], {}, []
        campaign.summary = None


class EnterpriseEnrolled(CampaignEvent):
    public_name = "campaign.enterprise_enrolled"
    enterprise_id: UUID

    def apply(self, campaign: Any) -> None:
        campaign.enrolled.append(self.enterprise_id)


class EnterpriseDiagnosed(CampaignEvent):
    public_name = "campaign.enterprise_diagnosed"
    enterprise_id: UUID
    scores: dict[str, int]
    findings: tuple[Finding, ...]
    experts: tuple[UUID, ...] = ()

    def apply(self, campaign: Any) -> None:
        campaign.diagnoses[self.enterprise_id] = self


class OpinionCollected(CampaignEvent):
    public_name = "campaign.opinion_collected"
    buyer: str = Field(min_length=1)
    opinion: str = Field(min_length=1)
    enterprise_id: UUID | None = None

    def apply(self, campaign: Any) -> None:
        campaign.opinions.append(self)


class ReportIssued(CampaignEvent):
    public_name = "campaign.report_issued"
    enterprise_id: UUID
    improvements: tuple[str, ...] = Field(min_length=1)
    summary: str = ""

    def apply(self, campaign: Any) -> None:
        campaign.reports[self.enterprise_id] = self


class CaseLinked(CampaignEvent):
    public_name = "campaign.case_linked"
    case_id: UUID

    def apply(self, campaign: Any) -> None:
        campaign.cases.append(self.case_id)


class Closed(CampaignEvent):
    public_name = "campaign.closed"
    summary: str = Field(min_length=1)

    def apply(self, campaign: Any) -> None:
        campaign.status, campaign.summary = "closed", self.summary
