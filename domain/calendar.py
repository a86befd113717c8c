"""The district's working days, as reference data: weekends and the State Council's public
holidays off, the weekend days it makes working days on. A follow-up due "within five working
days" is counted on it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, Field

from domain.base import Value

SATURDAY = 5


class WorkingCalendar(Value):
    """`holidays`: weekdays off; `workdays`: weekend days worked instead (调休). A year the
    file does not list counts weekends only."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    # How long the department at fault has to rectify what a bad rating found, and tell the
    # enterprise (整改反馈), counted from the rating.
    rectify_within_working_days: int = Field(5, ge=1, le=60)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < SATURDAY and day not in self.holidays

    def after_working_days(self, start: AwareDatetime, days: int) -> datetime:
        """The end of the `days`-th working day after `start`'s day, in `start`'s offset:
        a rating on a Friday with five working days is due by the next Friday's end."""
        day = start.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            counted += self.is_working_day(day)
        end = datetime.combine(day, datetime.max.time().replace(microsecond=0))
        return end.replace(tzinfo=start.tzinfo)
