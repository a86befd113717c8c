"""Instants as sortable UTC text: the quick way by the hour gives what datetime gives."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from projections.times import utc


def by_datetime(instant: str) -> str:
    moment = datetime.fromisoformat(instant).astimezone(timezone.utc)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def test_any_instant_converts_as_datetime_converts_it():
    chosen = random.Random(6)
    start = datetime(2025, 12, 31, 20, tzinfo=timezone.utc)
    for _ in range(5000):
        offset = timezone(timedelta(hours=chosen.randint(-12, 14)))
        moment = (start + timedelta(seconds=chosen.randint(0, 10 ** 8),
                                    microseconds=chosen.choice((0, 1, 123000, 999999))))
        text = moment.astimezone(offset).isoformat(
            timespec=chosen.choice(("seconds", "milliseconds", "microseconds")))
        assert utc(text) == by_datetime(text), text


@pytest.mark.parametrize("instant", [
    "2026-03-02T09:00:00+08:00", "2026-01-01T00:30:00+08:00", "2024-02-29T23:59:59.5-05:00",
    "2026-03-02T09:00:00+05:30", "2026-03-02T09:00:00Z", "2026-03-02T09:00:00.1234567+08:00",
])
def test_edges_and_other_shapes(instant):
    assert utc(instant) == by_datetime(instant)


def test_an_instant_without_a_zone_is_refused():
    with pytest.raises(ValueError):
        utc("2026-03-02T09:00:00")
