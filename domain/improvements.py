"""An improvement project (专项改进项目): a tracked fix, its investment and its benefit."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from domain.base import Aggregate, CommandContext, DomainEvent
from domain.codes import Recorded
from domain.lifecycle import require
from domain.money import RecordedYuan as Yuan


class Improvement(Aggregate):
    public_name = "improvement"

    class Opened(DomainEvent):
        public_name = "improvement.opened"
        enterprise_id: UUID
        title: str = Field(min_length=1)
        department: Recorded.department
        supplier_id: UUID | None = None
        problem: str | None = None

        @model_validator(mode="after")
        def _supply_chain_work_names_its_problem(self) -> Self:
            if self.supplier_id is not None and not self.problem:
                raise ValueError("supply-chain work names the problem found at the supplier")
            if self.supplier_id == self.enterprise_id:
                raise ValueError("the supplier is another enterprise")
            return self

        def apply(self, project: Improvement) -> None:
            project.enterprise_id, project.title = self.enterprise_id, self.title
            project.department, project.supplier_id = self.department, self.supplier_id
            project.problem, project.status = self.problem, "open"
            project.invested_yuan = project.realised_yuan = Decimal("0.00")
            project.expected_yuan, project.outcome = None, None

    class InvestmentRecorded(DomainEvent):
        public_name = "improvement.investment_recorded"
        amount_yuan: Yuan
        note: str = ""

        def apply(self, project: Improvement) -> None:
            project.invested_yuan += self.amount_yuan

    class BenefitExpected(DomainEvent):
        public_name = "improvement.benefit_expected"
        amount_yuan: Yuan

        def apply(self, project: Improvement) -> None:
            project.expected_yuan = self.amount_yuan

    class BenefitRealised(DomainEvent):
        public_name = "improvement.benefit_realised"
        amount_yuan: Yuan
        note: str = ""

        def apply(self, project: Improvement) -> None:
            project.realised_yuan += self.amount_yuan

    class Completed(DomainEvent):
        public_name = "improvement.completed"
        outcome: str = Field(min_length=1)

        def apply(self, project: Improvement) -> None:
            project.status, project.outcome = "completed", self.outcome

    enterprise_id: UUID
    title: str
    department: str
    supplier_id: UUID | None
    problem: str | None
    status: Literal["open", "completed"]
    invested_yuan: Decimal
    expected_yuan: Decimal | None
    realised_yuan: Decimal
    outcome: str | None

    def record_investment(self, ctx: CommandContext, amount: Decimal, note: str) -> None:
        require(self, {"open"}, "given investment")
        self.trigger(Improvement.InvestmentRecorded, ctx, amount_yuan=amount, note=note)

    def expect_benefit(self, ctx: CommandContext, amount: Decimal) -> None:
        require(self, {"open"}, "given an expected benefit")
        self.trigger(Improvement.BenefitExpected, ctx, amount_yuan=amount)

    def realise_benefit(self, ctx: CommandContext, amount: Decimal, note: str) -> None:
        # Benefits keep coming after the work is done (Great Wall's yearly savings).
        self.trigger(Improvement.BenefitRealised, ctx, amount_yuan=amount, note=note)

    def complete(self, ctx: CommandContext, outcome: str) -> None:
        require(self, {"open"}, "completed")
        self.trigger(Improvement.Completed, ctx, outcome=outcome)
