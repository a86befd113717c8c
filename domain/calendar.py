"""The district's working days, as reference data: weekends and the State Council's public
holidays off, the weekend days it makes working days on. A follow-up due "within five working
days" is counted on it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from pydantic import AwareDatetime, Field, model_validator

from domain.base import Value

SATURDAY = 5
# The State Council's days are China's: one offset all year round (no daylight saving).
CHINA = timezone(timedelta(hours=8))


class WorkingCalendar(Value):
    """`holidays`: weekdays off; `workdays`: weekend days worked instead (调休). A year the
    file does not list counts weekends only."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    # How long the department at fault has to rectify what a bad rating found, and tell the
    # enterprise (整改反馈), counted from the rating.
    rectify_within_working_days: int = Field(5, ge=1, le=60)

    @model_validator(mode="after")
    def _each_day_said_once_and_worked_days_are_weekend_days(self) -> WorkingCalendar:
        # Typed by hand from the yearly notice: a slip would move due dates without a word.
        if both := sorted(self.holidays & self.workdays):
            raise ValueError(f"listed as a holiday and as a working day: {_days(both)}")
        if weekdays := sorted(day for day in self.workdays if day.weekday() < SATURDAY):
            raise ValueError(f"workdays are weekend days worked instead (调休); these are "
                             f"weekdays: {_days(weekdays)}")
        return self

    @property
    def years(self) -> frozenset[int]:
        """The years whose public holidays it lists."""
        return frozenset(day.year for day in self.holidays)

    def unlisted_year(self, now: AwareDatetime) -> int | None:
        """`now`'s year in China if the calendar does not list its holidays: due dates in it
        are counted over weekends only, and come early across its holidays."""
        year = now.astimezone(CHINA).year
        return None if year in self.years else year

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


def _days(days: list[date]) -> str:
    return ", ".join(day.isoformat() for day in days)
