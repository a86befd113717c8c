"""Use cases of the programmes and their results: campaigns, disputes, recalls and
improvement projects. Each loads, decides, and saves in one write."""

from __future__ import annotations

from uuid import UUID

from domain.base import CommandContext
from domain.bounds import AHEAD, require_within
from domain.campaigns import Campaign
from domain.cases import Case
from domain.catalogue import handles
from domain.commands import (AmendRecall, CloseCampaign, CloseDispute, CollectOpinion,
                             CompleteImprovement, CompleteRecall, DiagnoseEnterprise,
                             EnrollEnterprise, ExpectBenefit, FileDispute, IssueReport,
                             LaunchCampaign, LinkCase, MediateDispute, OpenImprovement,
                             OrderRecall, RealiseBenefit, RecordInvestment, RecordLossRecovered,
                             RecordUnitsDestroyed, RecordUnitsRecalled, ScheduleMediation)
from domain.disputes import Dispute
from domain.enterprises import Enterprise
from domain.improvements import Improvement
from domain.recalls import Recall
from domain.resources import Expert
from domain.service import Outcome, Service


class ProgrammeUseCases(Service):
    # Campaigns (巡回问诊)

    @handles(LaunchCampaign)
    def launch_campaign(self, ctx: CommandContext, command: LaunchCampaign) -> Outcome:
        self._check(ctx)
        campaign = Campaign.launch(ctx, self.derived_id("campaign", ctx), command.title,
                                   command.industry, command.department, command.dimensions,
                                   command.scale_min, command.scale_max)
        return self._create(ctx, campaign)

    @handles(EnrollEnterprise)
    def enroll_enterprise(self, ctx: CommandContext, command: EnrollEnterprise) -> Outcome:
        self._get(ctx, Enterprise, command.enterprise_id)
        return self._change(ctx, Campaign, command.campaign_id,
                            lambda c: c.enroll(ctx, command.enterprise_id))

    @handles(DiagnoseEnterprise)
    def diagnose_enterprise(self, ctx: CommandContext, command: DiagnoseEnterprise) -> Outcome:
        for expert_id in command.experts:
            self._get(ctx, Expert, expert_id)
        return self._change(ctx, Campaign, command.campaign_id, lambda c: c.diagnose(
            ctx, command.enterprise_id, command.scores, command.findings, command.experts))

    @handles(CollectOpinion)
    def collect_opinion(self, ctx: CommandContext, command: CollectOpinion) -> Outcome:
        return self._change(ctx, Campaign, command.campaign_id, lambda c: c.collect_opinion(
            ctx, command.buyer, command.opinion, command.enterprise_id))

    @handles(IssueReport)
    def issue_report(self, ctx: CommandContext, command: IssueReport) -> Outcome:
        return self._change(ctx, Campaign, command.campaign_id, lambda c: c.issue_report(
            ctx, command.enterprise_id, command.improvements, command.summary))

    @handles(LinkCase)
    def link_case(self, ctx: CommandContext, command: LinkCase) -> Outcome:
        self._get(ctx, Case, command.case_id)
        return self._change(ctx, Campaign, command.campaign_id,
                            lambda c: c.link_case(ctx, command.case_id))

    @handles(CloseCampaign)
    def close_campaign(self, ctx: CommandContext, command: CloseCampaign) -> Outcome:
        return self._change(ctx, Campaign, command.campaign_id,
                            lambda c: c.close(ctx, command.summary))

    def get_campaign(self, campaign_id: UUID) -> Campaign:
        return self.repository.get(campaign_id)

    # Quality disputes (质量纠纷)

    @handles(FileDispute)
    def file_dispute(self, ctx: CommandContext, command: FileDispute) -> Outcome:
        self._registered(ctx, command.producer_id, command.buyer_id, command.campaign_id)
        dispute = Dispute.start(self.derived_id("dispute", ctx), Dispute.Filed, ctx,
                                buyer=command.buyer, buyer_id=command.buyer_id,
                                producer_id=command.producer_id, product=command.product,
                                description=command.description,
                                campaign_id=command.campaign_id)
        return self._create(ctx, dispute)

    @handles(ScheduleMediation)
    def schedule_mediation(self, ctx: CommandContext, command: ScheduleMediation) -> Outcome:
        def schedule(dispute: Dispute) -> None:
            require_within(ctx, command.at, "at", "dispute", AHEAD)
            dispute.schedule_mediation(ctx, command.at, command.place,
                                       command.mediator_department)
        return self._change(ctx, Dispute, command.dispute_id, schedule)

    @handles(MediateDispute)
    def mediate_dispute(self, ctx: CommandContext, command: MediateDispute) -> Outcome:
        return self._change(ctx, Dispute, command.dispute_id, lambda d: d.mediate(
            ctx, command.agreement, command.terms, command.compensation_yuan))

    @handles(CloseDispute)
    def close_dispute(self, ctx: CommandContext, command: CloseDispute) -> Outcome:
        return self._change(ctx, Dispute, command.dispute_id,
                            lambda d: d.close(ctx, command.note))

    def get_dispute(self, dispute_id: UUID) -> Dispute:
        return self.repository.get(dispute_id)

    # Recalls (召回 / 销毁)

    @handles(OrderRecall)
    def order_recall(self, ctx: CommandContext, command: OrderRecall) -> Outcome:
        self._registered(ctx, command.enterprise_id, None, command.campaign_id)
        recall = Recall.start(self.derived_id("recall", ctx), Recall.Ordered, ctx,
                              enterprise_id=command.enterprise_id, product=command.product,
                              reason=command.reason, quantity=command.quantity,
                              department=command.department, campaign_id=command.campaign_id)
        return self._create(ctx, recall)

    @handles(AmendRecall)
    def amend_recall(self, ctx: CommandContext, command: AmendRecall) -> Outcome:
        return self._change(ctx, Recall, command.recall_id,
                            lambda r: r.amend(ctx, command.quantity, command.reason))

    @handles(RecordUnitsRecalled)
    def record_units_recalled(self, ctx: CommandContext,
                              command: RecordUnitsRecalled) -> Outcome:
        return self._change(ctx, Recall, command.recall_id,
                            lambda r: r.record_recalled(ctx, command.units))

    @handles(RecordUnitsDestroyed)
    def record_units_destroyed(self, ctx: CommandContext,
                               command: RecordUnitsDestroyed) -> Outcome:
        return self._change(ctx, Recall, command.recall_id,
                            lambda r: r.record_destroyed(ctx, command.units))

    @handles(RecordLossRecovered)
    def record_loss_recovered(self, ctx: CommandContext,
                              command: RecordLossRecovered) -> Outcome:
        return self._change(ctx, Recall, command.recall_id,
                            lambda r: r.recover_loss(ctx, command.amount_yuan, command.source))

    @handles(CompleteRecall)
    def complete_recall(self, ctx: CommandContext, command: CompleteRecall) -> Outcome:
        return self._change(ctx, Recall, command.recall_id,
                            lambda r: r.complete(ctx, command.note))

    def get_recall(self, recall_id: UUID) -> Recall:
        return self.repository.get(recall_id)

    # Improvement projects (专项改进项目)

    @handles(OpenImprovement)
    def open_improvement(self, ctx: CommandContext, command: OpenImprovement) -> Outcome:
        self._registered(ctx, command.enterprise_id, command.supplier_id, None)
        project = Improvement.start(self.derived_id("improvement", ctx), Improvement.Opened,
                                    ctx, enterprise_id=command.enterprise_id,
                                    title=command.title, department=command.department,
                                    supplier_id=command.supplier_id, problem=command.problem)
        return self._create(ctx, project)

    @handles(RecordInvestment)
    def record_investment(self, ctx: CommandContext, command: RecordInvestment) -> Outcome:
        return self._change(ctx, Improvement, command.improvement_id,
                            lambda p: p.record_investment(ctx, command.amount_yuan,
                                                          command.note))

    @handles(ExpectBenefit)
    def expect_benefit(self, ctx: CommandContext, command: ExpectBenefit) -> Outcome:
        return self._change(ctx, Improvement, command.improvement_id,
                            lambda p: p.expect_benefit(ctx, command.amount_yuan))

    @handles(RealiseBenefit)
    def realise_benefit(self, ctx: CommandContext, command: RealiseBenefit) -> Outcome:
        return self._change(ctx, Improvement, command.improvement_id,
                            lambda p: p.realise_benefit(ctx, command.amount_yuan, command.note))

    @handles(CompleteImprovement)
    def complete_improvement(self, ctx: CommandContext, command: CompleteImprovement) -> Outcome:
        return self._change(ctx, Improvement, command.improvement_id,
                            lambda p: p.complete(ctx, command.outcome))

    def get_improvement(self, improvement_id: UUID) -> Improvement:
        return self.repository.get(improvement_id)

    def _registered(self, ctx: CommandContext, enterprise_id: UUID, other_id: UUID | None,
                    campaign_id: UUID | None) -> None:
        self._get(ctx, Enterprise, enterprise_id)
        if other_id is not None:
            self._get(ctx, Enterprise, other_id)
        if campaign_id is not None:
            self._get(ctx, Campaign, campaign_id)
