"""The district's results, summed from the KPI counters for one dimension and a span of months."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections.kpis import DIMENSIONS, KPIS, MONEY_METRICS
from projections.queries.access import Asker, invalid
from projections.view_reader import Range, ViewReader

MONTH_LENGTH = len("2026-03")
# The figures the summary derives as shares (0 to 1) of two counters, not counted themselves.
SHARE_METRICS = frozenset({"above_scale_coverage", "satisfaction_rate", "rectification_rate"})


def kpi_summary(reader: ViewReader, asker: Asker, *, by: str = "district",
                value: str | None = None, since_month: str | None = None,
                until_month: str | None = None) -> dict[str, Any]:
    """Every metric per value of `by` (e.g. per town, or per month), from month to month
    (inclusive). Aggregates only: every principal of the district may ask."""
    if by not in (*DIMENSIONS, "month"):
        raise invalid(f"by must be one of {', '.join(DIMENSIONS)} or month.", by=by)
    for name, month in (("since_month", since_month), ("until_month", until_month)):
        if month is not None and (len(month) != MONTH_LENGTH or month[4] != "-"):
            raise invalid(f"{name} must be a month, YYYY-MM.", **{name: month})
    per_month = by == "month"  # the district's counters, one group per month
    where: dict[str, Any] = {"dimension": "district" if per_month else by}
    if value is not None:
        where["month" if per_month else "value"] = value
    if since_month or until_month:
        where["month"] = Range(ge=since_month, le=until_month)
    rows, _ = reader.find(KPIS, where)
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        metrics = groups.setdefault(row["month"] if per_month else row["value"], {})
        if row["metric"] in MONEY_METRICS:
            metrics[row["metric"]] = Decimal(metrics.get(row["metric"], "0")) + \
                Decimal(row["amount"])
        else:
            metrics[row["metric"]] = metrics.get(row["metric"], 0) + row["amount"]
    for metrics in groups.values():
        for metric, amount in metrics.items():
            if isinstance(amount, Decimal):
                metrics[metric] = f"{amount:.2f}"
        registered = metrics.get("above_scale_registered", 0)
        if registered:
            metrics["above_scale_coverage"] = round(
                metrics.get("above_scale_helped", 0) / registered, 4)
        metrics.update(satisfaction_rates(metrics))
    return {"by": by, "since_month": since_month, "until_month": until_month,
            "groups": dict(sorted(groups.items()))}


def satisfaction_rates(metrics: dict[str, Any]) -> dict[str, float]:
    """好差评's published rates: the share of the ratings that were good, and of the bad ones
    that were rectified; a rating overturned on appeal counts in neither."""
    rates = {}
    overturned = metrics.get("ratings_overturned", 0)
    rated = metrics.get("ratings", 0) - overturned
    if rated > 0:
        rates["satisfaction_rate"] = round(metrics.get("ratings_good", 0) / rated, 4)
    bad = metrics.get("ratings_bad", 0) - overturned
    if bad > 0:
        rates["rectification_rate"] = round(metrics.get("ratings_rectified", 0) / bad, 4)
    return rates


def satisfaction_ranking(reader: ViewReader, asker: Asker, *, month: str,
                         of: str = "department") -> dict[str, Any]:
    """A month's departments or windows (`of`: department, station), best rated first: by
    satisfaction rate, then by rectification rate, then by how many ratings. Equal figures
    share a rank. Only those with a rating that month that still counts are ranked."""
    if of not in ("department", "station"):
        raise invalid("of must be department or station.", of=of)
    groups = kpi_summary(reader, asker, by=of, since_month=month, until_month=month)["groups"]
    rated = [(value, metrics) for value, metrics in groups.items()
             if metrics.get("ratings", 0) > metrics.get("ratings_overturned", 0)]

    def standing(item: tuple[str, dict[str, Any]]) -> tuple:
        metrics = item[1]
        return (metrics.get("satisfaction_rate", 0), metrics.get("rectification_rate", 1),
                metrics["ratings"])

    rated.sort(key=lambda item: (tuple(-x for x in standing(item)), item[0]))
    items, previous, rank = [], None, 0
    for position, item in enumerate(rated, start=1):
        if standing(item) != previous:
            rank, previous = position, standing(item)
        value, metrics = item
        items.append({"rank": rank, "value": value, "ratings": metrics["ratings"],
                      "good": metrics.get("ratings_good", 0),
                      "bad": metrics.get("ratings_bad", 0),
                      "rectified": metrics.get("ratings_rectified", 0),
                      "satisfaction_rate": metrics.get("satisfaction_rate"),
                      "rectification_rate": metrics.get("rectification_rate")})
    return {"month": month, "of": of, "items": items}
