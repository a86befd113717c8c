"""Intake counts: how many cases came in, grouped as asked (by day or month, channel,
station, service type). A station sees its own window's counts only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from projections.intake import INTAKE
from projections.queries.access import Asker, day, forbidden, invalid
from projections.view_reader import Range, ViewReader

GROUPS = ("day", "month", "channel", "station", "service_type")


def intake_counts(reader: ViewReader, asker: Asker, *, since: str | date | None = None,
                  until: str | date | None = None, channel: str | None = None,
                  station: str | None = None, service_type: str | None = None,
                  group_by: Sequence[str] = ("channel", "station")) -> dict[str, Any]:
    """Cases submitted from day `since` to day `until` (both included, the district's days)."""
    if asker.kind == "station":
        if station not in (None, asker.id):
            raise forbidden(f"the intake of {station}")
        station = asker.id
    group_by = tuple(group_by)
    if not set(group_by) <= set(GROUPS) or len(set(group_by)) != len(group_by):
        raise invalid(f"group_by takes distinct fields among {list(GROUPS)}.",
                      group_by=list(group_by))
    where: dict[str, Any] = {key: value for key, value in (
        ("channel", channel), ("station", station), ("service_type", service_type))
        if value is not None}
    first, last = day(since, "since"), day(until, "until")
    if first or last:
        where["day"] = Range(ge=first, le=last)
    groups: dict[tuple, int] = {}
    for counter in reader.find(INTAKE, where)[0]:
        group = tuple(counter[field] for field in group_by)
        groups[group] = groups.get(group, 0) + counter["submitted"]
    items = [{**dict(zip(group_by, group)), "submitted": count}
             for group, count in sorted(groups.items())]
    return {"groups": items, "total": sum(groups.values())}
