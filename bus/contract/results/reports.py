"""Counts, results, the audit trail and the views' state: `intake.counts`, `kpi.summary`,
`satisfaction.ranking`,
`audit.changes`, `audit.refusals`, `audit.reads`, `audit.sent`, `audit.deliveries`,
`views.status`."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, WithJsonSchema

from bus.contract.results.common import Day, Page, Result, Time, Utc


class IntakeGroup(Result):
    """One group; only the fields grouped by are there."""

    channel: str = None
    station: str = Field(None, description='"-" for cases taken at no station (online).')
    service_type: str = None
    day: Day = None
    submitted: int = Field(ge=0)


class IntakeTotals(Result):
    groups: list[IntakeGroup]
    total: int = Field(ge=0)


MONEY_TOTAL = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$",
               "description": "A sum of yuan, exact, with two decimals."}
Metrics = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object",
    "description": "Each metric's total: counts, sums of money (`..._yuan`, decimal text), "
                   "`above_scale_coverage` (the share of above-scale enterprises helped) and "
                   "好差评's `satisfaction_rate` and `rectification_rate` (shares, 0 to 1).",
    "patternProperties": {"_yuan$": MONEY_TOTAL,
                          "^(above_scale_coverage|satisfaction_rate|rectification_rate)$": {
                              "type": "number", "minimum": 0, "maximum": 1}},
    "additionalProperties": {"type": "integer", "minimum": 0},
})]


class KpiTotals(Result):
    by: Literal["district", "department", "town", "channel", "industry", "station", "month"]
    since_month: str | None
    until_month: str | None
    groups: dict[str, Metrics] = Field(description="By value of `by` (a town, a month...).")


class Ranked(Result):
    rank: int = Field(ge=1, description="Equal figures share a rank.")
    value: str = Field(description="A department's code, or a window's or town post's.")
    ratings: int = Field(ge=1)
    good: int = Field(ge=0, description="Rated 非常满意, 满意 or 基本满意.")
    bad: int = Field(ge=0, description="Rated 不满意 or 非常不满意.")
    rectified: int = Field(ge=0)
    satisfaction_rate: float | None = Field(ge=0, le=1)
    rectification_rate: float | None = Field(ge=0, le=1, description="None: no bad rating.")


class Ranking(Result):
    month: str
    of: Literal["department", "station"]
    items: list[Ranked]


class Change(Result):
    before: Any
    after: Any


class AuditEntry(Result):
    """An accepted change, as the department it concerned finds it in its trail."""

    position: int = Field(ge=1)
    at: Time = Field(description="When it happened, as its sender said.")
    at_utc: Utc
    recorded_at: Time | None = Field(None, description=(
        "When the service recorded it (none for a change recorded before the two times were "
        "told apart)."))
    principal: str
    person: str
    aggregate_type: str
    aggregate_id: UUID
    version: int = Field(ge=1)
    topic: str
    command_id: str
    correlation_id: str | None
    causation_id: str | None
    departments: list[str] = Field(description="Every department the change concerned.")
    changes: dict[str, Change] = Field(description="Each field the change touched.")
    case_id: UUID = Field(None, description="On a case's changes.")
    department: str = Field(description="Whose trail this entry is in.")
    role: Literal["actor", "involved"]


class AuditPage(Page):
    items: list[AuditEntry]


class Record(Result):
    sequence: int = Field(ge=1, description="In the audit stream.")
    principal: str
    at: Time
    at_utc: Utc


class Refusal(Record):
    kind: Literal["refused"]
    command: str = Field(description="The command or query refused (`*` on a count of "
                                     "many refusals).")
    command_id: str | None
    person: str | None
    code: str
    message: str
    fields: dict[str, Any]
    parameters: dict[str, Any] | None = Field(None, description=(
        "What a refused query asked, as sent (`raw`: the start of a body that was no JSON "
        "object)."))


class Read(Record):
    kind: Literal["read"]
    query: str
    case_ids: list[UUID]
    position: int | None
    person: str | None = Field(None, description="Who at the principal asked, if it said.")
    parameters: dict[str, Any] = Field(default_factory=dict,
                                       description="What the query asked, as sent.")


class SentMessage(Result):
    feed_sequence: int = Field(ge=1)
    at: str | None = Field(description="When the feed stored it (the server's clock, RFC 3339).")
    subject: str
    type: str | None = Field(description=(
        "Its CloudEvents type; `outcome` for the outcome of an intake command."))
    id: str | None = Field(description="Its CloudEvents id.")
    case_id: UUID | None
    position: int | None = Field(description="The log position it was copied from.")
    intake_sequence: int | None = Field(description="On an outcome: its intake message.")


class Sent(Record):
    kind: Literal["sent"]
    feed: str = Field(description="The feed stream.")
    first: int = Field(ge=1, description="The first feed sequence this record holds.")
    last: int = Field(ge=1, description="The last feed sequence this record holds.")
    messages: list[SentMessage]


class ConsumerProgress(Result):
    consumer: str = Field(description="The consumer's name on the feed stream.")
    durable: bool
    delivered: int = Field(ge=0, description="The last feed sequence it was handed.")
    delivered_at: str | None = Field(description="When it was last handed one (the server's).")
    acknowledged: int = Field(ge=0, description="Every feed sequence up to here it acknowledged.")
    acknowledged_at: str | None
    pending: int = Field(ge=0, description="Messages in the feed it has not been handed yet.")
    unacknowledged: int = Field(ge=0, description="Handed and not acknowledged yet.")


class Delivered(Record):
    kind: Literal["delivered"]
    feed: str = Field(description="The feed stream.")
    consumers: list[ConsumerProgress] = Field(description=(
        "Every consumer of the feed when one of them came, went or moved."))


class RefusalPage(Page):
    items: list[Refusal]


class SentPage(Page):
    items: list[Sent]


class DeliveryPage(Page):
    items: list[Delivered]


class ReadPage(Page):
    items: list[Read]


class ViewFailure(Result):
    position: int
    topic: str
    aggregate: str
    error: str
    failed_at: str


class ViewReport(Result):
    name: str
    generation: int
    active: bool
    state: Literal["running", "failed", "rebuilding", "needs_rebuild"]
    position: int = Field(ge=0)
    behind: int = Field(ge=0)
    version: int
    code_version: int | None
    needs_rebuild: bool
    failure: ViewFailure | None


class ViewsReport(Result):
    head: int = Field(ge=0, description="The log's last position.")
    views: list[ViewReport]
    failed: list[str]
