"""What auditors ask: the accepted changes, and what a department could see of a case then.

Only those who see everything (the lead bureau, auditors, the operator) may ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.audit import CHANGES, CONCERNS, as_seen_by, changes_at
from projections.logged import Logged
from projections.queries.access import Asker, QueryError, instant, listing, not_found, page
from projections.queries.cases import case_as_it_stood
from projections.view_reader import Range, ViewReader

WHAT = "the audit trail"


@dataclass(frozen=True)
class TrailPage:
    """A page of the trail as the view has it: which changes, not what they changed."""

    rows: list[tuple[int, str, str]]  # (position, aggregate id, the department seeing it)
    total: int
    limit: int
    offset: int

    def reads(self) -> dict[str, int]:
        """Each aggregate of the page, with the last position of it the page shows."""
        last: dict[str, int] = {}
        for position, aggregate_id, _department in self.rows:
            last[aggregate_id] = max(position, last.get(aggregate_id, 0))
        return last


def audit_page(reader: ViewReader, asker: Asker, *, department: str | None = None,
               aggregate_id: str | None = None, principal: str | None = None,
               since: str | datetime | None = None, until: str | datetime | None = None,
               limit: int | None = None, offset: int | None = None) -> TrailPage:
    """Changes in log order: a department's (every change that concerned it), or else each
    change once; `since` included, `until` not. `audit_listing` tells what they changed."""
    limit, offset = page(limit, offset)
    asker.require(what=WHAT)
    where: dict[str, Any] = {}
    if aggregate_id is not None:
        where["aggregate_id"] = aggregate_id
    if principal is not None:
        where["principal"] = principal
    first, last = instant(since, "since"), instant(until, "until")
    if first or last:
        where["at_utc"] = Range(ge=first, lt=last)
    if department is None and principal is not None:
        # A principal's changes: those of its own department's trail it made itself.
        department = principal
    if department is None:
        # Each change once, as its actor's. Unfiltered, the key order is the log order.
        rows, total = reader.find(CHANGES, where, ["position"] if where else [], limit,
                                  offset)
        seen = [(row["position"], row["aggregate_id"], row["principal"]) for row in rows]
    else:
        rows, total = reader.find(CONCERNS, {"department": department, **where},
                                  ["position"], limit, offset)
        seen = [(row["position"], row["aggregate_id"], department) for row in rows]
    return TrailPage(seen, total, limit, offset)


def audit_listing(trail: TrailPage, events: Iterable[Logged],
                  made: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The page's changes in full, from the events of its aggregates (`TrailPage.reads`),
    each aggregate's in log order from its first; or of those `made` before (a change, once
    in the log, is the same for good), from the events of the others."""
    made = made or {}
    entries = {**made, **changes_at(events, [position for position, _, _ in trail.rows
                                             if position not in made])}
    missing = [position for position, _, _ in trail.rows if position not in entries]
    if missing:
        raise QueryError("query.unavailable", f"The log has no events at {missing[:5]} that "
                         "the audit trail lists; ask again.", positions=missing[:5])
    return listing([as_seen_by(entries[position], department)
                    for position, _, department in trail.rows],
                   trail.total, trail.limit, trail.offset)


def audit_changes(reader: ViewReader, asker: Asker, events: Iterable[Logged],
                  **filters: Any) -> dict[str, Any]:
    """`audit_page` and `audit_listing` in one, given the log's events (for tests and
    callers that have them at hand)."""
    trail = audit_page(reader, asker, **filters)
    reads = trail.reads()
    return audit_listing(trail, [event for event in events
                                 if event.position <= reads.get(event.originator_id, 0)])


def case_visibility(asker: Asker, seen_by: Asker, case_id: str, events: Iterable[Logged],
                    at: str | datetime) -> dict[str, Any]:
    """What `seen_by` could see of the case at `at`: as it stood then, as it was allowed to
    see it then; or `visible: false` with the reason."""
    asker.require(what=WHAT)
    events = list(events)
    if not events:
        raise not_found("case", case_id)
    answer = {"principal": seen_by.id, "case_id": case_id, "at": instant(at, "at")}
    try:
        seen = case_as_it_stood(seen_by, events, at=at)
    except QueryError as error:
        if error.code == "query.forbidden":
            return {**answer, "visible": False, "reason": "not involved in the case then"}
        if error.code == "query.not_found":
            return {**answer, "visible": False, "reason": "the case was not submitted yet"}
        raise
    return {**answer, "visible": True, **seen}
