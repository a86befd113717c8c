"""The ranges every time and day the service accepts lies in, so that every value the log
holds is one every projection can handle.

Two lines. The type (`Moment`, `Day`) takes a time or a day as ISO 8601 text only (never a
number of seconds) and only within 2000-2099: no value near the ends of what a computer's
date types hold, where converting an offset to UTC overflows (9999-12-31T23:00-05:00 once
stopped two views for good). The domain then holds each time to a horizon around the moment
of the command that gives it (`require_within`): an appointment is at most two years ahead, a
visit is not in the future, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from domain.base import CommandContext
from domain.errors import refuse

FIRST_YEAR, LAST_YEAR = 2000, 2099


def _text_not_number(value: Any) -> Any:
    if isinstance(value, (int, float)):
        raise ValueError("a time or day is ISO 8601 text (2026-03-09T09:00:00+08:00), "
                         "not a number")
    return value


def _in_years(value: datetime | date) -> datetime | date:
    # The year as written, before any conversion to UTC: the conversion is what overflows.
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must lie in the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_text_not_number), AfterValidator(_in_years),
                   Field(description=f"ISO 8601 text with its offset, in the years "
                                     f"{FIRST_YEAR}-{LAST_YEAR} (a command's times must also "
                                     "lie near the moment it is sent: <record>.out_of_range)")]
Day = Annotated[date, BeforeValidator(_text_not_number), AfterValidator(_in_years),
                Field(description=f"YYYY-MM-DD, in the years {FIRST_YEAR}-{LAST_YEAR}")]

# A month as the KPIs count them; the pattern is the whole rule, so a client can check it too.
MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"
Month = Annotated[str, Field(pattern=MONTH_PATTERN,
                             description=f"A month, YYYY-MM, in the years {FIRST_YEAR}-"
                                         f"{LAST_YEAR} (e.g. 2022-03)")]

DAY = timedelta(days=1)
YEAR = timedelta(days=365)


@dataclass(frozen=True)
class Horizon:
    """How far before and after the command's own time a time it gives may lie."""

    before: timedelta
    after: timedelta


AHEAD = Horizon(before=30 * DAY, after=2 * YEAR)  # appointments, bookings, mediations
DONE = Horizon(before=2 * YEAR, after=DAY)  # what happened: a visit
PLANNED = Horizon(before=30 * DAY, after=10 * YEAR)  # a plan's target day
VALIDITY = Horizon(before=10 * YEAR, after=20 * YEAR)  # a calibration valid until


def require_within(ctx: CommandContext, value: datetime | date, field: str, record: str,
                   horizon: Horizon) -> None:
    """`<record>.out_of_range` unless `value` lies within `horizon` of the command's time."""
    now: datetime | date = ctx.at if isinstance(value, datetime) else ctx.at.date()
    earliest, latest = now - horizon.before, now + horizon.after
    if not earliest <= value <= latest:
        raise refuse(f"{record}.out_of_range",
                     f"{field} must lie between {earliest.isoformat()} and "
                     f"{latest.isoformat()}.", field=field, value=value.isoformat())
