"""Every query the bus answers: its public name, its parameters, the view it reads, the call.

One table behind the query subjects (`onestop.query.<principal>.<query>`) and the AsyncAPI
document. Every query may name `min_position` (the `position` of a command's reply) to read
its own writes: the answer waits, up to `wait_ms`, until the view has applied the log that
far. The view's position comes back with every answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from bus.contract import results as r
from domain.bounds import Day, Moment, Month
from domain.codes import Channel, Department, ServiceType, Station
from domain.credit_code import CreditCode
from projections import queries as q
from projections.queries import Asker
from projections.view_reader import ViewReader

MAX_WAIT_MS = 30_000
# Bounds that keep every number a view store can compare (SQLite's are 64-bit).
MAX_POSITION = 2**63 - 1
MAX_OFFSET = 1_000_000
MAX_VERSION = 1_000_000
Statuses = Field(None, max_length=20)


class QueryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_position: int | None = Field(None, ge=0, le=MAX_POSITION, description=(
        "Answer only once the view has applied the log up to here (a command reply's "
        "`position`), so that a client reads its own writes."))
    wait_ms: int = Field(2000, ge=0, le=MAX_WAIT_MS,
                         description="How long to wait for `min_position`.")
    person: str | None = Field(None, min_length=1, max_length=100, description=(
        "Who at the principal asks: the audit trail records it with every read of case "
        "data."))


class Paged(QueryParams):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class GetCase(QueryParams):
    case_id: UUID


class CaseAsOf(QueryParams):
    case_id: UUID
    version: int | None = Field(None, ge=1, le=MAX_VERSION,
                                description="The case after this many events.")
    at: Moment | None = Field(None, description="The case as it stood at this time.")


class ListCases(Paged):
    status: str | list[Annotated[str, Field(max_length=40)]] | None = Statuses
    lead: Department | None = None
    station: Station | None = None
    submitted_since: Moment | None = None
    submitted_before: Moment | None = None


class ListWorklist(Paged):
    department: Department | None = Field(None, description="Default: the asking department.")
    status: str | list[Annotated[str, Field(max_length=40)]] | None = Statuses
    role: Literal["lead", "collaborator"] | None = None
    due_before: Moment | None = None
    overdue_as_of: Moment | None = None


class EnterpriseHistory(Paged):
    enterprise_id: UUID


class EnterpriseByCreditCode(QueryParams):
    credit_code: CreditCode


class Period(QueryParams):
    since: Moment
    until: Moment


class ExpertSchedule(Period, Paged):
    expert_id: UUID
    include_released: bool = False


class EquipmentBookings(Period, Paged):
    equipment_id: UUID
    include_released: bool = False


class IntakeCounts(QueryParams):
    since: Day | None = None
    until: Day | None = None
    channel: Channel | None = None
    station: Station | None = None
    service_type: ServiceType | None = None
    group_by: list[Literal["channel", "station", "service_type", "day"]] = ["channel", "station"]


PRINCIPAL_CODE = r"^[a-z][a-z0-9_]*$"


class AuditChanges(Paged):
    department: str | None = Field(None, pattern=PRINCIPAL_CODE, description=(
        "Every change that concerned this department (or station, portal): as the actor, or "
        "on a case it was involved in. Without it, each change once."))
    case_id: UUID | None = Field(None, description=(
        "Only the changes of this case (or of any other aggregate with this id: an "
        "enterprise, expert, instrument, ...)."))
    principal: str | None = Field(None, pattern=PRINCIPAL_CODE,
                                  description="Only the changes this principal made.")
    since: Moment | None = Field(None, description="From this time (included).")
    until: Moment | None = Field(None, description="Up to this time (excluded).")


class AuditRecords(Paged):
    principal: str | None = Field(None, pattern=PRINCIPAL_CODE,
                                  description="Only this principal's records.")
    since: Moment | None = Field(None, description="Recorded from this time (included).")
    until: Moment | None = Field(None, description="Recorded before this time.")


class CaseVisibility(QueryParams):
    department: str = Field(pattern=PRINCIPAL_CODE, description=(
        "The department (or station, portal) whose view of the case is asked for."))
    case_id: UUID
    at: Moment = Field(description="The time it is asked for.")


class ViewsStatus(QueryParams):
    """No parameters: the status is how the views stand now (`min_position` is not waited for)."""


class Answered(BaseModel):
    ok: Literal[True] = True
    result: dict[str, Any] = Field(description="The answer; lists are {items, total, limit, "
                                               "offset}.")
    position: int = Field(description="The log position the view had reached.")


class QueryError(BaseModel):
    code: str = Field(description="Stable, for programs; each query's refusal lists its own.")
    message: str
    fields: dict[str, Any] = Field(default_factory=dict)


class QueryRefused(BaseModel):
    ok: Literal[False] = False
    error: QueryError


class KpiSummary(QueryParams):
    by: Literal["district", "department", "town", "channel", "industry", "station",
                "month"] = "district"
    value: str | None = Field(None, max_length=100,
                              description="One town, department...; default: all.")
    since_month: Month | None = None
    until_month: Month | None = None


class SatisfactionRanking(QueryParams):
    month: Month
    of: Literal["department", "station"] = Field(
        "department", description="Rank the departments the ratings are for, or the windows "
                                  "and town posts that took the cases.")


Ask = Callable[[ViewReader, Asker, Any], dict[str, Any]]


# What any query can be refused with: its body too large, not JSON or not its parameters
# (query.invalid, also for a code the district does not have), a principal that is none of
# the district's (query.forbidden), and a fault of ours.
ANY_QUERY = frozenset({"query.too_large", "query.malformed_json", "query.invalid",
                       "query.forbidden", "internal.error"})


@dataclass(frozen=True)
class Query:
    name: str  # subject suffix, e.g. "case.get"
    schema: type[QueryParams]
    view: str | None  # the projection it reads (None: answered by QueryAnswerer itself)
    ask: Ask
    summary: str
    result: type[BaseModel]  # what `result` holds in its answer (the contract's schema)
    # Its own refusals beyond ANY_QUERY: query.not_found for a record that is not there,
    # query.unavailable when the service keeps no audit trail or has lost part of it.
    own_refusals: frozenset[str] = frozenset()

    @property
    def refusals(self) -> frozenset[str]:
        """Every code the query can be refused with; query.behind when it waits for its
        view to reach `min_position` and the view does not in time."""
        return ANY_QUERY | self.own_refusals | ({"query.behind"} if self.view else set())


NOT_FOUND = frozenset({"query.not_found"})
UNAVAILABLE = frozenset({"query.unavailable"})


def _paging(p: Paged) -> dict[str, int]:
    return {"limit": p.limit, "offset": p.offset}


QUERIES: dict[str, Query] = {query.name: query for query in (
    Query("case.get", GetCase, "cases",
          lambda r, a, p: q.get_case(r, a, str(p.case_id)),
          "A case: its state, who is involved, and every step with who took it.",
          result=r.CaseWithTimeline, own_refusals=NOT_FOUND),
    Query("case.list", ListCases, "cases",
          lambda r, a, p: q.list_cases(
              r, a, status=p.status, lead=p.lead, station=p.station,
              submitted_since=p.submitted_since, submitted_before=p.submitted_before,
              **_paging(p)),
          "Cases the asker may see, filtered.",
          result=r.CasePage),
    Query("case.as_of", CaseAsOf, None, None,  # answered from the log, see QueryAnswerer
          "A case as it stood at a version or a time, rebuilt from the log.",
          result=r.CaseWithTimeline, own_refusals=NOT_FOUND),
    Query("worklist.list", ListWorklist, "worklists",
          lambda r, a, p: q.list_worklist(
              r, a, p.department or a.id, status=p.status, role=p.role,
              due_before=p.due_before, overdue_as_of=p.overdue_as_of, **_paging(p)),
          "A department's open cases, as lead or collaborator, with due and overdue.",
          result=r.WorklistPage),
    Query("enterprise.history", EnterpriseHistory, "enterprises",
          lambda r, a, p: q.enterprise_history(r, a, str(p.enterprise_id), **_paging(p)),
          "An enterprise and the cases it has ordered.",
          result=r.EnterpriseWithCases, own_refusals=NOT_FOUND),
    Query("enterprise.by_credit_code", EnterpriseByCreditCode, "enterprises",
          lambda r, a, p: q.enterprise_by_credit_code(r, a, p.credit_code),
          "Find an enterprise by its unified social credit code.",
          result=r.EnterpriseEntry, own_refusals=NOT_FOUND),
    Query("expert.schedule", ExpertSchedule, "experts",
          lambda r, a, p: q.expert_schedule(r, a, str(p.expert_id), p.since, p.until,
                                            include_released=p.include_released,
                                            **_paging(p)),
          "An expert's bookings in a period.",
          result=r.ExpertWithBookings, own_refusals=NOT_FOUND),
    Query("expert.workload", Period, "experts",
          lambda r, a, p: q.expert_workload(r, a, p.since, p.until),
          "Every expert's booked hours and cases in a period.",
          result=r.Workload),
    Query("equipment.bookings", EquipmentBookings, "equipment",
          lambda r, a, p: q.equipment_bookings(r, a, str(p.equipment_id), p.since, p.until,
                                               include_released=p.include_released,
                                               **_paging(p)),
          "An instrument's bookings in a period.",
          result=r.EquipmentWithBookings, own_refusals=NOT_FOUND),
    Query("equipment.utilisation", Period, "equipment",
          lambda r, a, p: q.equipment_utilisation(r, a, p.since, p.until),
          "Every instrument's booked hours in a period.",
          result=r.Utilisation),
    Query("intake.counts", IntakeCounts, "intake",
          lambda r, a, p: q.intake_counts(r, a, since=p.since, until=p.until,
                                          channel=p.channel, station=p.station,
                                          service_type=p.service_type,
                                          group_by=tuple(p.group_by)),
          "Cases taken in, by channel, station, service type or day.",
          result=r.IntakeTotals),
    Query("audit.changes", AuditChanges, "audit",  # a page of it; QueryAnswerer adds the rest
          lambda r, a, p: q.audit_page(
              r, a, department=p.department,
              aggregate_id=None if p.case_id is None else str(p.case_id),
              principal=p.principal, since=p.since, until=p.until, **_paging(p)),
          "The audit trail of accepted changes, in log order: who (principal and person), "
          "when, which case or other aggregate, which command, and before and after for "
          "every field the change touched. The lead bureau and auditors only.",
          result=r.AuditPage, own_refusals=UNAVAILABLE),
    Query("audit.refusals", AuditRecords, None, None,  # the audit stream, see QueryAnswerer
          "Refused commands and queries, with the code and reason, in the order they were "
          "recorded; `position` is the audit stream's sequence of the last record read. The "
          "lead bureau and auditors only.", result=r.RefusalPage, own_refusals=UNAVAILABLE),
    Query("audit.reads", AuditRecords, None, None,  # the audit stream, see QueryAnswerer
          "Who read which cases (the query and the log position it answered at), in the "
          "order recorded; `position` is the audit stream's sequence of the last record "
          "read. The lead bureau and auditors only.", result=r.ReadPage,
          own_refusals=UNAVAILABLE),
    Query("audit.sent", AuditRecords, None, None,  # the audit stream, see QueryAnswerer
          "What each principal's feed was sent, in feed order: every message with its feed "
          "sequence, when the feed stored it, its type, case and log position; `principal` "
          "is whose feed. The lead bureau and auditors only.", result=r.SentPage,
          own_refusals=UNAVAILABLE),
    Query("audit.deliveries", AuditRecords, None, None,  # the audit stream, see QueryAnswerer
          "How far each consumer of a principal's feed had been handed its messages and had "
          "acknowledged them, and when, recorded whenever one moved. The lead bureau and "
          "auditors only.", result=r.DeliveryPage, own_refusals=UNAVAILABLE),
    Query("audit.case_visibility", CaseVisibility, None, None,  # from the log
          "What a department could see of a case at a time: the case as it stood then, as "
          "the department was allowed to see it then, or `visible: false` with the reason. "
          "The lead bureau and auditors only.", result=r.Visibility,
          own_refusals=NOT_FOUND),
    Query("kpi.summary", KpiSummary, "kpis",
          lambda r, a, p: q.kpi_summary(r, a, by=p.by, value=p.value,
                                        since_month=p.since_month, until_month=p.until_month),
          "The district's results: every KPI per value of a dimension (district, department, "
          "town, channel, industry) or per month, over a span of months. Any principal may ask.",
          result=r.KpiTotals),
    Query("satisfaction.ranking", SatisfactionRanking, "kpis",
          lambda r, a, p: q.satisfaction_ranking(r, a, month=p.month, of=p.of),
          "好差评's monthly ranking: the departments (or windows) rated that month, by "
          "satisfaction rate, then rectification rate, then number of ratings. Any principal "
          "may ask.", result=r.Ranking),
    Query("views.status", ViewsStatus, None, None,  # the views store's status, see QueryAnswerer
          "How every view stands: generation, position and how far behind the log's head, "
          "its version against the code's (needs a rebuild), and the failure that stopped it "
          "(position, topic, aggregate, error). Any principal may ask.", result=r.ViewsReport),
)}
