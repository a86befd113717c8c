"""Whether the district's working calendar lists this year's public holidays. The State
Council publishes each year's in November or December, and the district adds them to its
reference data; a year it has not added counts weekends only, so a follow-up due "within five
working days" comes early across a holiday and escalates a department that was on time. The
operator hears of it at start-up and in the health check, from the first day of that year."""

from __future__ import annotations

from datetime import datetime, timezone

from domain.calendar import WorkingCalendar


def calendar_warning(calendar: WorkingCalendar, now: datetime | None = None) -> str | None:
    year = calendar.unlisted_year(now or datetime.now(timezone.utc))
    if year is None:
        return None
    return (f"the working calendar lists no public holidays for {year}: its follow-up due "
            f"dates count weekends only and come early across its holidays. Add the State "
            f"Council's {year} schedule to [calendar] of the reference data (the file "
            f"REFERENCE_DATA names, or domain/reference.toml), then restart onestop")
