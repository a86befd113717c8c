"""Use cases of the 好差评 loop (domain/evaluations.py): a stage of a case rated, and a bad
rating followed up, rectified and reported, or appealed and reviewed. Each loads, decides and
saves in one write."""

from __future__ import annotations

from uuid import UUID, uuid5

from domain.base import CommandContext
from domain.cases import Case
from domain.catalogue import handles
from domain.commands import (AppealEvaluation, EvaluateCase, FollowUpEvaluation,
                             ReportRectification, ReviewAppeal)
from domain.errors import refuse
from domain.evaluations import Evaluation, not_reached, stage_reached
from domain.service import NAMESPACE, Outcome, Service


class SatisfactionUseCases(Service):
    @handles(EvaluateCase)
    def evaluate_case(self, ctx: CommandContext, command: EvaluateCase) -> Outcome:
        case = self._get(ctx, Case, command.case_id)
        case.require_existed_at(ctx)
        if not stage_reached(command.stage, case.status, len(case.visits)):
            raise not_reached(command.stage, case.status)
        # How a case was accepted is the lead bureau's doing; how it was served and resolved,
        # its lead department's.
        lead_bureau = self.reference.lead.code
        department = lead_bureau if command.stage == "accepted" else case.lead or lead_bureau
        calendar = self.reference.calendar
        # One rating a stage: its id is the case's and the stage's, whoever sends it.
        evaluation = Evaluation.rate(
            ctx, evaluation_id(case.id, command.stage), case_id=case.id,
            enterprise_id=case.enterprise_id, stage=command.stage, level=command.level,
            comment=command.comment, department=department, station=case.station,
            follow_up_due=calendar.after_working_days(ctx.at,
                                                      calendar.rectify_within_working_days))
        return self._create(ctx, evaluation, on_clash=refuse(
            "case.already_evaluated", f"The {command.stage} stage of this case is rated "
            "already.", stage=command.stage))

    @handles(FollowUpEvaluation)
    def follow_up_evaluation(self, ctx: CommandContext, command: FollowUpEvaluation) -> Outcome:
        return self._change(ctx, Evaluation, command.evaluation_id,
                            lambda e: e.follow_up(ctx, command.contact, command.finding))

    @handles(ReportRectification)
    def report_rectification(self, ctx: CommandContext,
                             command: ReportRectification) -> Outcome:
        return self._change(ctx, Evaluation, command.evaluation_id, lambda e: (
            e.report_rectification(ctx, command.rectification, command.told)))

    @handles(AppealEvaluation)
    def appeal_evaluation(self, ctx: CommandContext, command: AppealEvaluation) -> Outcome:
        return self._change(ctx, Evaluation, command.evaluation_id,
                            lambda e: e.appeal(ctx, command.reason))

    @handles(ReviewAppeal)
    def review_appeal(self, ctx: CommandContext, command: ReviewAppeal) -> Outcome:
        calendar = self.reference.calendar
        due = calendar.after_working_days(ctx.at, calendar.rectify_within_working_days)
        return self._change(ctx, Evaluation, command.evaluation_id,
                            lambda e: e.review(ctx, command.upheld, command.note, due))

    def escalate_evaluation(self, ctx: CommandContext, evaluation_id: UUID) -> Outcome:
        """Escalates the follow-up if it is overdue at `ctx.at`; otherwise writes nothing."""
        return self._change(ctx, Evaluation, evaluation_id, lambda e: e.escalate(ctx))

    def get_evaluation(self, evaluation_id: UUID) -> Evaluation:
        return self.repository.get(evaluation_id)


def evaluation_id(case_id: UUID, stage: str) -> UUID:
    return uuid5(NAMESPACE, f"evaluation:{case_id}:{stage}")
