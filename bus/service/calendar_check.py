"""Whether the district's working calendar lists the years it is counting in. The State
Council publishes each year's holidays in November or December, and the district adds them to
its reference data; over a year it has not added, a follow-up due "within five working days"
is counted over weekends only, comes early across a holiday, and escalates a department that
was on time.

The operator hears of it twice: `onestop up` says so when it starts in such a year, and the
health check names the years of open follow-ups that fall in one (a rating at the end of
December is due in January). The second is advice, not a fault: the service is whole, and
the status stays as the parts make it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from domain.calendar import CHINA, WorkingCalendar

WHAT_TO_DO = ("Add the State Council's {year} schedule to [calendar] of the reference data "
              "(the file REFERENCE_DATA names, or domain/reference.toml), then restart onestop")


def this_year_unlisted(calendar: WorkingCalendar, now: datetime | None = None) -> str | None:
    """Said at start-up: the year it is in China is not in the calendar."""
    year = calendar.unlisted_year(now or datetime.now(timezone.utc))
    if year is None:
        return None
    return (f"the working calendar lists no public holidays for {year}: follow-ups due in it "
            f"are counted over weekends only. " + WHAT_TO_DO.format(year=year))


def follow_ups_in_unlisted_years(calendar: WorkingCalendar,
                                 follow_ups_due: Iterable[datetime]) -> list[str]:
    """For the health check: one line for each year that open follow-ups are due in and the
    calendar does not list."""
    due_in: dict[int, int] = {}
    for due in follow_ups_due:
        year = due.astimezone(CHINA).year
        if year not in calendar.years:
            due_in[year] = due_in.get(year, 0) + 1
    return [f"{count} open follow-up(s) of bad ratings are due in {year}, which the working "
            f"calendar does not list: their due dates were counted over weekends only and may "
            f"come early across its holidays (those given keep them). "
            + WHAT_TO_DO.format(year=year)
            for year, count in sorted(due_in.items())]
