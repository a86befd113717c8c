"""The case view: where a case stands, and a timeline of every step with who took it.

Each step is a row of its own (`case_steps`), written once and never read back by the
projection, so a long case costs no more to update than a short one.

Who may see a case follows the involvement rule (`projections/involvement.py`): the lead and
the collaborators see it all; a lead the case was transferred away from sees it as it stood
at the transfer, so the document keeps that state under `former_leads`.
"""

from __future__ import annotations

import copy
from typing import Any

from projections.logged import Logged
from projections.times import utc
from projections.view import Projection, Table, Views, handles

CASES = "cases"
STEPS = "case_steps"
COMMON = frozenset({"timestamp", "recorded_at", "actor", "command_id", "correlation_id",
                    "causation_id"})
BOOKING_TABLES = {"case.expert_assigned": ("experts", "expert_id"),
                  "case.equipment_booked": ("equipment", "equipment_id")}
RELEASES = {"case.expert_released": "experts", "case.equipment_released": "equipment"}
MONEY = ("invested_yuan", "saved_per_year_yuan", "expected_benefit_yuan")


def step(event: Logged) -> dict[str, Any]:
    data = event.data
    return {"case_id": event.originator_id, "version": event.version,
            "position": event.position, "topic": event.topic, "at": data["timestamp"],
            "recorded_at": data.get("recorded_at"), "by": data["actor"],
            "command_id": data["command_id"],
            "details": {k: v for k, v in data.items() if k not in COMMON}}


def step_key(case_id: str, version: int) -> str:
    return f"{case_id}:{version:06d}"


def state_of(case: dict[str, Any]) -> dict[str, Any]:
    """The case without its former leads' copies."""
    return {k: v for k, v in case.items() if k != "former_leads"}


class CaseView(Projection):
    name = "cases"
    rebuild_cost = 8.9
    version = 2  # 2: each step of the timeline says when it was recorded
    tables = (Table(CASES, {"status": "text", "lead": "text", "enterprise_id": "text",
                            "service_type": "text", "channel": "text", "station": "text",
                            "submitted_utc": "text", "due_utc": "text"},
                    indexes=(("status", "submitted_utc"), ("lead", "status"), ("station",),
                             ("enterprise_id",))),
              # Keyed "<case id>:<version, 6 digits>": a case's timeline is a key range.
              Table(STEPS, write_only=True, appended=True))  # a step per case version

    def apply(self, event: Logged, views: Views) -> None:
        handler = self._handlers.get(event.topic)
        if handler is None:
            return
        case_id = event.originator_id
        if event.topic == "case.submitted":
            case = {"case_id": case_id, "former_leads": {}}
        else:
            case = views.get(CASES, case_id)
            if case is None:
                raise LookupError(f"case {case_id} has no case.submitted before {event.topic}")
        handler(self, event, case)
        case["version"], case["position"] = event.version, event.position
        case["updated_at"] = event.data["timestamp"]
        views.put(CASES, case_id, case)
        views.put(STEPS, step_key(case_id, event.version), step(event))

    @handles("case.submitted")
    def _submitted(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        case.update(enterprise_id=data["enterprise_id"], service_type=data["service_type"],
                    description=data["description"], channel=data["channel"],
                    station=data.get("station"), submitted_by=data["actor"]["principal"],
                    submitted_at=data["timestamp"], submitted_utc=utc(data["timestamp"]),
                    status="submitted", lead=None, collaborators=[], departments=[],
                    sla_days=None, due=None, due_utc=None, escalation_level=0,
                    appointment=None, experts={}, equipment={}, visits=[], plan=None,
                    resolution=None, rating=None, closed_at=None)

    @handles("case.accepted")
    def _accepted(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        case.update(status="accepted", lead=data["lead_department"],
                    collaborators=list(data["collaborators"]), sla_days=data["sla_days"])
        self._set_due(case, data["due"])
        self._involve(case)

    @handles("case.transferred")
    def _transferred(self, event: Logged, case: dict[str, Any]) -> None:
        leaving = event.data["from_department"]
        case["lead"] = event.data["to_department"]
        self._involve(case)
        if leaving not in case["departments"]:
            # It sees the transfer itself, then nothing more.
            seen = copy.deepcopy(state_of(case))
            seen.update(version=event.version, position=event.position,
                        updated_at=event.data["timestamp"])
            case["former_leads"][leaving] = {"version": event.version, "state": seen}

    @handles("case.rejected", "case.withdrawn")
    def _ended(self, event: Logged, case: dict[str, Any]) -> None:
        case["status"] = event.topic.removeprefix("case.")
        case["ended_reason"] = event.data["reason"]

    @handles("case.appointment_scheduled", "case.appointment_rescheduled")
    def _appointment(self, event: Logged, case: dict[str, Any]) -> None:
        at = event.data["at"]
        case["appointment"] = {"at": at, "at_utc": utc(at), "place": event.data["place"]}

    @handles("case.appointment_cancelled")
    def _appointment_cancelled(self, event: Logged, case: dict[str, Any]) -> None:
        case["appointment"] = None

    @handles("case.expert_assigned", "case.equipment_booked")
    def _booked(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        bookings, resource = BOOKING_TABLES[event.topic]
        case[bookings][data["booking_id"]] = {resource: data[resource], "start": data["start"],
                                              "end": data["end"]}

    @handles("case.expert_released", "case.equipment_released")
    def _released(self, event: Logged, case: dict[str, Any]) -> None:
        case[RELEASES[event.topic]].pop(event.data["booking_id"], None)

    @handles("case.visit_recorded")
    def _visit(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        case["visits"].append({"visited_at": data["visited_at"], "experts": data["experts"],
                               "findings": data["findings"],
                               "recommendations": data["recommendations"]})

    @handles("case.improvement_planned")
    def _plan(self, event: Logged, case: dict[str, Any]) -> None:
        case["plan"] = {"actions": event.data["actions"],
                        "target_date": event.data["target_date"]}

    @handles("case.resolved")
    def _resolved(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        case["status"], case["rating"] = "resolved", None
        case["resolution"] = {"outcome": data["outcome"], "resolved_at": data["timestamp"],
                              **{field: data[field] for field in MONEY}}

    @handles("case.rated")
    def _rated(self, event: Logged, case: dict[str, Any]) -> None:
        case["rating"] = {"score": event.data["score"], "comment": event.data["comment"]}

    @handles("case.reopened")
    def _reopened(self, event: Logged, case: dict[str, Any]) -> None:
        case["status"], case["escalation_level"] = "reopened", 0
        self._set_due(case, event.data["due"])

    @handles("case.escalated")
    def _escalated(self, event: Logged, case: dict[str, Any]) -> None:
        case["escalation_level"] = event.data["level"]

    @handles("case.closed")
    def _closed(self, event: Logged, case: dict[str, Any]) -> None:
        case["status"], case["closed_at"] = "closed", event.data["timestamp"]

    @staticmethod
    def _set_due(case: dict[str, Any], due: str) -> None:
        case["due"], case["due_utc"] = due, utc(due)

    @staticmethod
    def _involve(case: dict[str, Any]) -> None:
        lead, collaborators = case["lead"], case["collaborators"]
        case["departments"] = sorted({lead, *collaborators} if lead else set(collaborators))
        for department in case["departments"]:
            case["former_leads"].pop(department, None)
