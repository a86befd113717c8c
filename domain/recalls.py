"""A recall (召回) of an enterprise's non-conforming product, counted in units to destruction."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from domain.base import Aggregate, CommandContext, DomainEvent
from domain.codes import Recorded
from domain.errors import refuse
from domain.lifecycle import require
from domain.money import RecordedYuan as Yuan

Units = Annotated[int, Field(gt=0)]


class Recall(Aggregate):
    public_name = "recall"

    class Ordered(DomainEvent):
        public_name = "recall.ordered"
        enterprise_id: UUID
        product: str = Field(min_length=1)
        reason: str = Field(min_length=1)
        quantity: Units
        department: Recorded.department
        campaign_id: UUID | None = None

        def apply(self, recall: Recall) -> None:
            recall.enterprise_id, recall.product = self.enterprise_id, self.product
            recall.ordered, recall.department = self.quantity, self.department
            recall.campaign_id, recall.status = self.campaign_id, "ordered"
            recall.recalled = recall.destroyed = 0
            recall.recovered_yuan = Decimal("0.00")

    class Amended(DomainEvent):
        public_name = "recall.amended"
        quantity: Units
        reason: str = Field(min_length=1)

        def apply(self, recall: Recall) -> None:
            recall.ordered = self.quantity

    class UnitsRecalled(DomainEvent):
        public_name = "recall.units_recalled"
        units: Units

        def apply(self, recall: Recall) -> None:
            recall.recalled += self.units

    class UnitsDestroyed(DomainEvent):
        public_name = "recall.units_destroyed"
        units: Units

        def apply(self, recall: Recall) -> None:
            recall.destroyed += self.units

    class LossRecovered(DomainEvent):
        public_name = "recall.loss_recovered"
        amount_yuan: Yuan
        source: str = Field(min_length=1)

        def apply(self, recall: Recall) -> None:
            recall.recovered_yuan += self.amount_yuan

    class Completed(DomainEvent):
        public_name = "recall.completed"
        note: str = ""

        def apply(self, recall: Recall) -> None:
            recall.status = "completed"

    enterprise_id: UUID
    product: str
    department: str
    campaign_id: UUID | None
    status: Literal["ordered", "completed"]
    ordered: int
    recalled: int
    destroyed: int
    recovered_yuan: Decimal

    def amend(self, ctx: CommandContext, quantity: int, reason: str) -> None:
        require(self, {"ordered"}, "amended")
        if quantity <= self.ordered:
            raise refuse("recall.quantity_not_raised", f"The order is already for "
                         f"{self.ordered} units; an amendment raises it.",
                         ordered=self.ordered, quantity=quantity)
        self.trigger(Recall.Amended, ctx, quantity=quantity, reason=reason)

    def record_recalled(self, ctx: CommandContext, units: int) -> None:
        require(self, {"ordered"}, "given recalled units")
        if self.recalled + units > self.ordered:
            raise refuse("recall.over_recall", f"Only {self.ordered - self.recalled} more "
                         "units are ordered for recall; amend the order to recall more.",
                         ordered=self.ordered, recalled=self.recalled, units=units)
        self.trigger(Recall.UnitsRecalled, ctx, units=units)

    def record_destroyed(self, ctx: CommandContext, units: int) -> None:
        require(self, {"ordered"}, "given destroyed units")
        if self.destroyed + units > self.recalled:
            raise refuse("recall.over_destruction", f"Only {self.recalled - self.destroyed} "
                         "recalled units remain to destroy.",
                         recalled=self.recalled, destroyed=self.destroyed, units=units)
        self.trigger(Recall.UnitsDestroyed, ctx, units=units)

    def recover_loss(self, ctx: CommandContext, amount: Decimal, source: str) -> None:
        require(self, {"ordered"}, "given recovered losses")
        self.trigger(Recall.LossRecovered, ctx, amount_yuan=amount, source=source)

    def complete(self, ctx: CommandContext, note: str) -> None:
        require(self, {"ordered"}, "completed")
        self.trigger(Recall.Completed, ctx, note=note)
