"""A quality dispute (质量纠纷) between a buyer and a producer enterprise, and its mediation."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from domain.base import Aggregate, CommandContext, DomainEvent
from domain.codes import Recorded
from domain.lifecycle import require
from domain.money import RecordedYuan as Yuan

Status = Literal["filed", "mediation_scheduled", "settled", "unsettled", "closed"]


class Dispute(Aggregate):
    public_name = "dispute"

    class Filed(DomainEvent):
        public_name = "dispute.filed"
        buyer: str = Field(min_length=1)
        buyer_id: UUID | None = None
        producer_id: UUID
        product: str = Field(min_length=1)
        description: str = Field(min_length=1)
        campaign_id: UUID | None = None

        def apply(self, dispute: Dispute) -> None:
            dispute.buyer, dispute.buyer_id = self.buyer, self.buyer_id
            dispute.producer_id, dispute.product = self.producer_id, self.product
            dispute.campaign_id, dispute.status = self.campaign_id, "filed"
            dispute.filed_by = self.actor.principal
            dispute.mediation, dispute.outcome = None, None

    class MediationScheduled(DomainEvent):
        public_name = "dispute.mediation_scheduled"
        at: AwareDatetime
        place: str = Field(min_length=1)
        mediator_department: Recorded.department

        def apply(self, dispute: Dispute) -> None:
            dispute.status, dispute.mediation = "mediation_scheduled", self

    class Mediated(DomainEvent):
        public_name = "dispute.mediated"
        agreement: bool
        terms: str = Field(min_length=1)
        compensation_yuan: Yuan

        @model_validator(mode="after")
        def _compensation_only_by_agreement(self) -> Self:
            if not self.agreement and self.compensation_yuan:
                raise ValueError("compensation is agreed or not paid")
            return self

        def apply(self, dispute: Dispute) -> None:
            dispute.status = "settled" if self.agreement else "unsettled"
            dispute.outcome = self

    class Closed(DomainEvent):
        public_name = "dispute.closed"
        note: str = ""

        def apply(self, dispute: Dispute) -> None:
            dispute.status = "closed"

    buyer: str
    buyer_id: UUID | None
    producer_id: UUID
    product: str
    campaign_id: UUID | None
    status: Status
    mediation: MediationScheduled | None
    outcome: Mediated | None
    filed_by: str | None = None  # who filed it: a department that did acts on it

    def schedule_mediation(self, ctx: CommandContext, at: AwareDatetime, place: str,
                           mediator_department: str) -> None:
        # Scheduling again moves the mediation: one appointment at a time.
        require(self, {"filed", "mediation_scheduled"}, "scheduled for mediation")
        self.trigger(Dispute.MediationScheduled, ctx, at=at, place=place,
                     mediator_department=mediator_department)

    def mediate(self, ctx: CommandContext, agreement: bool, terms: str,
                compensation: Decimal) -> None:
        require(self, {"mediation_scheduled"}, "mediated")
        self.trigger(Dispute.Mediated, ctx, agreement=agreement, terms=terms,
                     compensation_yuan=compensation)

    def close(self, ctx: CommandContext, note: str) -> None:
        require(self, {"settled", "unsettled"}, "closed")
        self.trigger(Dispute.Closed, ctx, note=note)
