"""Use cases of a service case: each loads, decides, and saves in one write."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import AwareDatetime

from domain.base import CommandContext
from domain.case_events import Finding
from domain.cases import Case
from domain.enterprises import Enterprise
from domain.errors import refuse
from domain.resources import Booking, Equipment, Expert
from domain.service import Outcome, Service


class CaseUseCases(Service):
    def submit_case(self, ctx: CommandContext, enterprise_id: UUID, service_type: str,
                    description: str, channel: str, station: str | None = None) -> Outcome:
        self._get(ctx, Enterprise, enterprise_id)
        if self.reference.service(service_type) is None:
            raise refuse("case.unknown_service", f"{service_type!r} is not in the service "
                         "catalogue.", service_type=service_type)
        if not self.reference.has_channel(channel):
            raise refuse("case.unknown_channel", f"{channel!r} is not a service channel.",
                         channel=channel)
        if station is not None and station not in self.reference.station_codes:
            raise refuse("case.unknown_station", f"{station!r} is not a service station.",
                         station=station)
        case = Case.submit(ctx, self.derived_id("case", ctx),
                          enterprise_id=enterprise_id, service_type=service_type,
                          description=description, channel=channel, station=station)
        return self._create(ctx, case)

    def accept_case(self, ctx: CommandContext, case_id: UUID, lead: str | None = None,
                    collaborators: tuple[str, ...] = ()) -> Outcome:
        def accept(case: Case) -> None:
            service = self.reference.service(case.service_type)
            assert service is not None
            for department in (lead or service.lead, *collaborators):
                self._check_department(department)
            case.accept(ctx, lead or service.lead, collaborators, service.sla_days)
        return self._change(ctx, Case, case_id, accept)

    def _check_department(self, code: str) -> None:
        if code not in self.reference.department_codes:
            raise refuse("case.unknown_department", f"{code!r} is not a department.", code=code)

    def reject_case(self, ctx: CommandContext, case_id: UUID, reason: str) -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.reject(ctx, reason))

    def withdraw_case(self, ctx: CommandContext, case_id: UUID, reason: str = "") -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.withdraw(ctx, reason))

    def transfer_case(self, ctx: CommandContext, case_id: UUID, to: str, reason: str) -> Outcome:
        self._check_department(to)
        return self._change(ctx, Case, case_id, lambda case: case.transfer(ctx, to, reason))

    def schedule_appointment(self, ctx: CommandContext, case_id: UUID, at: AwareDatetime,
                             place: str) -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.schedule(ctx, at, place))

    def reschedule_appointment(self, ctx: CommandContext, case_id: UUID, at: AwareDatetime,
                               place: str, reason: str) -> Outcome:
        return self._change(ctx, Case, case_id,
                            lambda case: case.reschedule(ctx, at, place, reason))

    def cancel_appointment(self, ctx: CommandContext, case_id: UUID, reason: str) -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.cancel_appointment(ctx, reason))

    def assign_expert(self, ctx: CommandContext, case_id: UUID, expert_id: UUID,
                      start: AwareDatetime, end: AwareDatetime) -> Outcome:
        return self._book(ctx, case_id, Expert, expert_id, start, end)

    def book_equipment(self, ctx: CommandContext, case_id: UUID, equipment_id: UUID,
                       start: AwareDatetime, end: AwareDatetime) -> Outcome:
        return self._book(ctx, case_id, Equipment, equipment_id, start, end)

    def _book(self, ctx: CommandContext, case_id: UUID, cls: type[Expert] | type[Equipment],
              resource_id: UUID, start: AwareDatetime, end: AwareDatetime) -> Outcome:
        case = self._get(ctx, Case, case_id)
        booking_id = self.derived_id("booking", ctx, case.id)
        if case.has_applied(ctx.command_id):
            return self._replay(case.id, booking_id)
        resource = self._get(ctx, cls, resource_id)
        booking = Booking(booking_id=booking_id, case_id=case.id, start=start, end=end)
        if cls is Expert:
            case.assign_expert(ctx, resource.id, booking)
        else:
            case.book_equipment(ctx, resource.id, booking)
        resource.book(ctx, booking)
        # Both aggregates in one save: the store writes the two bookings or neither.
        return self._commit(case, resource, id=case.id, booking_id=booking_id)

    def release_expert(self, ctx: CommandContext, case_id: UUID, booking_id: UUID) -> Outcome:
        return self._release(ctx, case_id, booking_id, Expert)

    def release_equipment(self, ctx: CommandContext, case_id: UUID, booking_id: UUID) -> Outcome:
        return self._release(ctx, case_id, booking_id, Equipment)

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

    def record_visit(self, ctx: CommandContext, case_id: UUID, visited_at: AwareDatetime,
                     experts: tuple[UUID, ...], findings: tuple[Finding, ...],
                     recommendations: tuple[str, ...]) -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.record_visit(
            ctx, visited_at, experts, findings, recommendations))

    def plan_improvement(self, ctx: CommandContext, case_id: UUID, actions: tuple[str, ...],
                         target_date: date) -> Outcome:
        return self._change(ctx, Case, case_id,
                            lambda case: case.plan_improvement(ctx, actions, target_date))

    def resolve_case(self, ctx: CommandContext, case_id: UUID, outcome: str, invested: Decimal,
                     saved_per_year: Decimal, expected_benefit: Decimal) -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.resolve(
            ctx, outcome, invested, saved_per_year, expected_benefit))

    def rate_case(self, ctx: CommandContext, case_id: UUID, score: int,
                  comment: str = "") -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.rate(ctx, score, comment))

    def close_case(self, ctx: CommandContext, case_id: UUID) -> Outcome:
        return self._change(ctx, Case, case_id, lambda case: case.close(ctx))

    def escalate_case(self, ctx: CommandContext, case_id: UUID) -> Outcome:
        """Escalates the case if it is overdue at `ctx.at`; otherwise writes nothing."""
        return self._change(ctx, Case, case_id, lambda case: case.escalate(ctx))

    def get_case(self, case_id: UUID) -> Case:
        return self.repository.get(case_id)
