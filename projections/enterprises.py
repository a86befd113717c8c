"""An enterprise's history: its register entry, profile changes, and every case it ordered.

Cases are rows of their own (`enterprise_cases`), so a long history pages; each row keeps the
departments involved now, which decide who may see it.
"""

from __future__ import annotations

from typing import Any

from projections.cases import MONEY
from projections.logged import Logged
from projections.times import utc
from projections.view import Projection, Table, Views, handles

ENTERPRISES = "enterprises"
CASES = "enterprise_cases"
PROFILE = ("name", "scale", "industry", "town")


class EnterpriseHistory(Projection):
    name = "enterprises"
    rebuild_cost = 3.1
    version = 1
    tables = (
        Table(ENTERPRISES, {"credit_code": "text", "name": "text", "town": "text",
                            "industry": "text", "scale": "text"},
              indexes=(("credit_code",), ("town", "industry"))),
        Table(CASES, {"enterprise_id": "text", "submitted_utc": "text", "status": "text",
                      "service_type": "text"}, indexes=(("enterprise_id", "submitted_utc"),)),
    )

    @handles("enterprise.registered")
    def _registered(self, event: Logged, views: Views) -> None:
        data = event.data
        views.put(ENTERPRISES, event.originator_id, {
            "enterprise_id": event.originator_id, "credit_code": data["credit_code"],
            **{field: data[field] for field in PROFILE},
            "registered_at": data["timestamp"], "registered_by": data["actor"],
            "changes": [], "cases": 0, "updated_at": data["timestamp"]})

    @handles("enterprise.profile_changed")
    def _profile_changed(self, event: Logged, views: Views) -> None:
        enterprise = self._enterprise(views, event.originator_id)
        changed = {field: event.data[field] for field in PROFILE
                   if event.data.get(field) is not None}
        enterprise.update(changed)
        enterprise["changes"].append({"at": event.data["timestamp"], "by": event.data["actor"],
                                      "changed": changed})
        enterprise["updated_at"] = event.data["timestamp"]
        views.put(ENTERPRISES, event.originator_id, enterprise)

    @handles("case.submitted")
    def _case_submitted(self, event: Logged, views: Views) -> None:
        data = event.data
        enterprise = self._enterprise(views, data["enterprise_id"])
        enterprise["cases"] += 1
        views.put(ENTERPRISES, data["enterprise_id"], enterprise)
        views.put(CASES, event.originator_id, {
            "case_id": event.originator_id, "enterprise_id": data["enterprise_id"],
            "service_type": data["service_type"], "channel": data["channel"],
            "station": data.get("station"), "submitted_by": data["actor"]["principal"],
            "submitted_at": data["timestamp"], "submitted_utc": utc(data["timestamp"]),
            "status": "submitted", "lead": None, "collaborators": [], "departments": [],
            "resolutions": [], "rating": None, "closed_at": None, "updated_at": data["timestamp"]})

    @handles("case.accepted", "case.transferred", "case.rejected", "case.withdrawn",
             "case.resolved", "case.rated", "case.reopened", "case.closed")
    def _case_changed(self, event: Logged, views: Views) -> None:
        case = views.get(CASES, event.originator_id)
        if case is None:
            raise LookupError(f"case {event.originator_id} has no case.submitted "
                              f"before {event.topic}")
        data, topic = event.data, event.topic
        if topic == "case.accepted":
            case["lead"], case["collaborators"] = data["lead_department"], data["collaborators"]
        elif topic == "case.transferred":
            case["lead"] = data["to_department"]
        elif topic == "case.resolved":
            case["rating"] = None
            case["resolutions"].append({"outcome": data["outcome"], "at": data["timestamp"],
                                        **{field: data[field] for field in MONEY}})
        elif topic == "case.rated":
            case["rating"] = {"score": data["score"], "comment": data["comment"]}
        elif topic == "case.closed":
            case["closed_at"] = data["timestamp"]
        if topic in ("case.accepted", "case.rejected", "case.withdrawn", "case.resolved",
                     "case.reopened", "case.closed"):
            case["status"] = topic.removeprefix("case.")
        if topic in ("case.accepted", "case.transferred"):
            case["departments"] = sorted({case["lead"], *case["collaborators"]})
        case["updated_at"] = data["timestamp"]
        views.put(CASES, event.originator_id, case)

    @staticmethod
    def _enterprise(views: Views, enterprise_id: str) -> dict[str, Any]:
        enterprise = views.get(ENTERPRISES, enterprise_id)
        if enterprise is None:
            raise LookupError(f"enterprise {enterprise_id} is not registered")
        return enterprise
