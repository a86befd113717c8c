"""The district's working calendar: the State Council's holidays and the weekend days worked
instead, as typed into the reference data each year; a slip in typing is refused by name, and
a year not typed in yet is told apart."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.calendar import CHINA, WorkingCalendar
from domain.reference import ReferenceDataError, load_reference

SHIPPED = Path(__file__).parents[2] / "domain" / "reference.toml"


def test_2026_is_counted_as_the_state_council_published_it():
    calendar = load_reference().calendar
    national_day = [date(2026, 10, day) for day in (1, 2, 5, 6, 7)]
    spring_festival = [date(2026, 2, day) for day in (16, 17, 18, 19, 20, 23)]
    assert not any(map(calendar.is_working_day, national_day + spring_festival))
    worked_instead = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                      date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    assert all(map(calendar.is_working_day, worked_instead))
    # Rated the day before National Day: five working days are the 8th, 9th, the Saturday
    # worked (10th), 12th and 13th.
    rated = datetime(2026, 9, 30, 15, 0, tzinfo=CHINA)
    assert calendar.after_working_days(rated, 5) == datetime(2026, 10, 13, 23, 59, 59,
                                                             tzinfo=CHINA)


def test_every_shipped_holiday_is_a_weekday_and_every_year_is_whole():
    calendar = load_reference().calendar
    assert all(day.weekday() < 5 for day in calendar.holidays)
    for year in calendar.years:  # New Year's Day, Spring Festival, ..., National Day
        assert len([day for day in calendar.holidays if day.year == year]) >= 13, year


@pytest.mark.parametrize(("edit", "refused"), [
    # A day both off and worked.
    (("    2026-01-04, 2026-02-14,", "    2026-01-02, 2026-02-14,"),
     r"calendar: .*listed as a holiday and as a working day: 2026-01-02"),
    # A weekday "worked instead": a slip of a day.
    (("    2026-01-04, 2026-02-14,", "    2026-01-05, 2026-02-14,"),
     r"calendar: .*these are weekdays: 2026-01-05"),
])
def test_a_slip_in_typing_the_calendar_is_refused_naming_the_day(tmp_path, edit, refused):
    edited = tmp_path / "reference.toml"
    text = SHIPPED.read_text()
    assert edit[0] in text
    edited.write_text(text.replace(*edit))
    with pytest.raises(ReferenceDataError, match=refused):
        load_reference(edited)


def test_a_year_not_listed_is_told_from_the_first_moment_of_it_in_china():
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 10, 1)}))
    new_year_in_china = datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)
    assert calendar.unlisted_year(new_year_in_china - timedelta(seconds=1)) is None
    assert calendar.unlisted_year(new_year_in_china) == 2027
    assert WorkingCalendar().unlisted_year(new_year_in_china) == 2027
