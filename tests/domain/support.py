"""Givens for domain tests: an application on the in-memory store, a clock, contexts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from domain.application import OneStop
from domain.base import Actor, CommandContext
from domain.commands import (AcceptCase, RegisterEnterprise, RegisterEquipment, RegisterExpert,
                             SubmitCase)
from domain.credit_code import ALPHABET, check_character

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def credit_code(rng: random.Random | None = None) -> str:
    """A valid unified social credit code for a Yongchuan (500118) enterprise."""
    rng = rng or random.Random()
    body = "91500118" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


@dataclass
class World:
    app: OneStop
    now: datetime = START
    ids: dict[str, UUID] = field(default_factory=dict)

    def clock(self) -> datetime:
        return self.now

    def ctx(self, principal: str = "samr", person: str = "王科长", **kwargs: Any) -> CommandContext:
        kwargs.setdefault("command_id", str(uuid4()))
        return CommandContext(actor=Actor(principal=principal, person=person), at=self.now,
                              **kwargs)

    def enterprise(self, **overrides: Any) -> UUID:
        fields = dict(credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
                      industry="building_bricks", town="laisu") | overrides
        return self.app.register_enterprise(self.ctx("portal", "厂长"),
                                            RegisterEnterprise(**fields)).id

    def case(self, accepted: bool = True, service_type: str = "quality_management") -> UUID:
        case_id = self.app.submit_case(self.ctx("portal", "厂长"), SubmitCase(
            enterprise_id=self.enterprise(), service_type=service_type,
            description="Bricks crumble to powder since coal gangue supply stopped",
            channel="online_platform")).id
        if accepted:
            self.app.accept_case(self.ctx(), AcceptCase(case_id=case_id))
        return case_id

    def expert(self, name: str = "李教授") -> UUID:
        return self.app.register_expert(self.ctx(), RegisterExpert(
            name=name, affiliation="重庆文理学院", specialties=("building_materials",))).id

    def equipment(self, valid_for: timedelta = timedelta(days=365)) -> UUID:
        return self.app.register_equipment(self.ctx(), RegisterEquipment(
            name="X-ray fluorescence spectrometer", owner_institution="永川区检验检测中心",
            capabilities=("chemical_composition",),
            calibration_valid_until=self.now + valid_for)).id

    def slot(self, day: int, hours: int = 3) -> tuple[datetime, datetime]:
        start = START + timedelta(days=day)
        return start, start + timedelta(hours=hours)


def in_memory_world() -> World:
    return World(OneStop(env=IN_MEMORY))
