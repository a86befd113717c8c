"""Every command the bus accepts: its public name, its schema, and the use case it calls.

The one table behind the request/reply subjects, the durable intake and the AsyncAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.application import OneStop
from domain.base import CommandContext
from domain.case_events import Finding
from domain.service import Outcome

from bus import messages as m

Execute = Callable[[OneStop, CommandContext, Any], Outcome]


@dataclass(frozen=True)
class Operation:
    name: str  # subject suffix, e.g. "case.submit"
    schema: type[m.Command]
    execute: Execute
    summary: str


def _op(name: str, schema: type[m.Command], summary: str) -> Callable[[Execute], Operation]:
    def register(execute: Execute) -> Operation:
        return Operation(name, schema, execute, summary)
    return register


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    _op("enterprise.register", m.RegisterEnterprise, "Register an enterprise by credit code.")(
        lambda app, ctx, c: app.register_enterprise(ctx, c.credit_code, c.name, c.scale,
                                                    c.industry, c.town)),
    _op("enterprise.change_profile", m.ChangeEnterpriseProfile, "Change an enterprise profile.")(
        lambda app, ctx, c: app.change_enterprise_profile(
            ctx, c.enterprise_id, name=c.name, scale=c.scale, industry=c.industry, town=c.town)),
    _op("expert.register", m.RegisterExpert, "Add an expert to the expert library.")(
        lambda app, ctx, c: app.register_expert(ctx, c.name, c.affiliation,
                                                tuple(c.specialties))),
    _op("expert.deactivate", m.DeactivateExpert, "Stop assigning an expert.")(
        lambda app, ctx, c: app.deactivate_expert(ctx, c.expert_id, c.reason)),
    _op("expert.reactivate", m.ReactivateExpert, "Assign an expert again.")(
        lambda app, ctx, c: app.reactivate_expert(ctx, c.expert_id)),
    _op("equipment.register", m.RegisterEquipment, "Add an instrument to the library.")(
        lambda app, ctx, c: app.register_equipment(ctx, c.name, c.owner_institution,
                                                   tuple(c.capabilities),
                                                   c.calibration_valid_until)),
    _op("equipment.recalibrate", m.RecalibrateEquipment, "Record a new calibration.")(
        lambda app, ctx, c: app.recalibrate_equipment(ctx, c.equipment_id, c.valid_until)),
    _op("equipment.take_out_of_service", m.TakeEquipmentOutOfService, "Withdraw an instrument.")(
        lambda app, ctx, c: app.take_equipment_out_of_service(ctx, c.equipment_id, c.reason)),
    _op("equipment.return_to_service", m.ReturnEquipmentToService, "Return an instrument.")(
        lambda app, ctx, c: app.return_equipment_to_service(ctx, c.equipment_id)),
    _op("case.submit", m.SubmitCase, "An enterprise orders a quality service.")(
        lambda app, ctx, c: app.submit_case(ctx, c.enterprise_id, c.service_type,
                                            c.description, c.channel, c.station)),
    _op("case.accept", m.AcceptCase, "Accept a case and route it to a lead department.")(
        lambda app, ctx, c: app.accept_case(ctx, c.case_id, c.lead, tuple(c.collaborators))),
    _op("case.reject", m.RejectCase, "Reject a case with a reason.")(
        lambda app, ctx, c: app.reject_case(ctx, c.case_id, c.reason)),
    _op("case.withdraw", m.WithdrawCase, "The enterprise withdraws its order.")(
        lambda app, ctx, c: app.withdraw_case(ctx, c.case_id, c.reason)),
    _op("case.transfer", m.TransferCase, "Transfer a case to another department.")(
        lambda app, ctx, c: app.transfer_case(ctx, c.case_id, c.to, c.reason)),
    _op("case.schedule_appointment", m.ScheduleAppointment, "Agree a time and place.")(
        lambda app, ctx, c: app.schedule_appointment(ctx, c.case_id, c.at, c.place)),
    _op("case.reschedule_appointment", m.RescheduleAppointment, "Move the appointment.")(
        lambda app, ctx, c: app.reschedule_appointment(ctx, c.case_id, c.at, c.place,
                                                       c.reason)),
    _op("case.cancel_appointment", m.CancelAppointment, "Cancel the appointment.")(
        lambda app, ctx, c: app.cancel_appointment(ctx, c.case_id, c.reason)),
    _op("case.assign_expert", m.AssignExpert, "Book an expert for the case.")(
        lambda app, ctx, c: app.assign_expert(ctx, c.case_id, c.expert_id, c.start, c.end)),
    _op("case.release_expert", m.ReleaseBooking, "Release an expert booking.")(
        lambda app, ctx, c: app.release_expert(ctx, c.case_id, c.booking_id)),
    _op("case.book_equipment", m.BookEquipment, "Book a shared instrument for the case.")(
        lambda app, ctx, c: app.book_equipment(ctx, c.case_id, c.equipment_id, c.start,
                                               c.end)),
    _op("case.release_equipment", m.ReleaseBooking, "Release an instrument booking.")(
        lambda app, ctx, c: app.release_equipment(ctx, c.case_id, c.booking_id)),
    _op("case.record_visit", m.RecordVisit, "Record an on-site diagnosis visit.")(
        lambda app, ctx, c: app.record_visit(
            ctx, c.case_id, c.visited_at, tuple(c.experts),
            tuple(Finding(stage=f.stage, finding=f.finding) for f in c.findings),
            tuple(c.recommendations))),
    _op("case.plan_improvement", m.PlanImprovement, "Agree an improvement plan.")(
        lambda app, ctx, c: app.plan_improvement(ctx, c.case_id, tuple(c.actions),
                                                 c.target_date)),
    _op("case.resolve", m.ResolveCase, "Resolve the case with its money figures.")(
        lambda app, ctx, c: app.resolve_case(ctx, c.case_id, c.outcome, c.invested_yuan,
                                             c.saved_per_year_yuan, c.expected_benefit_yuan)),
    _op("case.rate", m.RateCase, "The enterprise rates the service (1-5).")(
        lambda app, ctx, c: app.rate_case(ctx, c.case_id, c.score, c.comment)),
    _op("case.close", m.CloseCase, "Close the case.")(
        lambda app, ctx, c: app.close_case(ctx, c.case_id)),
    _op("campaign.launch", m.LaunchCampaign, "Launch a touring diagnosis of an industry.")(
        lambda app, ctx, c: app.launch_campaign(ctx, c.title, c.industry, c.department,
                                                tuple(c.dimensions), c.scale_min,
                                                c.scale_max)),
    _op("campaign.enroll", m.EnrollEnterprise, "Enrol a registered enterprise.")(
        lambda app, ctx, c: app.enroll_enterprise(ctx, c.campaign_id, c.enterprise_id)),
    _op("campaign.diagnose", m.DiagnoseEnterprise, "Score an enrolled enterprise, once.")(
        lambda app, ctx, c: app.diagnose_enterprise(
            ctx, c.campaign_id, c.enterprise_id, dict(c.scores),
            tuple(Finding(stage=f.stage, finding=f.finding) for f in c.findings),
            tuple(c.experts))),
    _op("campaign.collect_opinion", m.CollectOpinion, "Record a buyer's opinion.")(
        lambda app, ctx, c: app.collect_opinion(ctx, c.campaign_id, c.buyer, c.opinion,
                                                c.enterprise_id)),
    _op("campaign.issue_report", m.IssueReport, "Issue a diagnosed enterprise its report.")(
        lambda app, ctx, c: app.issue_report(ctx, c.campaign_id, c.enterprise_id,
                                             tuple(c.improvements), c.summary)),
    _op("campaign.link_case", m.LinkCase, "Link a case raised during the campaign.")(
        lambda app, ctx, c: app.link_case(ctx, c.campaign_id, c.case_id)),
    _op("campaign.close", m.CloseCampaign, "Close the campaign with its summary.")(
        lambda app, ctx, c: app.close_campaign(ctx, c.campaign_id, c.summary)),
    _op("dispute.file", m.FileDispute, "File a buyer's quality dispute with a producer.")(
        lambda app, ctx, c: app.file_dispute(ctx, c.buyer, c.producer_id, c.product,
                                             c.description, c.buyer_id, c.campaign_id)),
    _op("dispute.schedule_mediation", m.ScheduleMediation, "Schedule or move the mediation.")(
        lambda app, ctx, c: app.schedule_mediation(ctx, c.dispute_id, c.at, c.place,
                                                   c.mediator_department)),
    _op("dispute.mediate", m.MediateDispute, "Record the mediation: settled or not.")(
        lambda app, ctx, c: app.mediate_dispute(ctx, c.dispute_id, c.agreement, c.terms,
                                                c.compensation_yuan)),
    _op("dispute.close", m.CloseDispute, "Close a mediated dispute.")(
        lambda app, ctx, c: app.close_dispute(ctx, c.dispute_id, c.note)),
    _op("recall.order", m.OrderRecall, "Order a recall of a non-conforming product.")(
        lambda app, ctx, c: app.order_recall(ctx, c.enterprise_id, c.product, c.reason,
                                             c.quantity, c.department, c.campaign_id)),
    _op("recall.amend", m.AmendRecall, "Raise the number of units ordered for recall.")(
        lambda app, ctx, c: app.amend_recall(ctx, c.recall_id, c.quantity, c.reason)),
    _op("recall.record_recalled", m.RecordUnits, "Count units recalled.")(
        lambda app, ctx, c: app.record_units_recalled(ctx, c.recall_id, c.units)),
    _op("recall.record_destroyed", m.RecordUnits, "Count recalled units destroyed.")(
        lambda app, ctx, c: app.record_units_destroyed(ctx, c.recall_id, c.units)),
    _op("recall.record_loss_recovered", m.RecordLossRecovered, "Record a loss recovered.")(
        lambda app, ctx, c: app.record_loss_recovered(ctx, c.recall_id, c.amount_yuan,
                                                      c.source)),
    _op("recall.complete", m.CompleteRecall, "Complete the recall.")(
        lambda app, ctx, c: app.complete_recall(ctx, c.recall_id, c.note)),
    _op("improvement.open", m.OpenImprovement, "Open an improvement project.")(
        lambda app, ctx, c: app.open_improvement(ctx, c.enterprise_id, c.title, c.department,
                                                 c.supplier_id, c.problem)),
    _op("improvement.record_investment", m.RecordInvestment, "Record money invested.")(
        lambda app, ctx, c: app.record_investment(ctx, c.improvement_id, c.amount_yuan,
                                                  c.note)),
    _op("improvement.expect_benefit", m.ExpectBenefit, "Set the expected benefit.")(
        lambda app, ctx, c: app.expect_benefit(ctx, c.improvement_id, c.amount_yuan)),
    _op("improvement.realise_benefit", m.RealiseBenefit, "Record a benefit realised.")(
        lambda app, ctx, c: app.realise_benefit(ctx, c.improvement_id, c.amount_yuan,
                                                c.note)),
    _op("improvement.complete", m.CompleteImprovement, "Complete the project with its outcome.")(
        lambda app, ctx, c: app.complete_improvement(ctx, c.improvement_id, c.outcome)),
)}
