"""Experts' schedules and workload, instruments' bookings and utilisation, over a period.

Hours are counted within the period asked for: a booking that straddles its edge counts only
the part inside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections import equipment, experts
from projections.queries.access import Asker, instant, invalid, listing, not_found, page
from projections.times import hours_between
from projections.view_reader import Range, ViewReader

RESOURCE_KINDS = ("department",)  # besides those who see all: who books the shared libraries
KINDS = {"expert": (experts.EXPERTS, experts.BOOKINGS, "expert_id"),
         "equipment": (equipment.EQUIPMENT, equipment.BOOKINGS, "equipment_id")}


def _period(since: str | datetime, until: str | datetime) -> tuple[str, str]:
    start, end = instant(since, "since"), instant(until, "until")
    if start is None or end is None or end <= start:
        raise invalid("A period needs since and until, until after since.")
    return start, end


def _overlapping(start: str, end: str) -> dict[str, Any]:
    return {"start_utc": Range(lt=end), "end_utc": Range(gt=start), "status": "booked"}


def schedule(reader: ViewReader, asker: Asker, kind: str, resource_id: str,
             since: str | datetime, until: str | datetime, *, include_released: bool = False,
             limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """One expert's (kind "expert") or instrument's ("equipment") bookings in a period."""
    limits = page(limit, offset)
    asker.require(*RESOURCE_KINDS, what=f"{kind} schedules")
    resources, bookings, id_field = KINDS[kind]
    start, end = _period(since, until)
    resource = reader.get(resources, str(resource_id))
    if resource is None:
        raise not_found(kind, str(resource_id))
    where = {id_field: str(resource_id), **_overlapping(start, end)}
    if include_released:
        del where["status"]
    rows, total = reader.find(bookings, where, ["start_utc"], *limits)
    seen = [_as_seen_by(asker, row) for row in rows]
    return {kind: resource, "bookings": listing(seen, total, *limits)}


# What a booking says about the case it serves: for the one who booked it (and those who see
# all). Anyone else sees when the resource is taken, not whose case takes it.
PRIVATE = ("case_id", "booked_by", "released_by")


def _as_seen_by(asker: Asker, booking: dict[str, Any]) -> dict[str, Any]:
    booker = (booking.get("booked_by") or {}).get("principal")
    if asker.sees_all or booker == asker.id:
        return booking
    return {**booking, **dict.fromkeys(PRIVATE), "private": True}


def load(reader: ViewReader, asker: Asker, kind: str, since: str | datetime,
         until: str | datetime) -> dict[str, Any]:
    """Every expert's workload, or every instrument's utilisation, in a period: booked
    hours inside it and their share of the period, busiest first."""
    asker.require(*RESOURCE_KINDS, what=f"{kind} workloads")
    resources, bookings, id_field = KINDS[kind]
    start, end = _period(since, until)
    hours: dict[str, float] = {}
    counts: dict[str, int] = {}
    for booking in reader.find(bookings, _overlapping(start, end))[0]:
        inside = hours_between(max(start, booking["start_utc"]), min(end, booking["end_utc"]))
        hours[booking[id_field]] = hours.get(booking[id_field], 0.0) + inside
        counts[booking[id_field]] = counts.get(booking[id_field], 0) + 1
    period_hours = hours_between(start, end)
    items = [{id_field: resource[id_field], "name": resource["name"],
              "bookings": counts.get(resource[id_field], 0),
              "booked_hours": round(hours.get(resource[id_field], 0.0), 4),
              "utilisation": round(hours.get(resource[id_field], 0.0) / period_hours, 6),
              **({"visits": resource["visits"], "active": bool(resource["active"])}
                 if kind == "expert" else {"in_service": bool(resource["in_service"])})}
             for resource in reader.find(resources)[0]]
    items.sort(key=lambda item: (-item["booked_hours"], item["name"], item[id_field]))
    return {"since": start, "until": end, "period_hours": period_hours, "items": items}


def expert_schedule(reader: ViewReader, asker: Asker, expert_id: str, since: str | datetime,
                    until: str | datetime, **options: Any) -> dict[str, Any]:
    return schedule(reader, asker, "expert", expert_id, since, until, **options)


def equipment_bookings(reader: ViewReader, asker: Asker, equipment_id: str,
                       since: str | datetime, until: str | datetime,
                       **options: Any) -> dict[str, Any]:
    return schedule(reader, asker, "equipment", equipment_id, since, until, **options)


def expert_workload(reader: ViewReader, asker: Asker, since: str | datetime,
                    until: str | datetime) -> dict[str, Any]:
    return load(reader, asker, "expert", since, until)


def equipment_utilisation(reader: ViewReader, asker: Asker, since: str | datetime,
                          until: str | datetime) -> dict[str, Any]:
    return load(reader, asker, "equipment", since, until)
