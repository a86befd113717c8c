"""Each department's worklist: the cases on its desk, as lead or collaborator.

A case is on the desks of its lead and collaborators while it is accepted, reopened or
resolved (awaiting rating and closure); a submitted case waits on the lead bureau's desk for
routing (role "triage"). Rejected, withdrawn and closed cases leave every desk. "Overdue" is
not stored (it depends on when one asks): entries keep `due_utc` and the query compares.
"""

from __future__ import annotations

from typing import Any

from projections.logged import Logged
from projections.times import utc
from projections.view import Projection, Table, Views, handles

CASES = "worklist_cases"  # what this view needs to know of each case
ENTRIES = "worklist"  # one entry per department and case, keyed "<department>:<case id>"
ON_DESK = frozenset({"accepted", "reopened", "resolved"})
OPEN = frozenset({"accepted", "reopened"})
SUMMARY = ("case_id", "enterprise_id", "service_type", "channel", "station", "status",
           "lead", "due", "due_utc", "submitted_at", "submitted_utc", "escalation_level",
           "appointment_at", "appointment_utc", "updated_at")


class Worklists(Projection):
    name = "worklists"
    rebuild_cost = 4.9
    version = 1
    tables = (
        Table(CASES),
        Table(ENTRIES, {"department": "text", "case_id": "text", "role": "text",
                        "status": "text", "due_utc": "text", "submitted_utc": "text",
                        "appointment_utc": "text", "escalation_level": "int"},
              # Always asked for one department: its few hundred entries filter fast.
              indexes=(("department", "due_utc"),)),
    )

    def __init__(self, lead_bureau: str = "samr") -> None:
        self.lead_bureau = lead_bureau

    def apply(self, event: Logged, views: Views) -> None:
        handler = self._handlers.get(event.topic)
        if handler is None:
            return
        case_id = event.originator_id
        case = (views.get(CASES, case_id) if event.topic != "case.submitted"
                else {"case_id": case_id, "desks": {}})
        if case is None:
            raise LookupError(f"case {case_id} has no case.submitted before {event.topic}")
        handler(self, event, case)
        case["updated_at"] = event.data["timestamp"]
        self._file(case, views)
        if case["desks"]:
            views.put(CASES, case_id, case)
        else:
            views.delete(CASES, case_id)  # finished: it will never be on a desk again

    def _file(self, case: dict[str, Any], views: Views) -> None:
        desks = self._desks(case)
        for department in case["desks"].keys() - desks.keys():
            views.delete(ENTRIES, f"{department}:{case['case_id']}")
        summary = {field: case.get(field) for field in SUMMARY}
        for department, role in desks.items():
            views.put(ENTRIES, f"{department}:{case['case_id']}",
                      {**summary, "department": department, "role": role})
        case["desks"] = desks

    def _desks(self, case: dict[str, Any]) -> dict[str, str]:
        if case["status"] == "submitted":
            return {self.lead_bureau: "triage"}
        if case["status"] not in ON_DESK:
            return {}
        desks = dict.fromkeys(case["collaborators"], "collaborator")
        desks[case["lead"]] = "lead"
        return desks

    @handles("case.submitted")
    def _submitted(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        case.update(enterprise_id=data["enterprise_id"], service_type=data["service_type"],
                    channel=data["channel"], station=data.get("station"), status="submitted",
                    submitted_at=data["timestamp"], submitted_utc=utc(data["timestamp"]),
                    lead=None, collaborators=[], due=None, due_utc=None, escalation_level=0,
                    appointment_at=None, appointment_utc=None)

    @handles("case.accepted")
    def _accepted(self, event: Logged, case: dict[str, Any]) -> None:
        data = event.data
        case.update(status="accepted", lead=data["lead_department"],
                    collaborators=list(data["collaborators"]), due=data["due"],
                    due_utc=utc(data["due"]))

    @handles("case.transferred")
    def _transferred(self, event: Logged, case: dict[str, Any]) -> None:
        case["lead"] = event.data["to_department"]

    @handles("case.appointment_scheduled", "case.appointment_rescheduled")
    def _appointment(self, event: Logged, case: dict[str, Any]) -> None:
        case["appointment_at"], case["appointment_utc"] = event.data["at"], utc(event.data["at"])

    @handles("case.appointment_cancelled")
    def _appointment_cancelled(self, event: Logged, case: dict[str, Any]) -> None:
        case["appointment_at"] = case["appointment_utc"] = None

    @handles("case.reopened")
    def _reopened(self, event: Logged, case: dict[str, Any]) -> None:
        case.update(status="reopened", escalation_level=0, due=event.data["due"],
                    due_utc=utc(event.data["due"]))

    @handles("case.escalated")
    def _escalated(self, event: Logged, case: dict[str, Any]) -> None:
        case["escalation_level"] = event.data["level"]

    @handles("case.resolved", "case.rejected", "case.withdrawn", "case.closed")
    def _status(self, event: Logged, case: dict[str, Any]) -> None:
        case["status"] = event.topic.removeprefix("case.")
