"""Enterprises, identified by their unified social credit code."""

from __future__ import annotations

from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import Field

from domain.base import Aggregate, CommandContext, DomainEvent
from domain.codes import Recorded
from domain.credit_code import problem_with
from domain.errors import refuse

Scale = Literal["above_scale", "small_micro"]
NAMESPACE = uuid5(NAMESPACE_URL, "https://onestop.yongchuan.gov.cn/enterprises")


def enterprise_id(credit_code: str) -> UUID:
    """One code, one id: the store itself refuses a second registration."""
    return uuid5(NAMESPACE, credit_code.upper())


class Enterprise(Aggregate):
    public_name = "enterprise"
    class Registered(DomainEvent):
        public_name = "enterprise.registered"
        class_version = 2

        credit_code: str
        name: str = Field(min_length=1)
        scale: Scale
        industry: Recorded.industry
        town: Recorded.town

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # v1 recorded a flag and no industry; v2 names the scale and the industry.
            state["scale"] = "above_scale" if state.pop("above_scale") else "small_micro"
            state.setdefault("industry", "unspecified")

        def apply(self, enterprise: Enterprise) -> None:
            enterprise.credit_code = self.credit_code
            enterprise.name, enterprise.scale = self.name, self.scale
            enterprise.industry, enterprise.town = self.industry, self.town

    class ProfileChanged(DomainEvent):
        public_name = "enterprise.profile_changed"

        name: str | None = None
        scale: Scale | None = None
        industry: Recorded.industry | None = None
        town: Recorded.town | None = None

        def apply(self, enterprise: Enterprise) -> None:
            for field in ("name", "scale", "industry", "town"):
                if getattr(self, field) is not None:
                    setattr(enterprise, field, getattr(self, field))

    credit_code: str
    name: str
    scale: Scale
    industry: str
    town: str

    @classmethod
    def register(cls, ctx: CommandContext, credit_code: str, name: str, scale: Scale,
                 industry: str, town: str) -> Enterprise:
        code = credit_code.strip().upper()
        if problem := problem_with(code):
            raise refuse("enterprise.invalid_credit_code",
                         f"The unified social credit code {code} is not valid: {problem}.",
                         credit_code=code)
        return cls.start(enterprise_id(code), cls.Registered, ctx, credit_code=code, name=name,
                         scale=scale, industry=industry, town=town)

    def change_profile(self, ctx: CommandContext, **changes: Any) -> None:
        changes = {k: v for k, v in changes.items() if v is not None and getattr(self, k) != v}
        if changes:
            self.trigger(Enterprise.ProfileChanged, ctx, **changes)
