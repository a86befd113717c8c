"""The audit trail of accepted changes: who changed what, when, by which command.

Every event is a change, kept once (`audit_changes`, keyed by its position, so the trail in log
order is the table in key order). A case event concerns the departments involved in the case
(the involvement rule, `projections/involvement.py`) and the actor's principal; any other event
concerns the actor's principal. Which departments a change concerned is a small row each
(`audit_concerns`, no document), so a department's trail is one key range, and a change
is not stored again for every department it concerned: the trail is the largest view there
is, and its rebuild pays for every byte and every index entry of it.

Each change says what the event touched, before and after: the fields of its body besides
who/when/which command (a null field is one it left alone, as in `enterprise.profile_changed`),
against the last value the same aggregate's events gave each field (kept per aggregate in
`audit_states`).

The export reads the log with the same `Change` (`change_of`), so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.involvement import Involvement
from projections.logged import Logged
from projections.times import utc
from projections.view import Projection, Table, Views

CHANGES = "audit_changes"  # keyed by position
CONCERNS = "audit_concerns"  # (department, position, ...): the changes that concerned it
STATES = "audit_states"  # per aggregate: the last value of each field, a case's involvement
COMMON = frozenset({"timestamp", "actor", "command_id", "correlation_id", "causation_id"})
ACTOR, INVOLVED = "actor", "involved"
# The case events that change who is involved (`Involvement.apply`); after any other, the
# departments concerned are those involved, as the state keeps them.
INVOLVING = frozenset({"case.accepted", "case.transferred"})


class EveryTopic:
    """Every event is a change: a topic set that holds any topic, a new one included."""

    def __contains__(self, topic: object) -> bool:
        return True


@dataclass(slots=True)  # not frozen: one is made per event, and frozen ones cost more to make
class Change:
    event: Logged
    changes: dict[str, dict[str, Any]]  # field -> {"before", "after"}
    departments: list[str]  # concerned, sorted

    @property
    def principal(self) -> str:
        return self.event.data["actor"]["principal"]

    def entry(self, at_utc: str | None = None) -> dict[str, Any]:
        """The change as a whole: who, as which principal and person, when, what, how."""
        event, data = self.event, self.event.data
        actor = data["actor"]
        aggregate_type = event.topic.partition(".")[0]
        entry = {"position": event.position, "at": data["timestamp"],
                 "at_utc": at_utc or utc(data["timestamp"]), "principal": actor["principal"],
                 "person": actor["person"], "aggregate_type": aggregate_type,
                 "aggregate_id": event.originator_id, "version": event.version,
                 "topic": event.topic, "command_id": data["command_id"],
                 "correlation_id": data.get("correlation_id"),
                 "causation_id": data.get("causation_id"),
                 "departments": self.departments, "changes": self.changes}
        if aggregate_type == "case":
            entry["case_id"] = event.originator_id  # so a read of the trail names the case
        return entry

    def concerns(self, at_utc: str) -> dict[str, dict[str, Any]]:
        """A row per department concerned: the department, the change's position, and what
        the other filters of a department's trail need."""
        event = self.event
        position, aggregate_id, principal = event.position, event.originator_id, self.principal
        return {f"{position}:{department}": {
            "department": department, "position": position, "aggregate_id": aggregate_id,
            "principal": principal, "at_utc": at_utc}
            for department in self.departments}


def change_key(position: int) -> str:
    return str(position)


def as_seen_by(entry: dict[str, Any], department: str) -> dict[str, Any]:
    """A change as one of the departments it concerned finds it in its trail."""
    return {**entry, "department": department,
            "role": ACTOR if department == entry["principal"] else INVOLVED}


def change_of(event: Logged, state: dict[str, Any] | None) -> tuple[Change, dict[str, Any]]:
    """The change `event` made, given its aggregate's state before it; and the state after.

    The state is changed in place and handed back (views and the export keep it per
    aggregate); a trail is the largest view there is, so nothing is copied per event."""
    if state is None:
        state = {"fields": {}}
    fields, data = state["fields"], event.data
    changes = {}
    for name, after in data.items():
        if after is not None and name not in COMMON:
            changes[name] = {"before": fields.get(name), "after": after}
            fields[name] = after
    principal = data["actor"]["principal"]
    topic = event.topic
    if not topic.startswith("case."):
        return Change(event, changes, [principal]), state
    if topic in INVOLVING or "departments" not in state:
        involvement = Involvement(state.get("lead"),
                                  frozenset(state.get("collaborators", ())))
        concerned = involvement.apply(topic, data).recipients
        state["lead"], state["collaborators"] = (involvement.lead,
                                                 sorted(involvement.collaborators))
        state["departments"] = sorted(involvement.departments)
    else:
        concerned = state["departments"]  # the others leave involvement as it is
    if principal in concerned and topic not in INVOLVING:
        return Change(event, changes, concerned), state
    return Change(event, changes, sorted({*concerned, principal})), state


class AuditTrail(Projection):
    name = "audit"
    rebuild_cost = 45
    topics = EveryTopic()  # type: ignore[assignment]
    version = 2  # a change is stored once, with a narrow row per department concerned
    # One index per filter the audit queries use: every index is paid on each row of the
    # trail. The whole trail in log order is the key order, which needs none; a principal's
    # changes are among its own department's rows (`audit_concerns`), where it is the actor.
    tables = (Table(CHANGES, {"aggregate_id": "text", "principal": "text", "at_utc": "text",
                              "position": "int"},
                    indexes=(("aggregate_id", "position"), ("at_utc",)),
                    write_only=True, key_type="int"),
              # Keyed by department and position; the other filters ride along.
              Table(CONCERNS, {"department": "text", "position": "int",
                               "aggregate_id": "text", "principal": "text", "at_utc": "text"},
                    write_only=True, documents=False),
              Table(STATES))

    def apply(self, event: Logged, views: Views) -> None:
        change, state = change_of(event, views.get(STATES, event.originator_id))
        views.put(STATES, event.originator_id, state)
        at_utc = utc(event.data["timestamp"])
        views.put(CHANGES, change_key(event.position), change.entry(at_utc))
        for key, row in change.concerns(at_utc).items():
            views.put(CONCERNS, key, row)
