"""The programmes' results on the KPI counters: campaigns, disputes, recalls, improvement
projects; with the case facts of `CaseKpis` and the ratings of `SatisfactionKpis`, the one KPI
projection."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections.kpis import KPI_STATE, TRIAGE
from projections.logged import Logged
from projections.satisfaction_kpis import SatisfactionKpis
from projections.view import Views, handles


class Kpis(SatisfactionKpis):
    """The case facts, 好差评 and the programmes' results on the same counters: campaigns,
    disputes, recalls and improvement projects."""

    def _enterprise_where(self, views: Views, enterprise_id: str | None,
                          department: str | None) -> dict[str, str | None]:
        enterprise = self._state(views, f"enterprise:{enterprise_id}")
        return {"department": department or TRIAGE, "town": enterprise.get("town"),
                "industry": enterprise.get("industry")}

    def _programme(self, views: Views, event: Logged, **fields: Any) -> dict[str, Any]:
        """The state of the programme this event belongs to, updated with `fields`."""
        key = f"programme:{event.originator_id}"
        state = self._state(views, key)
        if fields:
            state.update(fields)
            views.put(KPI_STATE, key, state)
        return state

    @handles("campaign.launched")
    def _campaign_launched(self, event: Logged, views: Views) -> None:
        data = event.data
        self._programme(views, event, department=data["department"])
        self.add(views, "campaigns_launched", 1, data["timestamp"],
                 department=data["department"], industry=data["industry"])

    @handles("campaign.enterprise_diagnosed", "campaign.report_issued")
    def _campaign_enterprise(self, event: Logged, views: Views) -> None:
        metric = ("enterprises_diagnosed" if event.topic == "campaign.enterprise_diagnosed"
                  else "improvement_plans_issued")
        campaign = self._programme(views, event)
        where = self._enterprise_where(views, event.data["enterprise_id"],
                                       campaign.get("department"))
        self.add(views, metric, 1, event.data["timestamp"], **where)

    @handles("campaign.opinion_collected")
    def _opinion(self, event: Logged, views: Views) -> None:
        campaign = self._programme(views, event)
        where = self._enterprise_where(views, event.data.get("enterprise_id"),
                                       campaign.get("department"))
        self.add(views, "buyer_opinions", 1, event.data["timestamp"], **where)

    @handles("dispute.filed", "dispute.mediation_scheduled", "dispute.mediated")
    def _dispute(self, event: Logged, views: Views) -> None:
        data, at = event.data, event.data["timestamp"]
        if event.topic == "dispute.filed":
            self._programme(views, event, enterprise_id=data["producer_id"])
        elif event.topic == "dispute.mediation_scheduled":
            self._programme(views, event, department=data["mediator_department"])
        dispute = self._programme(views, event)
        where = self._enterprise_where(views, dispute.get("enterprise_id"),
                                       dispute.get("department"))
        if event.topic == "dispute.filed":
            self.add(views, "disputes_filed", 1, at, **where)
        elif event.topic == "dispute.mediated" and data["agreement"]:
            self.add(views, "disputes_resolved", 1, at, **where)
            self.add(views, "compensation_yuan", data["compensation_yuan"], at, **where)

    @handles("recall.ordered", "recall.units_recalled", "recall.units_destroyed",
             "recall.loss_recovered")
    def _recall(self, event: Logged, views: Views) -> None:
        data, at = event.data, event.data["timestamp"]
        if event.topic == "recall.ordered":
            self._programme(views, event, enterprise_id=data["enterprise_id"],
                            department=data["department"])
        recall = self._programme(views, event)
        where = self._enterprise_where(views, recall.get("enterprise_id"),
                                       recall.get("department"))
        metric, amount = {
            "recall.ordered": ("recalls_ordered", 1),
            "recall.units_recalled": ("units_recalled", data.get("units")),
            "recall.units_destroyed": ("units_destroyed", data.get("units")),
            "recall.loss_recovered": ("losses_recovered_yuan", data.get("amount_yuan")),
        }[event.topic]
        self.add(views, metric, amount, at, **where)

    @handles("improvement.opened", "improvement.investment_recorded",
             "improvement.benefit_expected", "improvement.benefit_realised",
             "improvement.completed")
    def _improvement(self, event: Logged, views: Views) -> None:
        data, at = event.data, event.data["timestamp"]
        if event.topic == "improvement.opened":
            self._programme(views, event, enterprise_id=data["enterprise_id"],
                            department=data["department"], expected="0")
        project = self._programme(views, event)
        where = self._enterprise_where(views, project.get("enterprise_id"),
                                       project.get("department"))
        if event.topic == "improvement.opened":
            self.add(views, "improvement_projects", 1, at, **where)
            if data.get("supplier_id"):
                self.add(views, "supplier_problems_found", 1, at, **where)
        elif event.topic == "improvement.investment_recorded":
            self.add_money(views, "projects", "money_invested_yuan", data["amount_yuan"], at,
                           **where)
        elif event.topic == "improvement.benefit_expected":
            # A new estimate replaces the last one.
            change = Decimal(data["amount_yuan"]) - Decimal(project.get("expected", "0"))
            self._programme(views, event, expected=data["amount_yuan"])
            if change:
                self.add_money(views, "projects", "expected_benefit_yuan", str(change), at,
                               **where)
        elif event.topic == "improvement.benefit_realised":
            self.add_money(views, "projects", "realised_benefit_yuan", data["amount_yuan"], at,
                           **where)
        else:
            self.add(views, "improvements_completed", 1, at, **where)
