"""Answering queries from the views: what the query endpoint (query_endpoint.py) calls once
it has validated a query's parameters with its model.

The principal is the subject's third token (NATS permissions let a principal request only
under its own prefix); what it may see follows from its kind. Every answer carries the
position of the log its view has reached; a query can ask to wait for a position first.
Bad input is answered with a stable code, never raised: query.unknown, query.malformed_json,
query.invalid, query.forbidden, query.not_found, and query.behind when the view did not reach
`min_position` in time. `views.status` answers for every principal how the views stand.
Every refusal but query.behind, and every answer that shows a case, is recorded in the audit
trail before it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from adapters.audit.reading import AuditReader
from adapters.audit.trail import DELIVERED, READ, REFUSED, SENT, AuditTrail
from adapters.jetstream.log import StreamLog
from adapters.views import ViewStore
from adapters.views.follower import ViewFollower
from bus.contract.messages import MAX_COMMAND_BYTES
from bus.contract.queries import Query, QueryParams
from bus.service.histories import PAGE, AggregateHistories, Kept
from bus.service.replies import refusal
from bus.service.view_status import views_report
from domain.codes import WHAT, Codes
from projections.queries import (
    Asker,
    QueryError,
    TrailPage,
    audit_listing,
    case_as_it_stood,
    case_visibility,
)
from projections.audit import changes_at
from projections.queries.access import instant
from projections.queries.audit import WHAT as AUDIT_TRAIL
from projections.timetravel import fold_ends_within

if TYPE_CHECKING:
    from bus.service.followers import StorePositions

log = logging.getLogger(__name__)

READS_AT_ONCE = 16  # aggregates of an audit page read from the log side by side
ENTRIES_KEPT = 20_000  # changes of the audit trail as pages told them (a kilobyte or so each)
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def error(code: str, message: str, fields: dict[str, Any] | None = None) -> dict:
    return {"ok": False, "error": {"code": code, "message": message, "fields": fields or {}}}


class Refused(Exception):
    """A query refused before it could be answered; `reply` is what its asker gets."""

    def __init__(self, reply: dict) -> None:
        super().__init__(reply["error"]["code"])
        self.reply = reply


def invalid(failure: ValidationError, skip: int = 0) -> dict:
    """query.invalid, naming each field that is wrong (`skip`: leading parts of each location
    that are not the query's own, such as the name of the handler's argument)."""
    return error("query.invalid", "Some parameters are missing or wrong.", {
        ".".join(map(str, issue["loc"][skip:])) or "(body)": issue["msg"]
        for issue in failure.errors()})


def too_large(body: bytes) -> dict | None:
    if len(body) > MAX_COMMAND_BYTES:
        return error("query.too_large", f"A query may be at most {MAX_COMMAND_BYTES} bytes.")
    return None


def payload_of(body: bytes) -> Any:
    """The JSON of a query's body (one no larger than `too_large` allows), or the refusal
    its asker gets."""
    try:
        return orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as failure:
        raise Refused(error("query.malformed_json",
                            f"The body is not valid JSON: {failure}.")) from None


class QueryAnswerer:
    def __init__(self, views: ViewStore, follower: ViewFollower | StorePositions,
                 log_: StreamLog,
                 kinds: dict[str, str], audit: AuditTrail | None = None,
                 codes: Codes | None = None) -> None:
        self.views = views
        self.follower = follower
        self.log = log_
        self.kinds = kinds  # principal -> kind
        self.audit = audit  # who read which case, and who was refused
        self.codes = codes  # the district's reference codes, which filters must be
        self.histories = AggregateHistories(log_)  # what the queries read of the log, kept
        self.entries = Kept(ENTRIES_KEPT)  # the audit trail's changes, as pages tell them

    def principal_kind(self, principal: str) -> str:
        """The kind of a principal of the district; a refusal for anyone else."""
        kind = self.kinds.get(principal)
        if kind is None:
            raise Refused(error("query.forbidden",
                                f"{principal!r} is not a principal of the district."))
        return kind

    async def answer(self, principal: str, query: Query, params: QueryParams,
                     body: bytes) -> dict:
        """The reply to parameters that are valid as the query's model; what was asked
        (`body`) goes into the audit trail with a refusal or a read."""
        reply = await self._answer_valid(principal, query, params)
        if not reply["ok"]:
            if reply["error"]["code"] != "query.behind":
                await self.record_refusal(principal, query.name, reply, body)
        elif self.audit is not None and (case_ids := cases_in(reply["result"])):
            parameters = asked(body)
            await self.audit.read(principal, query.name, case_ids, reply.get("position"),
                                  _text(parameters.get("person")), parameters)
        return reply

    async def record_refusal(self, principal: str, name: str, reply: dict,
                             body: bytes) -> None:
        if self.audit is not None:
            parameters = asked(body)
            await self.audit.refused(principal, name, None, reply["error"],
                                     _text(parameters.get("person")), parameters)

    async def not_answered(self, principal: str, name: str, reason: str) -> None:
        log.warning("query %s from %s not answered: %s", name, principal, reason)
        if self.audit is not None:
            await self.audit.refused(principal, name, None, refusal(reason))

    async def _answer_valid(self, principal: str, query: Query, params: QueryParams) -> dict:
        unknown = self.codes.unknown(params) if self.codes is not None else []
        if unknown:
            return error("query.invalid", "Some parameters are not codes of the district.",
                         {field: f"{value!r} is not {WHAT[of]}" for field, value, of in unknown})
        asker = Asker(principal, self.principal_kind(principal))
        try:
            return await self._answer(query, asker, params)
        except QueryError as failure:
            return error(failure.code, failure.message,
                         {key: str(value) for key, value in failure.fields.items()})

    async def _answer(self, query: Query, asker: Asker, params: QueryParams) -> dict:
        if query.name == "case.as_of":
            return await self._case_as_of(asker, params)
        if query.name == "views.status":
            return await self._views_status()
        if query.name in AUDIT_RECORDS:
            return await self._audit_records(asker, AUDIT_RECORDS[query.name], params)
        if query.name == "audit.case_visibility":
            return await self._case_visibility(asker, params)
        if params.min_position is not None:
            reached = await self.follower.wait_for(query.view, params.min_position,
                                                   params.wait_ms / 1000)
            if not reached:
                position = await asyncio.to_thread(self.follower.position_of, query.view)
                return error("query.behind", f"The {query.view} view has reached position "
                              f"{position}, not yet {params.min_position}; ask again.",
                              {"position": position})
        if self.views.local_reads:  # measured: a thread hop took more than the read
            position, result = self._read(query, asker, params)
        else:
            position, result = await asyncio.to_thread(self._read, query, asker, params)
        if isinstance(result, TrailPage):  # which changes: what they changed is in the log
            result = await self._listing(result, position)
        return {"ok": True, "result": result, "position": position}

    def _read(self, query: Query, asker: Asker, params: QueryParams) -> tuple[int, Any]:
        """The view's position, then the answer, which reflects at least that much of the
        log."""
        position = self.follower.position_of(query.view)
        return position, query.ask(self.views, asker, params)

    async def _listing(self, trail: TrailPage, position: int | None = None) -> dict:
        """The page in full. What each change did is told by folding its aggregate from the
        first event (most of a page's time): made once, and kept, as pages overlap.

        Each aggregate is read up to its last change on the page, and on to the end of the
        server's page that reached it (up to `position`, what the view had applied): every
        change read is made and kept. Later pages of the same aggregates then find theirs
        made, where each had read its aggregate again for a few more events."""
        made = {row: entry for row, _, _ in trail.rows
                if (entry := self.entries.get(row)) is not None}
        missing = [(row, aggregate_id) for row, aggregate_id, _ in trail.rows
                   if row not in made]
        if missing:
            needed: dict[str, int] = {}
            for row, aggregate_id in missing:
                needed[aggregate_id] = max(row, needed.get(aggregate_id, 0))
            events = await self._events_of(needed, position)
            fresh = changes_at(events, [event.position for event in events])
            for row, entry in fresh.items():
                self.entries.keep(row, entry)
            made.update((row, fresh[row]) for row, _ in missing if row in fresh)
        return audit_listing(trail, (), made)

    async def _events_of(self, needed: dict[str, int], stop: int | None) -> list:
        """Each aggregate's events, from its first up to the position needed of it at
        least: read side by side (one after the other, a page of the trail had taken a
        tenth of a second), and handed back aggregate after aggregate."""
        at_once = asyncio.Semaphore(READS_AT_ONCE)

        async def events_of(aggregate_id: str, last: int) -> list:
            async with at_once:
                return await self.histories.events(aggregate_id, stop=max(stop or 0, last),
                                                   needed=last)

        return [event for events in await asyncio.gather(
            *(events_of(aggregate_id, last) for aggregate_id, last in needed.items()))
            for event in events]

    async def _case_as_of(self, asker: Asker, params: Any) -> dict:
        # The versions of a case already read do not change: if they hold where the fold
        # ends, the log is not asked for more (measured: a round trip, a third of the query).
        at = instant(params.at, "at")  # refused here if it is no instant
        # A version asked for: that many events, in one page, are likely enough.
        events = await self._case_events(
            params.case_id, enough=lambda kept: fold_ends_within(
                (event for event in kept if event.topic.startswith("case.")),
                params.version, at),
            page=min(params.version or PAGE, PAGE))
        result = case_as_it_stood(asker, events, params.version, params.at)
        position = events[-1].position if events else 0
        return {"ok": True, "result": result, "position": position}

    async def _case_events(self, case_id: Any, enough=None, page: int = PAGE) -> list:
        return [event for event in await self.histories.events(case_id, enough=enough,
                                                               page=page)
                if event.topic.startswith("case.")]

    async def _case_visibility(self, asker: Asker, params: Any) -> dict:
        asker.require(what=AUDIT_TRAIL)
        kind = self.kinds.get(params.department)
        if kind is None:
            raise QueryError("query.invalid", f"{params.department!r} is not a principal of "
                             "the district.", department=params.department)
        events = await self._case_events(params.case_id)
        result = case_visibility(asker, Asker(params.department, kind), str(params.case_id),
                                 events, params.at)
        position = events[-1].position if events else 0
        return {"ok": True, "result": result, "position": position}

    async def _audit_records(self, asker: Asker, kind: str, params: Any) -> dict:
        asker.require(what=AUDIT_TRAIL)
        if self.audit is None:
            return error("query.unavailable", "This service keeps no audit trail.")
        reader = AuditReader(self.audit.log, self.audit.event_stream)
        items, total, last = await reader.page(
            kind, params.principal, instant(params.since, "since"),
            instant(params.until, "until"), params.limit, params.offset)
        result = {"items": items, "total": total, "limit": params.limit,
                  "offset": params.offset}
        return {"ok": True, "result": result, "position": last}

    async def _views_status(self) -> dict:
        last = await self.log.last(f"{self.log.stream}.events.>")
        head = last.sequence if last else 0
        report = views_report(await asyncio.to_thread(self.views.status), head)
        return {"ok": True, "result": report, "position": head}


AUDIT_RECORDS = {"audit.refusals": REFUSED, "audit.reads": READ, "audit.sent": SENT,
                 "audit.deliveries": DELIVERED}


RAW_KEPT = 1024  # of a body that is no JSON object: enough to see what was sent


def asked(body: bytes) -> dict[str, Any]:
    """What a query asked, for the audit trail: its parameters as sent, or the start of a
    body that is too large or no JSON object."""
    parameters = None
    if len(body) <= MAX_COMMAND_BYTES:
        try:
            parameters = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            pass
    if isinstance(parameters, dict):
        return parameters
    return {"raw": body[:RAW_KEPT].decode(errors="replace")}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


CONTAINERS = (dict, list)


def cases_in(result: Any, depth: int = 4) -> list[str]:
    """The ids of the cases an answer shows: a case, or the cases of a list. Only ids: a
    refusal the answer lists may name a field `case_id` with what was wrong with it.

    Level by level, to `depth` levels of dicts and lists (every answer of case data is
    walked: a page of 50 cases, recursively, had taken 70 µs, twice this)."""
    found: set[str] = set()
    level = [result] if isinstance(result, CONTAINERS) else []
    for _ in range(depth):
        below = []
        for node in level:
            if isinstance(node, dict):
                case_id = node.get("case_id")
                if type(case_id) is str and _CANONICAL_UUID.fullmatch(case_id) is not None:
                    found.add(case_id)
                node = node.values()
            for value in node:
                # Answers are JSON-shaped, plain dicts and lists: `type` is a third
                # quicker than isinstance here.
                if type(value) is dict or type(value) is list:
                    below.append(value)
        if not below:
            break
        level = below
    return sorted(found)
