"""The audit trail of accepted changes: who changed what, when, by which command.

Every event is a change: one row per event and department concerned, so a department's trail
is one index range. A case event concerns the departments involved in the case (the
involvement rule, `projections/involvement.py`) and the actor's principal; any other event
concerns the actor's principal. Each row says what the event touched, before and after: the
fields of its body besides who/when/which command (a null field is one it left alone, as in
`enterprise.profile_changed`), against the last value the same aggregate's events gave each
field (kept per aggregate in `audit_states`).

The export reads the log with the same `Change` (`change_of`), so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.involvement import Involvement
from projections.logged import Logged
from projections.times import utc
from projections.view import Projection, Table, Views

CHANGES = "audit_changes"  # keyed "<position, 12 digits>:<department>"
STATES = "audit_states"  # per aggregate: the last value of each field, a case's involvement
COMMON = frozenset({"timestamp", "actor", "command_id", "correlation_id", "causation_id"})
ACTOR, INVOLVED = "actor", "involved"


class EveryTopic:
    """Every event is a change: a topic set that holds any topic, a new one included."""

    def __contains__(self, topic: object) -> bool:
        return True


@dataclass(frozen=True)
class Change:
    event: Logged
    changes: dict[str, dict[str, Any]]  # field -> {"before", "after"}
    departments: tuple[str, ...]  # concerned, sorted

    @property
    def principal(self) -> str:
        return self.event.data["actor"]["principal"]

    @property
    def aggregate_type(self) -> str:
        return self.event.topic.split(".", 1)[0]

    def entry(self) -> dict[str, Any]:
        """The change as a whole: who, as which principal and person, when, what, how."""
        event, data = self.event, self.event.data
        entry = {"position": event.position, "at": data["timestamp"],
                 "at_utc": utc(data["timestamp"]), "principal": self.principal,
                 "person": data["actor"]["person"], "aggregate_type": self.aggregate_type,
                 "aggregate_id": event.originator_id, "version": event.version,
                 "topic": event.topic, "command_id": data["command_id"],
                 "correlation_id": data.get("correlation_id"),
                 "causation_id": data.get("causation_id"),
                 "departments": list(self.departments), "changes": self.changes}
        if self.aggregate_type == "case":
            entry["case_id"] = event.originator_id  # so a read of the trail names the case
        return entry

    def rows(self) -> dict[str, dict[str, Any]]:
        """One row per department concerned; the actor's principal's row has role "actor"."""
        entry = self.entry()
        return {f"{self.event.position:012d}:{department}": {
            **entry, "department": department,
            "role": ACTOR if department == self.principal else INVOLVED}
            for department in self.departments}


def change_of(event: Logged, state: dict[str, Any] | None) -> tuple[Change, dict[str, Any]]:
    """The change `event` made, given its aggregate's state before it; and the state after."""
    state = state or {"fields": {}}
    fields = dict(state["fields"])
    changes = {}
    for name, after in event.data.items():
        if name not in COMMON and after is not None:
            changes[name] = {"before": fields.get(name), "after": after}
            fields[name] = after
    concerned = {event.data["actor"]["principal"]}
    after_state: dict[str, Any] = {"fields": fields}
    if event.topic.startswith("case."):
        involvement = Involvement(state.get("lead"), frozenset(state.get("collaborators", ())))
        concerned |= involvement.apply(event.topic, event.data).recipients
        after_state.update(lead=involvement.lead,
                           collaborators=sorted(involvement.collaborators))
    return Change(event, changes, tuple(sorted(concerned))), after_state


class AuditTrail(Projection):
    name = "audit"
    version = 1
    topics = EveryTopic()  # type: ignore[assignment]
    tables = (Table(CHANGES, {"department": "text", "role": "text", "aggregate_id": "text",
                              "principal": "text", "at_utc": "text", "topic": "text",
                              "command_id": "text", "position": "int"},
                    # One index per filter the audit queries use: every index is paid
                    # on each of the trail's many rows (command_id is kept, unindexed).
                    indexes=(("department", "position"), ("role", "position"),
                             ("aggregate_id", "position"), ("principal", "position"),
                             ("at_utc",)),
                    write_only=True),
              Table(STATES))

    def apply(self, event: Logged, views: Views) -> None:
        change, state = change_of(event, views.get(STATES, event.originator_id))
        views.put(STATES, event.originator_id, state)
        for key, row in change.rows().items():
            views.put(CHANGES, key, row)
