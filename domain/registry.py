"""Use cases of the enterprise register, the expert library and the instrument library."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime

from domain.base import CommandContext
from domain.enterprises import Enterprise, Scale
from domain.errors import refuse
from domain.resources import Equipment, Expert
from domain.service import Outcome, Service


class RegistryUseCases(Service):
    def register_enterprise(self, ctx: CommandContext, credit_code: str, name: str,
                            scale: Scale, industry: str, town: str) -> Outcome:
        self._check(ctx)
        self._check_town(town)
        enterprise = Enterprise.register(ctx, credit_code, name, scale, industry, town)
        clash = refuse("enterprise.already_registered",
                       f"An enterprise with credit code {enterprise.credit_code} is already "
                       "registered.", credit_code=enterprise.credit_code, id=enterprise.id)
        return self._create(ctx, enterprise, on_clash=clash)

    def change_enterprise_profile(self, ctx: CommandContext, enterprise_id: UUID, *,
                                  name: str | None = None, scale: Scale | None = None,
                                  industry: str | None = None,
                                  town: str | None = None) -> Outcome:
        if town is not None:
            self._check_town(town)
        return self._change(ctx, Enterprise, enterprise_id, lambda enterprise: enterprise
                            .change_profile(ctx, name=name, scale=scale, industry=industry,
                                            town=town))

    def _check_town(self, town: str) -> None:
        if town not in self.reference.towns:
            raise refuse("enterprise.unknown_town", f"{town!r} is not a town or street of the "
                         "district.", town=town)

    def get_enterprise(self, enterprise_id: UUID) -> Enterprise:
        return self.repository.get(enterprise_id)

    def get_expert(self, expert_id: UUID) -> Expert:
        return self.repository.get(expert_id)

    def get_equipment(self, equipment_id: UUID) -> Equipment:
        return self.repository.get(equipment_id)

    def register_expert(self, ctx: CommandContext, name: str, affiliation: str,
                        specialties: tuple[str, ...]) -> Outcome:
        self._check(ctx)
        expert = Expert.start(self.derived_id("expert", ctx), Expert.Registered, ctx, name=name,
                              affiliation=affiliation, specialties=specialties)
        return self._create(ctx, expert)

    def deactivate_expert(self, ctx: CommandContext, expert_id: UUID, reason: str) -> Outcome:
        return self._change(ctx, Expert, expert_id, lambda x: x.deactivate(ctx, reason))

    def reactivate_expert(self, ctx: CommandContext, expert_id: UUID) -> Outcome:
        return self._change(ctx, Expert, expert_id, lambda x: x.reactivate(ctx))

    def register_equipment(self, ctx: CommandContext, name: str, owner_institution: str,
                           capabilities: tuple[str, ...],
                           calibration_valid_until: AwareDatetime) -> Outcome:
        self._check(ctx)
        equipment = Equipment.start(
            self.derived_id("equipment", ctx), Equipment.Registered, ctx, name=name,
            owner_institution=owner_institution, capabilities=capabilities,
            calibration_valid_until=calibration_valid_until)
        return self._create(ctx, equipment)

    def recalibrate_equipment(self, ctx: CommandContext, equipment_id: UUID,
                              valid_until: AwareDatetime) -> Outcome:
        return self._change(ctx, Equipment, equipment_id, lambda x: x.recalibrate(ctx, valid_until))

    def take_equipment_out_of_service(self, ctx: CommandContext, equipment_id: UUID,
                                      reason: str) -> Outcome:
        return self._change(ctx, Equipment, equipment_id,
                            lambda x: x.take_out_of_service(ctx, reason))

    def return_equipment_to_service(self, ctx: CommandContext, equipment_id: UUID) -> Outcome:
        return self._change(ctx, Equipment, equipment_id, lambda x: x.return_to_service(ctx))
