"""What auditors ask: the accepted changes, and what a department could see of a case then.

Only those who see everything (the lead bureau, auditors, the operator) may ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from projections.audit import CHANGES, CONCERNS, as_seen_by, change_key
from projections.logged import Logged
from projections.queries.access import Asker, QueryError, instant, listing, not_found, page
from projections.queries.cases import case_as_it_stood
from projections.reader import Range, ViewReader

WHAT = "the audit trail"


def audit_changes(reader: ViewReader, asker: Asker, *, department: str | None = None,
                  aggregate_id: str | None = None, principal: str | None = None,
                  since: str | datetime | None = None, until: str | datetime | None = None,
                  limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """Changes in log order: a department's (every change that concerned it), or else each
    change once; `since` included, `until` not."""
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
        return _department_trail(reader, principal, where, limit, offset)
    if department is None:
        # Each change once, as its actor's. Unfiltered, the key order is the log order.
        entries, total = reader.find(CHANGES, where, ["position"] if where else [], limit,
                                     offset)
        return listing([as_seen_by(entry, entry["principal"]) for entry in entries], total,
                       limit, offset)
    return _department_trail(reader, department, where, limit, offset)


def _department_trail(reader: ViewReader, department: str, where: dict[str, Any],
                      limit: int, offset: int) -> dict[str, Any]:
    """The department's rows give the page; the changes come by key."""
    concerns, total = reader.find(CONCERNS, {"department": department, **where},
                                  ["position"], limit, offset)
    keys = [change_key(row["position"]) for row in concerns]
    entries, _ = reader.find(CHANGES, {"key": keys}) if keys else ([], 0)
    by_key = {change_key(entry["position"]): entry for entry in entries}
    return listing([as_seen_by(by_key[key], department) for key in keys], total, limit, offset)


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
