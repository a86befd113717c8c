"""好差评 on the KPI counters: each rating, in the month it was given, for the department it
is for and the window that took the case, with what became of the bad ones (followed up,
rectified on time or late, appealed, overturned, escalated). `kpi_summary` turns them into
the satisfaction and rectification rates, and `satisfaction_ranking` ranks a month."""

from __future__ import annotations

from typing import Any

from projections.kpis import KPI_STATE, CaseKpis
from projections.logged import Logged
from projections.view import Views, handles

GOOD = frozenset({"very_satisfied", "satisfied", "basically_satisfied"})


class SatisfactionKpis(CaseKpis):
    def _rating(self, views: Views, event: Logged) -> dict[str, Any]:
        return self._state(views, f"evaluation:{event.originator_id}")

    def _count(self, views: Views, metric: str, rating: dict[str, Any]) -> None:
        """Counted in the month of the rating, so that a month's rates are its ratings'."""
        self.add(views, metric, 1, rating["at"], **rating["where"])

    @handles("evaluation.rated")
    def _rated(self, event: Logged, views: Views) -> None:
        data = event.data
        where = self._where(views, data["case_id"])
        where.update(department=data["department"], station=data.get("station"))
        rating = {"at": data["timestamp"], "where": where}
        views.put(KPI_STATE, f"evaluation:{event.originator_id}", rating)
        self._count(views, "ratings", rating)
        self._count(views, f"ratings_{data['level']}", rating)
        # Good or bad, whatever the level (`ratings_<level>` counts each of the five).
        self._count(views, "ratings_good" if data["level"] in GOOD else "ratings_bad", rating)

    @handles("evaluation.followed_up")
    def _followed_up(self, event: Logged, views: Views) -> None:
        self._count(views, "ratings_followed_up", self._rating(views, event))

    @handles("evaluation.rectification_reported")
    def _rectified(self, event: Logged, views: Views) -> None:
        rating = self._rating(views, event)
        self._count(views, "ratings_rectified", rating)
        if event.data["on_time"]:
            self._count(views, "ratings_rectified_on_time", rating)

    @handles("evaluation.appealed")
    def _appealed(self, event: Logged, views: Views) -> None:
        self._count(views, "ratings_appealed", self._rating(views, event))

    @handles("evaluation.reviewed")
    def _reviewed(self, event: Logged, views: Views) -> None:
        if not event.data["upheld"]:
            self._count(views, "ratings_overturned", self._rating(views, event))

    @handles("evaluation.escalated")
    def _escalated(self, event: Logged, views: Views) -> None:
        if event.data["level"] == 1:
            self._count(views, "follow_ups_overdue", self._rating(views, event))
