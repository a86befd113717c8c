"""A case as it stood at a version or a time, folded from its own events in memory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from projections.cases import CASES, STEPS, CaseView
from projections.logged import Logged
from projections.memory import InMemoryViews
from projections.times import utc


def fold_ends_within(events: Iterable[Logged], version: int | None = None,
                     at: str | datetime | None = None) -> bool:
    """Whether `case_as_of` of these events, the first of a case's, stops before their end or
    at it: then no later event of the case can change what it folds."""
    until = utc(at)
    for event in events:
        if version is not None and event.version >= version:
            return True
        if until is not None and utc(event.data["timestamp"]) > until:
            return True
    return False


def case_as_of(events: Iterable[Logged], version: int | None = None,
               at: str | datetime | None = None) -> tuple[dict[str, Any], list[dict]] | None:
    """The case document and its timeline after the events up to `version` and up to `at`
    (the first event recorded after `at` ends the fold); None if none of them is left."""
    until = utc(at)
    views, projection = InMemoryViews(), CaseView()
    case_id = None
    for event in sorted(events, key=lambda e: e.version):
        if version is not None and event.version > version:
            break
        if until is not None and utc(event.data["timestamp"]) > until:
            break
        projection.apply(event, views)
        case_id = event.originator_id
    case = views.get(CASES, case_id) if case_id else None
    if case is None:
        return None
    steps = [doc for key, doc in sorted(views.rows(STEPS).items())]
    return case, steps
