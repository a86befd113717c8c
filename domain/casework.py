"""Use cases of a service case: each loads, decides, and saves in one write."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime

from domain.base import CommandContext
from domain.bounds import AHEAD, DONE, PLANNED, require_within
from domain.cases import Case
from domain.catalogue import handles
from domain.commands import (AcceptCase, AssignExpert, BookEquipment, CancelAppointment,
                             CloseCase, PlanImprovement, RateCase, RecordVisit, RejectCase,
                             ReleaseEquipment, ReleaseExpert, RescheduleAppointment,
                             ResolveCase, ScheduleAppointment, SubmitCase, TransferCase,
                             WithdrawCase)
from domain.enterprises import Enterprise
from domain.resources import Booking, Equipment, Expert
from domain.service import Outcome, Service


class CaseUseCases(Service):
    @handles(SubmitCase)
    def submit_case(self, ctx: CommandContext, command: SubmitCase) -> Outcome:
        self._get(ctx, Enterprise, command.enterprise_id)
        case = Case.submit(ctx, self.derived_id("case", ctx),
                           enterprise_id=command.enterprise_id,
                           service_type=command.service_type, description=command.description,
                           channel=command.channel, station=command.station)
        return self._create(ctx, case)

    @handles(AcceptCase)
    def accept_case(self, ctx: CommandContext, command: AcceptCase) -> Outcome:
        def accept(case: Case) -> None:
            service = self.reference.service(case.service_type)
            assert service is not None
            case.accept(ctx, command.lead or service.lead, command.collaborators,
                        service.sla_days)
        return self._change(ctx, Case, command.case_id, accept)

    @handles(RejectCase)
    def reject_case(self, ctx: CommandContext, command: RejectCase) -> Outcome:
        return self._change(ctx, Case, command.case_id,
                            lambda case: case.reject(ctx, command.reason))

    @handles(WithdrawCase)
    def withdraw_case(self, ctx: CommandContext, command: WithdrawCase) -> Outcome:
        return self._change(ctx, Case, command.case_id,
                            lambda case: case.withdraw(ctx, command.reason))

    @handles(TransferCase)
    def transfer_case(self, ctx: CommandContext, command: TransferCase) -> Outcome:
        return self._change(ctx, Case, command.case_id,
                            lambda case: case.transfer(ctx, command.to, command.reason))

    @handles(ScheduleAppointment)
    def schedule_appointment(self, ctx: CommandContext, command: ScheduleAppointment) -> Outcome:
        def schedule(case: Case) -> None:
            require_within(ctx, command.at, "at", "case", AHEAD)
            case.schedule(ctx, command.at, command.place)
        return self._change(ctx, Case, command.case_id, schedule)

    @handles(RescheduleAppointment)
    def reschedule_appointment(self, ctx: CommandContext,
                               command: RescheduleAppointment) -> Outcome:
        def reschedule(case: Case) -> None:
            require_within(ctx, command.at, "at", "case", AHEAD)
            case.reschedule(ctx, command.at, command.place, command.reason)
        return self._change(ctx, Case, command.case_id, reschedule)

    @handles(CancelAppointment)
    def cancel_appointment(self, ctx: CommandContext, command: CancelAppointment) -> Outcome:
        return self._change(ctx, Case, command.case_id,
                            lambda case: case.cancel_appointment(ctx, command.reason))

    @handles(AssignExpert)
    def assign_expert(self, ctx: CommandContext, command: AssignExpert) -> Outcome:
        return self._book(ctx, command.case_id, Expert, command.expert_id, command.start,
                          command.end)

    @handles(BookEquipment)
    def book_equipment(self, ctx: CommandContext, command: BookEquipment) -> Outcome:
        return self._book(ctx, command.case_id, Equipment, command.equipment_id, command.start,
                          command.end)

    def _book(self, ctx: CommandContext, case_id: UUID, cls: type[Expert] | type[Equipment],
              resource_id: UUID, start: AwareDatetime, end: AwareDatetime) -> Outcome:
        case = self._get(ctx, Case, case_id)
        booking_id = self.derived_id("booking", ctx, case.id)
        if case.has_applied(ctx.command_id):
            return self._replay(case.id, booking_id)
        require_within(ctx, start, "start", "booking", AHEAD)
        require_within(ctx, end, "end", "booking", AHEAD)
        resource = self._get(ctx, cls, resource_id)
        booking = Booking(booking_id=booking_id, case_id=case.id, start=start, end=end)
        if cls is Expert:
            case.assign_expert(ctx, resource.id, booking)
        else:
            case.book_equipment(ctx, resource.id, booking)
        resource.book(ctx, booking)
        # Both aggregates in one save: the store writes the two bookings or neither.
        return self._commit(case, resource, id=case.id, booking_id=booking_id)

    @handles(ReleaseExpert)
    def release_expert(self, ctx: CommandContext, command: ReleaseExpert) -> Outcome:
        return self._release(ctx, command.case_id, command.booking_id, Expert)

    @handles(ReleaseEquipment)
    def release_equipment(self, ctx: CommandContext, command: ReleaseEquipment) -> Outcome:
        return self._release(ctx, command.case_id, command.booking_id, Equipment)

    def _release(self, ctx: CommandContext, case_id: UUID, booking_id: UUID,
                 cls: type[Expert] | type[Equipment]) -> Outcome:
        case = self._get(ctx, Case, case_id)
        if case.has_applied(ctx.command_id):
            return self._replay(case.id, booking_id)
        if cls is Expert:
            resource_id = case.release_expert(ctx, booking_id)
        else:
            resource_id = case.release_equipment(ctx, booking_id)
        resource = self._get(ctx, cls, resource_id)
        resource.release(ctx, booking_id)
        return self._commit(case, resource, id=case.id, booking_id=booking_id)

    @handles(RecordVisit)
    def record_visit(self, ctx: CommandContext, command: RecordVisit) -> Outcome:
        def record(case: Case) -> None:
            require_within(ctx, command.visited_at, "visited_at", "case", DONE)
            case.record_visit(ctx, command.visited_at, command.experts, command.findings,
                              command.recommendations)
        return self._change(ctx, Case, command.case_id, record)

    @handles(PlanImprovement)
    def plan_improvement(self, ctx: CommandContext, command: PlanImprovement) -> Outcome:
        def plan(case: Case) -> None:
            require_within(ctx, command.target_date, "target_date", "case", PLANNED)
            case.plan_improvement(ctx, command.actions, command.target_date)
        return self._change(ctx, Case, command.case_id, plan)

    @handles(ResolveCase)
    def resolve_case(self, ctx: CommandContext, command: ResolveCase) -> Outcome:
        return self._change(ctx, Case, command.case_id, lambda case: case.resolve(
            ctx, command.outcome, command.invested_yuan, command.saved_per_year_yuan,
            command.expected_benefit_yuan))

    @handles(RateCase)
    def rate_case(self, ctx: CommandContext, command: RateCase) -> Outcome:
        return self._change(ctx, Case, command.case_id,
                            lambda case: case.rate(ctx, command.score, command.comment))

    @handles(CloseCase)
    def close_case(self, ctx: CommandContext, command: CloseCase) -> Outcome:
        return self._change(ctx, Case, command.case_id, lambda case: case.close(ctx))

    def escalate_case(self, ctx: CommandContext, case_id: UUID) -> Outcome:
        """Escalates the case if it is overdue at `ctx.at`; otherwise writes nothing."""
        return self._change(ctx, Case, case_id, lambda case: case.escalate(ctx))

    def get_case(self, case_id: UUID) -> Case:
        return self.repository.get(case_id)
