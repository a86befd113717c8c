"""Instants as sortable text.

Events carry local times with their offset (`2026-03-02T09:00:00+08:00`). Compared as text
those sort wrongly across offsets, so indexed time columns hold UTC in one fixed width, with
microseconds, and `YYYY-MM-DD` days keep the event's own (district) date.
"""

from __future__ import annotations

from datetime import datetime, timezone

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc(instant: str | datetime | None) -> str | None:
    if instant is None:
        return None
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        raise ValueError(f"{instant.isoformat()} has no time zone")
    # isoformat with a fixed timespec is the fixed width of FORMAT, at a fraction of the cost.
    return instant.astimezone(timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"


def local_day(instant: str) -> str:
    """The calendar day of an event's own ISO timestamp, in the offset it was recorded in."""
    return instant[:10]


def hours_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600
