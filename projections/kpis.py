"""The district's results as key performance indicators, from the log.

Each fact (a problem collected, a problem solved, money invested, an expert used for the
first time, ...) adds to one counter per dimension it can be reported by — the district as a
whole, the department, the enterprise's town and industry, the channel it came in by — and
per month. A query sums the counters it is asked for. What a fact needs to know about its
case or enterprise (town, industry, lead, channel) is kept in small state documents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections.logged import Logged
from projections.view import Projection, Table, Views, handles

KPIS = "kpis"
KPI_STATE = "kpi_state"
# `station`: the window or town post that took a case, for the ratings (好差评).
DIMENSIONS = ("district", "department", "town", "channel", "industry", "station")
ONLINE_CHANNELS = frozenset({"online_platform"})
TRIAGE = "samr"  # who holds a case before it is routed
# Money counted by programme as well as in total: `cases_<metric>` for what the service cases'
# resolutions record, `projects_<metric>` for the improvement projects', and `<metric>` both.
PROGRAMME_MONEY = ("money_invested_yuan", "savings_per_year_yuan", "expected_benefit_yuan",
                   "realised_benefit_yuan")
# Metrics whose amounts are money (decimal yuan, summed exactly); the rest are counts.
MONEY_METRICS = frozenset({*PROGRAMME_MONEY, "losses_recovered_yuan", "compensation_yuan",
                           *(f"{programme}_{metric}" for programme in ("cases", "projects")
                             for metric in PROGRAMME_MONEY)})


def counter_key(metric: str, dimension: str, value: str, month: str) -> str:
    return f"{metric}|{dimension}|{value}|{month}"


class CaseKpis(Projection):
    name = "kpis"
    rebuild_cost = 5.4
    # 2: the shared libraries' sizes, buyers' opinions, money by programme, ratings (好差评).
    version = 2
    tables = (Table(KPIS, {"metric": "text", "dimension": "text", "value": "text",
                           "month": "text"},
                    indexes=(("dimension", "metric", "month"),)),
              Table(KPI_STATE))

    # Facts.

    def add(self, views: Views, metric: str, amount: int | str, at: str,
            **dimensions: str | None) -> None:
        month = at[:7]
        values = {"district": "all", **dimensions}
        for dimension, value in values.items():
            if value is None:
                continue
            key = counter_key(metric, dimension, value, month)
            counter = views.get(KPIS, key) or {"metric": metric, "dimension": dimension,
                                                "value": value, "month": month,
                                                "amount": "0" if metric in MONEY_METRICS else 0}
            if metric in MONEY_METRICS:
                counter["amount"] = str(Decimal(counter["amount"]) + Decimal(str(amount)))
            else:
                counter["amount"] += amount
            views.put(KPIS, key, counter)

    def add_money(self, views: Views, programme: str, metric: str, amount: str, at: str,
                  **dimensions: str | None) -> None:
        """Money for the district's total and for its programme (`cases`, `projects`)."""
        self.add(views, metric, amount, at, **dimensions)
        self.add(views, f"{programme}_{metric}", amount, at, **dimensions)

    def _state(self, views: Views, key: str) -> dict[str, Any]:
        return views.get(KPI_STATE, key) or {}

    def _first_time(self, views: Views, key: str) -> bool:
        """True once per key: for counting distinct experts, instruments, enterprises."""
        if views.get(KPI_STATE, key) is not None:
            return False
        views.put(KPI_STATE, key, {"seen": True})
        return True

    def _where(self, views: Views, case_id: str) -> dict[str, str | None]:
        case = self._state(views, f"case:{case_id}")
        enterprise = self._state(views, f"enterprise:{case.get('enterprise_id')}")
        return {"department": case.get("lead") or TRIAGE, "channel": case.get("channel"),
                "town": enterprise.get("town"), "industry": enterprise.get("industry")}

    # Enterprises.

    @handles("enterprise.registered", "enterprise.profile_changed")
    def _enterprise(self, event: Logged, views: Views) -> None:
        key = f"enterprise:{event.originator_id}"
        enterprise = self._state(views, key)
        registered = event.topic == "enterprise.registered"
        enterprise.update({field: event.data[field] for field in ("town", "industry", "scale")
                           if event.data.get(field) is not None})
        views.put(KPI_STATE, key, enterprise)
        if registered:
            where = {"town": enterprise["town"], "industry": enterprise["industry"]}
            self.add(views, "enterprises_registered", 1, event.data["timestamp"], **where)
            if enterprise["scale"] == "above_scale":
                self.add(views, "above_scale_registered", 1, event.data["timestamp"], **where)

    # The shared libraries (专家库, 设备库): their sizes.

    @handles("expert.registered", "equipment.registered")
    def _library(self, event: Logged, views: Views) -> None:
        metric = ("experts_registered" if event.topic == "expert.registered"
                  else "instruments_registered")
        self.add(views, metric, 1, event.data["timestamp"],
                 department=event.data["actor"]["principal"])

    # Cases.

    @handles("case.submitted")
    def _submitted(self, event: Logged, views: Views) -> None:
        data = event.data
        views.put(KPI_STATE, f"case:{event.originator_id}",
                  {"enterprise_id": data["enterprise_id"], "channel": data["channel"],
                   "lead": None})
        where = self._where(views, event.originator_id)
        self.add(views, "problems_collected", 1, data["timestamp"], **where)
        online = data["channel"] in ONLINE_CHANNELS
        self.add(views, "services_online" if online else "services_offline", 1,
                 data["timestamp"], **where)

    @handles("case.accepted", "case.transferred")
    def _routed(self, event: Logged, views: Views) -> None:
        key = f"case:{event.originator_id}"
        case = self._state(views, key)
        case["lead"] = event.data.get("lead_department") or event.data.get("to_department")
        views.put(KPI_STATE, key, case)

    @handles("case.resolved")
    def _resolved(self, event: Logged, views: Views) -> None:
        # A reopened case resolved again is one problem solved; its money figures are the
        # latest ones, so only the difference from the last resolution is added.
        data, at = event.data, event.data["timestamp"]
        key = f"case:{event.originator_id}"
        case = self._state(views, key)
        where = self._where(views, event.originator_id)
        before = case.get("resolution")
        if before is None:
            self.add(views, "problems_solved", 1, at, **where)
        figures = {"money_invested_yuan": data["invested_yuan"],
                   "savings_per_year_yuan": data["saved_per_year_yuan"],
                   "expected_benefit_yuan": data["expected_benefit_yuan"]}
        for metric, amount in figures.items():
            change = Decimal(amount) - Decimal((before or {}).get(metric, "0"))
            if change:
                self.add_money(views, "cases", metric, str(change), at, **where)
        case["resolution"] = figures
        views.put(KPI_STATE, key, case)
        enterprise_id = case.get("enterprise_id")
        if self._first_time(views, f"helped:{enterprise_id}"):
            self.add(views, "enterprises_helped", 1, at, **where)
            scale = self._state(views, f"enterprise:{enterprise_id}").get("scale")
            if scale == "above_scale":
                self.add(views, "above_scale_helped", 1, at, **where)

    @handles("case.expert_assigned", "case.equipment_booked")
    def _resource_used(self, event: Logged, views: Views) -> None:
        kind = "experts" if event.topic == "case.expert_assigned" else "instruments"
        resource = event.data["expert_id" if kind == "experts" else "equipment_id"]
        where, at = self._where(views, event.originator_id), event.data["timestamp"]
        self.add(views, f"{kind}_booked", 1, at, **where)
        if self._first_time(views, f"used:{kind}:{resource}"):
            self.add(views, f"{kind}_used", 1, at, **where)

