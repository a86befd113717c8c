"""Instants as sortable text.

Events carry local times with their offset (`2026-03-02T09:00:00+08:00`). Compared as text
those sort wrongly across offsets, so indexed time columns hold UTC in one fixed width, with
microseconds, and `YYYY-MM-DD` days keep the event's own (district) date.
"""

from __future__ import annotations

from datetime import datetime, timezone

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# "<local date and hour><offset>" -> that hour in UTC, "YYYY-MM-DDTHH": events within an hour
# share it, so most instants are converted by slicing (a rebuild converts one for every event).
_UTC_HOURS: dict[str, str] = {}
_UTC_HOURS_KEPT = 4096


def utc(instant: str | datetime | None) -> str | None:
    if instant is None:
        return None
    if isinstance(instant, str):
        fast = _utc_by_the_hour(instant)
        if fast is not None:
            return fast
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


def _utc_by_the_hour(instant: str) -> str | None:
    """`utc` of "YYYY-MM-DDTHH:MM:SS[.fraction]+HH:00" (a whole-hour offset), or None for any
    other shape: minutes and seconds are the same in UTC, only the date and hour move."""
    if len(instant) < 25 or instant[10] != "T" or instant[-6] not in "+-" or \
            instant[-3:] != ":00" or instant[13] != ":" or instant[16] != ":":
        return None
    fraction = instant[19:-6]
    if fraction:
        if fraction[0] != "." or not 1 < len(fraction) <= 7 or not fraction[1:].isdigit():
            return None
        micros = (fraction[1:] + "00000")[:6]
    else:
        micros = "000000"
    if not (instant[14:16] + instant[17:19]).isdigit():
        return None
    key = instant[:13] + instant[-6:]
    hour = _UTC_HOURS.get(key)
    if hour is None:
        if len(_UTC_HOURS) >= _UTC_HOURS_KEPT:
            _UTC_HOURS.clear()
        hour = _UTC_HOURS[key] = datetime.fromisoformat(
            f"{instant[:13]}:00:00{instant[-6:]}").astimezone(timezone.utc).strftime(
            "%Y-%m-%dT%H")
    return f"{hour}{instant[13:19]}.{micros}Z"
