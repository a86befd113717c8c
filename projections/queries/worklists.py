"""A department's worklist: what is on its desk, due and overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.queries.access import Asker, forbidden, instant, invalid, listing, page
from projections.view_reader import Range, ViewReader
from projections.worklists import ENTRIES, ON_DESK, OPEN

ROLES = frozenset({"lead", "collaborator", "triage"})
DESK = ON_DESK | {"submitted"}


def list_worklist(reader: ViewReader, asker: Asker, department: str, *,
                  status: str | list[str] | None = None, role: str | None = None,
                  due_before: str | datetime | None = None,
                  overdue_as_of: str | datetime | None = None,
                  limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """Entries soonest due first. `overdue_as_of`: only open cases whose due time has passed
    at that instant (the caller's clock: views never read one)."""
    limit, offset = page(limit, offset)
    if not asker.sees_all and not (asker.kind == "department" and asker.id == department):
        raise forbidden(f"the worklist of {department}")
    where: dict[str, Any] = {"department": department}
    statuses = {status} if isinstance(status, str) else set(status or ())
    if not statuses <= DESK:
        raise invalid(f"status must be among {sorted(DESK)}.", status=status)
    if role is not None:
        if role not in ROLES:
            raise invalid(f"role must be one of {sorted(ROLES)}.", role=role)
        where["role"] = role
    due_limits = [instant(due_before, "due_before")]
    overdue_at = instant(overdue_as_of, "overdue_as_of")
    if overdue_at is not None:
        statuses = (statuses or OPEN) & OPEN  # a resolved case is no longer overdue
        due_limits.append(overdue_at)
    if status is not None or overdue_at is not None:
        where["status"] = sorted(statuses)
    if any(due_limits):
        where["due_utc"] = Range(lt=min(filter(None, due_limits)))
    rows, total = reader.find(ENTRIES, where, ["due_utc"], limit, offset)
    return listing(rows, total, limit, offset)
