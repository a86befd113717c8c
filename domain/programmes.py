"""Use cases of the programmes and their results: campaigns, disputes, recalls and
improvement projects. Each loads, decides, and saves in one write."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from uuid import UUID

from pydantic import AwareDatetime

from domain.base import CommandContext
from domain.campaigns import Campaign
from domain.case_events import Finding
from domain.cases import Case
from domain.disputes import Dispute
from domain.enterprises import Enterprise
from domain.errors import refuse
from domain.improvements import Improvement
from domain.recalls import Recall
from domain.resources import Expert
from domain.service import Outcome, Service

NO_MONEY = Decimal("0.00")


class ProgrammeUseCases(Service):
    def _department(self, kind: str, code: str) -> str:
        if code not in self.reference.department_codes:
            raise refuse(f"{kind}.unknown_department", f"{code!r} is not a department.",
                         code=code)
        return code

    # Campaigns (巡回问诊)

    def launch_campaign(self, ctx: CommandContext, title: str, industry: str, department: str,
                        dimensions: tuple[str, ...], scale_min: int = 0,
                        scale_max: int = 100) -> Outcome:
        self._check(ctx)
        self._department("campaign", department)
        campaign = Campaign.launch(ctx, self.derived_id("campaign", ctx), title, industry,
                                   department, dimensions, scale_min, scale_max)
        return self._create(ctx, campaign)

    def enroll_enterprise(self, ctx: CommandContext, campaign_id: UUID,
                          enterprise_id: UUID) -> Outcome:
        self._get(ctx, Enterprise, enterprise_id)
        return self._change(ctx, Campaign, campaign_id, lambda c: c.enroll(ctx, enterprise_id))

    def diagnose_enterprise(self, ctx: CommandContext, campaign_id: UUID, enterprise_id: UUID,
                            scores: Mapping[str, int], findings: tuple[Finding, ...],
                            experts: tuple[UUID, ...] = ()) -> Outcome:
        for expert_id in experts:
            self._get(ctx, Expert, expert_id)
        return self._change(ctx, Campaign, campaign_id, lambda c: c.diagnose(
            ctx, enterprise_id, scores, findings, experts))

    def collect_opinion(self, ctx: CommandContext, campaign_id: UUID, buyer: str, opinion: str,
                        enterprise_id: UUID | None = None) -> Outcome:
        return self._change(ctx, Campaign, campaign_id, lambda c: c.collect_opinion(
            ctx, buyer, opinion, enterprise_id))

    def issue_report(self, ctx: CommandContext, campaign_id: UUID, enterprise_id: UUID,
                     improvements: tuple[str, ...], summary: str = "") -> Outcome:
        return self._change(ctx, Campaign, campaign_id, lambda c: c.issue_report(
            ctx, enterprise_id, improvements, summary))

    def link_case(self, ctx: CommandContext, campaign_id: UUID, case_id: UUID) -> Outcome:
        self._get(ctx, Case, case_id)
        return self._change(ctx, Campaign, campaign_id, lambda c: c.link_case(ctx, case_id))

    def close_campaign(self, ctx: CommandContext, campaign_id: UUID, summary: str) -> Outcome:
        return self._change(ctx, Campaign, campaign_id, lambda c: c.close(ctx, summary))

    def get_campaign(self, campaign_id: UUID) -> Campaign:
        return self.repository.get(campaign_id)

    # Quality disputes (质量纠纷)

    def file_dispute(self, ctx: CommandContext, buyer: str, producer_id: UUID, product: str,
                     description: str, buyer_id: UUID | None = None,
                     campaign_id: UUID | None = None) -> Outcome:
        self._registered(ctx, producer_id, buyer_id, campaign_id)
        dispute = Dispute.start(self.derived_id("dispute", ctx), Dispute.Filed, ctx,
                                buyer=buyer, buyer_id=buyer_id, producer_id=producer_id,
                                product=product, description=description,
                                campaign_id=campaign_id)
        return self._create(ctx, dispute)

    def schedule_mediation(self, ctx: CommandContext, dispute_id: UUID, at: AwareDatetime,
                           place: str, mediator_department: str) -> Outcome:
        self._department("dispute", mediator_department)
        return self._change(ctx, Dispute, dispute_id, lambda d: d.schedule_mediation(
            ctx, at, place, mediator_department))

    def mediate_dispute(self, ctx: CommandContext, dispute_id: UUID, agreement: bool,
                        terms: str, compensation: Decimal = NO_MONEY) -> Outcome:
        return self._change(ctx, Dispute, dispute_id,
                            lambda d: d.mediate(ctx, agreement, terms, compensation))

    def close_dispute(self, ctx: CommandContext, dispute_id: UUID, note: str = "") -> Outcome:
        return self._change(ctx, Dispute, dispute_id, lambda d: d.close(ctx, note))

    def get_dispute(self, dispute_id: UUID) -> Dispute:
        return self.repository.get(dispute_id)

    # Recalls (召回 / 销毁)

    def order_recall(self, ctx: CommandContext, enterprise_id: UUID, product: str, reason: str,
                     quantity: int, department: str,
                     campaign_id: UUID | None = None) -> Outcome:
        self._registered(ctx, enterprise_id, None, campaign_id)
        self._department("recall", department)
        recall = Recall.start(self.derived_id("recall", ctx), Recall.Ordered, ctx,
                              enterprise_id=enterprise_id, product=product, reason=reason,
                              quantity=quantity, department=department,
                              campaign_id=campaign_id)
        return self._create(ctx, recall)

    def amend_recall(self, ctx: CommandContext, recall_id: UUID, quantity: int,
                     reason: str) -> Outcome:
        return self._change(ctx, Recall, recall_id, lambda r: r.amend(ctx, quantity, reason))

    def record_units_recalled(self, ctx: CommandContext, recall_id: UUID, units: int) -> Outcome:
        return self._change(ctx, Recall, recall_id, lambda r: r.record_recalled(ctx, units))

    def record_units_destroyed(self, ctx: CommandContext, recall_id: UUID,
                               units: int) -> Outcome:
        return self._change(ctx, Recall, recall_id, lambda r: r.record_destroyed(ctx, units))

    def record_loss_recovered(self, ctx: CommandContext, recall_id: UUID, amount: Decimal,
                              source: str) -> Outcome:
        return self._change(ctx, Recall, recall_id,
                            lambda r: r.recover_loss(ctx, amount, source))

    def complete_recall(self, ctx: CommandContext, recall_id: UUID, note: str = "") -> Outcome:
        return self._change(ctx, Recall, recall_id, lambda r: r.complete(ctx, note))

    def get_recall(self, recall_id: UUID) -> Recall:
        return self.repository.get(recall_id)

    # Improvement projects (专项改进项目)

    def open_improvement(self, ctx: CommandContext, enterprise_id: UUID, title: str,
                         department: str, supplier_id: UUID | None = None,
                         problem: str | None = None) -> Outcome:
        self._registered(ctx, enterprise_id, supplier_id, None)
        self._department("improvement", department)
        project = Improvement.start(self.derived_id("improvement", ctx), Improvement.Opened,
                                    ctx, enterprise_id=enterprise_id, title=title,
                                    department=department, supplier_id=supplier_id,
                                    problem=problem)
        return self._create(ctx, project)

    def record_investment(self, ctx: CommandContext, improvement_id: UUID, amount: Decimal,
                          note: str = "") -> Outcome:
        return self._change(ctx, Improvement, improvement_id,
                            lambda p: p.record_investment(ctx, amount, note))

    def expect_benefit(self, ctx: CommandContext, improvement_id: UUID,
                       amount: Decimal) -> Outcome:
        return self._change(ctx, Improvement, improvement_id,
                            lambda p: p.expect_benefit(ctx, amount))

    def realise_benefit(self, ctx: CommandContext, improvement_id: UUID, amount: Decimal,
                        note: str = "") -> Outcome:
        return self._change(ctx, Improvement, improvement_id,
                            lambda p: p.realise_benefit(ctx, amount, note))

    def complete_improvement(self, ctx: CommandContext, improvement_id: UUID,
                             outcome: str) -> Outcome:
        return self._change(ctx, Improvement, improvement_id,
                            lambda p: p.complete(ctx, outcome))

    def get_improvement(self, improvement_id: UUID) -> Improvement:
        return self.repository.get(improvement_id)

    def _registered(self, ctx: CommandContext, enterprise_id: UUID, other_id: UUID | None,
                    campaign_id: UUID | None) -> None:
        self._get(ctx, Enterprise, enterprise_id)
        if other_id is not None:
            self._get(ctx, Enterprise, other_id)
        if campaign_id is not None:
            self._get(ctx, Campaign, campaign_id)
