"""Where a case stands, with its timeline; the cases one may list; a case in the past."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from projections.cases import CASES, STEPS, state_of
from projections.logged import Logged
from projections.queries.access import Asker, forbidden, instant, invalid, listing, not_found, page
from projections.timetravel import case_as_of
from projections.view_reader import Range, ViewReader

STATUSES = frozenset({"submitted", "accepted", "rejected", "withdrawn", "resolved", "reopened",
                      "closed"})


def visible_case(asker: Asker, case: dict[str, Any], steps: list[dict[str, Any]]
                 ) -> dict[str, Any]:
    """The case as `asker` may see it: all of it, as it stood when it was transferred away
    from `asker`, or nothing (query.forbidden)."""
    if asker.sees_all or asker.stands_in(case):
        return {"case": state_of(case), "timeline": steps}
    handed_over = case["former_leads"].get(asker.id)
    if asker.kind == "department" and handed_over is not None:
        return {"case": handed_over["state"],
                "timeline": [s for s in steps if s["version"] <= handed_over["version"]]}
    raise forbidden(f"case {case['case_id']}")


def get_case(reader: ViewReader, asker: Asker, case_id: str) -> dict[str, Any]:
    case = reader.get(CASES, str(case_id))
    if case is None:
        raise not_found("case", str(case_id))
    steps, _ = reader.find(STEPS, {"key": Range(gt=f"{case_id}:", lt=f"{case_id};")},
                           order_by=["key"])
    return visible_case(asker, case, steps)


def case_as_it_stood(asker: Asker, events: Iterable[Logged], version: int | None = None,
                     at: str | datetime | None = None) -> dict[str, Any]:
    """Time travel: the case's events (from the log) folded up to a version or a time."""
    if version is not None and (not isinstance(version, int) or version < 1):
        raise invalid("version must be 1 or more.", version=version)
    events = list(events)
    folded = case_as_of(events, version, instant(at, "at"))
    if folded is None:
        case_id = events[0].originator_id if events else "-"
        raise not_found("case at that version or time", case_id)
    return visible_case(asker, *folded)


def list_cases(reader: ViewReader, asker: Asker, *, status: str | list[str] | None = None,
               lead: str | None = None, station: str | None = None,
               submitted_since: str | datetime | None = None,
               submitted_before: str | datetime | None = None,
               limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """Cases, newest first. A department lists the cases it leads, a station those taken
    at its window (its worklist shows the ones it collaborates on)."""
    limit, offset = page(limit, offset)
    if asker.kind == "department" and lead not in (None, asker.id):
        raise forbidden(f"the cases led by {lead}")
    if asker.kind == "station" and station not in (None, asker.id):
        raise forbidden(f"the cases taken at {station}")
    if not asker.sees_all and asker.kind not in ("department", "station"):
        raise forbidden("lists of cases")
    where: dict[str, Any] = {}
    if asker.kind == "department":
        lead = asker.id
    if asker.kind == "station":
        station = asker.id
    statuses = [status] if isinstance(status, str) else status
    if statuses is not None:
        if not set(statuses) <= STATUSES:
            raise invalid(f"status must be among {sorted(STATUSES)}.", status=status)
        where["status"] = statuses
    if lead is not None:
        where["lead"] = lead
    if station is not None:
        where["station"] = station
    since, before = instant(submitted_since, "submitted_since"), instant(
        submitted_before, "submitted_before")
    if since or before:
        where["submitted_utc"] = Range(ge=since, lt=before)
    rows, total = reader.find(CASES, where, ["-submitted_utc"], limit, offset)
    return listing([state_of(row) for row in rows], total, limit, offset)
