"""Use cases of the enterprise register, the expert library and the instrument library."""

from __future__ import annotations

from uuid import UUID

from domain.base import CommandContext
from domain.bounds import VALIDITY, require_within
from domain.catalogue import handles
from domain.commands import (ChangeEnterpriseProfile, DeactivateExpert, ReactivateExpert,
                             RecalibrateEquipment, RegisterEnterprise, RegisterEquipment,
                             RegisterExpert, ReturnEquipmentToService, TakeEquipmentOutOfService)
from domain.enterprises import Enterprise
from domain.errors import refuse
from domain.resources import Equipment, Expert
from domain.service import Outcome, Service


class RegistryUseCases(Service):
    @handles(RegisterEnterprise)
    def register_enterprise(self, ctx: CommandContext, command: RegisterEnterprise) -> Outcome:
        self._check(ctx)
        enterprise = Enterprise.register(ctx, command.credit_code, command.name, command.scale,
                                         command.industry, command.town)
        clash = refuse("enterprise.already_registered",
                       f"An enterprise with credit code {enterprise.credit_code} is already "
                       "registered.", credit_code=enterprise.credit_code, id=enterprise.id)
        return self._create(ctx, enterprise, on_clash=clash)

    @handles(ChangeEnterpriseProfile)
    def change_enterprise_profile(self, ctx: CommandContext,
                                  command: ChangeEnterpriseProfile) -> Outcome:
        return self._change(ctx, Enterprise, command.enterprise_id, lambda x: x.change_profile(
            ctx, name=command.name, scale=command.scale, industry=command.industry,
            town=command.town))

    def get_enterprise(self, enterprise_id: UUID) -> Enterprise:
        return self.repository.get(enterprise_id)

    def get_expert(self, expert_id: UUID) -> Expert:
        return self.repository.get(expert_id)

    def get_equipment(self, equipment_id: UUID) -> Equipment:
        return self.repository.get(equipment_id)

    @handles(RegisterExpert)
    def register_expert(self, ctx: CommandContext, command: RegisterExpert) -> Outcome:
        self._check(ctx)
        expert = Expert.start(self.derived_id("expert", ctx), Expert.Registered, ctx,
                              name=command.name, affiliation=command.affiliation,
                              specialties=command.specialties)
        return self._create(ctx, expert)

    @handles(DeactivateExpert)
    def deactivate_expert(self, ctx: CommandContext, command: DeactivateExpert) -> Outcome:
        return self._change(ctx, Expert, command.expert_id,
                            lambda x: x.deactivate(ctx, command.reason))

    @handles(ReactivateExpert)
    def reactivate_expert(self, ctx: CommandContext, command: ReactivateExpert) -> Outcome:
        return self._change(ctx, Expert, command.expert_id, lambda x: x.reactivate(ctx))

    @handles(RegisterEquipment)
    def register_equipment(self, ctx: CommandContext, command: RegisterEquipment) -> Outcome:
        self._check(ctx)
        require_within(ctx, command.calibration_valid_until, "calibration_valid_until",
                       "equipment", VALIDITY)
        equipment = Equipment.start(
            self.derived_id("equipment", ctx), Equipment.Registered, ctx, name=command.name,
            owner_institution=command.owner_institution, capabilities=command.capabilities,
            calibration_valid_until=command.calibration_valid_until)
        return self._create(ctx, equipment)

    @handles(RecalibrateEquipment)
    def recalibrate_equipment(self, ctx: CommandContext,
                              command: RecalibrateEquipment) -> Outcome:
        def recalibrate(equipment: Equipment) -> None:
            require_within(ctx, command.valid_until, "valid_until", "equipment", VALIDITY)
            equipment.recalibrate(ctx, command.valid_until)
        return self._change(ctx, Equipment, command.equipment_id, recalibrate)

    @handles(TakeEquipmentOutOfService)
    def take_equipment_out_of_service(self, ctx: CommandContext,
                                      command: TakeEquipmentOutOfService) -> Outcome:
        return self._change(ctx, Equipment, command.equipment_id,
                            lambda x: x.take_out_of_service(ctx, command.reason))

    @handles(ReturnEquipmentToService)
    def return_equipment_to_service(self, ctx: CommandContext,
                                    command: ReturnEquipmentToService) -> Outcome:
        return self._change(ctx, Equipment, command.equipment_id,
                            lambda x: x.return_to_service(ctx))
