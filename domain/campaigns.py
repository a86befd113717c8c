"""The campaign: enrol an industry's enterprises, diagnose each, one report (plan) for each."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from domain import campaign_events as e
from domain.base import Aggregate, CommandContext
from domain.case_events import Finding
from domain.errors import refuse
from domain.lifecycle import require


class Campaign(Aggregate):
    public_name = "campaign"
    title: str
    industry: str
    department: str
    dimensions: tuple[str, ...]
    scale: tuple[int, int]
    status: e.Status
    enrolled: list[UUID]
    diagnoses: dict[UUID, e.EnterpriseDiagnosed]
    opinions: list[e.OpinionCollected]
    reports: dict[UUID, e.ReportIssued]
    cases: list[UUID]
    summary: str | None

    @classmethod
    def launch(cls, ctx: CommandContext, campaign_id: UUID, title: str, industry: str,
               department: str, dimensions: tuple[str, ...], scale_min: int,
               scale_max: int) -> Campaign:
        return cls.start(campaign_id, e.Launched, ctx, title=title, industry=industry,
                         department=department, dimensions=tuple(dimensions),
                         scale_min=scale_min, scale_max=scale_max)

    def enroll(self, ctx: CommandContext, enterprise_id: UUID) -> None:
        require(self, {"open"}, "given more enterprises")
        if enterprise_id in self.enrolled:
            raise refuse("campaign.already_enrolled", "The enterprise is already enrolled "
                         "in this campaign.", enterprise_id=enterprise_id)
        self.trigger(e.EnterpriseEnrolled, ctx, enterprise_id=enterprise_id)

    def _require_enrolled(self, enterprise_id: UUID) -> None:
        if enterprise_id not in self.enrolled:
            raise refuse("campaign.not_enrolled", "The enterprise is not enrolled in this "
                         "campaign.", enterprise_id=enterprise_id)

    def diagnose(self, ctx: CommandContext, enterprise_id: UUID, scores: Mapping[str, int],
                 findings: tuple[Finding, ...], experts: tuple[UUID, ...]) -> None:
        require(self, {"open"}, "given a diagnosis")
        self._require_enrolled(enterprise_id)
        if enterprise_id in self.diagnoses:
            raise refuse("campaign.already_diagnosed", "The enterprise has already been "
                         "diagnosed in this campaign.", enterprise_id=enterprise_id)
        if unknown := sorted(set(scores) - set(self.dimensions)):
            raise refuse("campaign.unknown_dimension", "The campaign does not assess "
                         f"{', '.join(unknown)}.", dimensions=unknown)
        if missing := [d for d in self.dimensions if d not in scores]:
            raise refuse("campaign.missing_dimension", "Score every dimension; missing: "
                         f"{', '.join(missing)}.", dimensions=missing)
        low, high = self.scale
        if outside := {d: s for d, s in scores.items() if not low <= s <= high}:
            raise refuse("campaign.score_out_of_scale", f"Scores are from {low} to {high}.",
                         scores=outside, scale_min=low, scale_max=high)
        self.trigger(e.EnterpriseDiagnosed, ctx, enterprise_id=enterprise_id,
                     scores={d: scores[d] for d in self.dimensions}, findings=findings,
                     experts=experts)

    def collect_opinion(self, ctx: CommandContext, buyer: str, opinion: str,
                        enterprise_id: UUID | None) -> None:
        require(self, {"open"}, "given opinions")
        if enterprise_id is not None:
            self._require_enrolled(enterprise_id)
        self.trigger(e.OpinionCollected, ctx, buyer=buyer, opinion=opinion,
                     enterprise_id=enterprise_id)

    def issue_report(self, ctx: CommandContext, enterprise_id: UUID,
                     improvements: tuple[str, ...], summary: str) -> None:
        require(self, {"open"}, "given reports")
        self._require_enrolled(enterprise_id)
        if enterprise_id not in self.diagnoses:
            raise refuse("campaign.not_diagnosed", "A report follows the diagnosis; diagnose "
                         "the enterprise first.", enterprise_id=enterprise_id)
        if enterprise_id in self.reports:
            raise refuse("campaign.report_exists", "The enterprise already has its report: "
                         "one plan per enterprise.", enterprise_id=enterprise_id)
        self.trigger(e.ReportIssued, ctx, enterprise_id=enterprise_id,
                     improvements=improvements, summary=summary)

    def link_case(self, ctx: CommandContext, case_id: UUID) -> None:
        # Linking is a set: linking a case again changes nothing.
        if case_id not in self.cases:
            self.trigger(e.CaseLinked, ctx, case_id=case_id)

    def close(self, ctx: CommandContext, summary: str) -> None:
        require(self, {"open"}, "closed")
        if pending := [x for x in self.enrolled if x not in self.diagnoses]:
            raise refuse("campaign.open_diagnoses", f"{len(pending)} enrolled enterprise(s) "
                         "not yet diagnosed.", enterprises=[str(x) for x in pending])
        self.trigger(e.Closed, ctx, summary=summary)


Campaign.owns(e.CampaignEvent)
