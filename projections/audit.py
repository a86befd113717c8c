"""The audit trail of accepted changes: who changed what, when, by which command.

Every event is a change. A case event concerns the departments involved in the case (the
involvement rule, `projections/involvement.py`) and the actor's principal; any other event
concerns the actor's principal. Each change says what the event touched, before and after: the
fields of its body besides who/when/which command (a null field is one it left alone, as in
`enterprise.profile_changed`), against the last value the same aggregate's events gave each
field. `change_of` derives it, from the event and its aggregate's state before it.

The `audit` view is an index of the log, not a copy of it: a row per change (`audit_changes`,
keyed by position, with who, which aggregate and when, to filter on) and a row per department
concerned (`audit_concerns`, no document: a department's trail is one key range). The details,
before and after, are derived from the log itself when a page of the trail is asked for
(`changes_at`), by the same `change_of` the export folds the whole log with, so the two always
agree. A copy would have been the largest view there is, paid for on every event of every
rebuild, for what auditors read a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from projections.involvement import Involvement
from projections.logged import Logged
from projections.times import utc
from projections.view import Projection, Table, Views

CHANGES = "audit_changes"  # keyed by position: who, which aggregate, when
CONCERNS = "audit_concerns"  # (department, position, ...): the changes that concerned it
INVOLVED_IN = "audit_involvement"  # per case: who is involved in it, as the trail follows it
COMMON = frozenset({"timestamp", "recorded_at", "actor", "command_id", "correlation_id",
                    "causation_id"})
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

    def entry(self) -> dict[str, Any]:
        """The change as a whole: who, as which principal and person, when, what, how."""
        event, data = self.event, self.event.data
        actor = data["actor"]
        aggregate_type = event.topic.partition(".")[0]
        entry = {"position": event.position, "at": data["timestamp"],
                 "at_utc": utc(data["timestamp"]), "recorded_at": data.get("recorded_at"),
                 "principal": actor["principal"],
                 "person": actor["person"], "aggregate_type": aggregate_type,
                 "aggregate_id": event.originator_id, "version": event.version,
                 "topic": event.topic, "command_id": data["command_id"],
                 "correlation_id": data.get("correlation_id"),
                 "causation_id": data.get("causation_id"),
                 "departments": self.departments, "changes": self.changes}
        if aggregate_type == "case":
            entry["case_id"] = event.originator_id  # so a read of the trail names the case
        return entry


def as_seen_by(entry: dict[str, Any], department: str) -> dict[str, Any]:
    """A change as one of the departments it concerned finds it in its trail."""
    return {**entry, "department": department,
            "role": ACTOR if department == entry["principal"] else INVOLVED}


def change_of(event: Logged, state: dict[str, Any] | None) -> tuple[Change, dict[str, Any]]:
    """The change `event` made, given its aggregate's state before it; and the state after.

    The state is changed in place and handed back (the caller keeps it per aggregate), so
    nothing is copied per event."""
    if state is None:
        state = {"fields": {}}
    fields, data = state["fields"], event.data
    changes = {}
    for name, after in data.items():
        if after is not None and name not in COMMON:
            changes[name] = {"before": fields.get(name), "after": after}
            fields[name] = after
    return Change(event, changes, concerned(event, state)), state


def concerned(event: Logged, state: dict[str, Any]) -> list[str]:
    """The departments `event` concerned, sorted; `state` keeps a case's involvement (its
    lead, collaborators and departments) from one event to the next, changed in place."""
    principal = event.data["actor"]["principal"]
    topic = event.topic
    if not topic.startswith("case."):
        return [principal]
    if topic in INVOLVING or "departments" not in state:
        involvement = Involvement(state.get("lead"),
                                  frozenset(state.get("collaborators", ())))
        recipients = involvement.apply(topic, event.data).recipients
        state["lead"], state["collaborators"] = (involvement.lead,
                                                 sorted(involvement.collaborators))
        state["departments"] = sorted(involvement.departments)
        return sorted({*recipients, principal})
    departments = state["departments"]  # the others leave involvement as it is
    return departments if principal in departments else sorted({*departments, principal})


def changes_at(events: Iterable[Logged], positions: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The changes (entries) at `positions`, from their aggregates' events in log order
    (each aggregate's from its first, at least up to the last position wanted)."""
    wanted, states = set(positions), {}
    entries: dict[int, dict[str, Any]] = {}
    for event in events:
        change, states[event.originator_id] = change_of(event, states.get(event.originator_id))
        if event.position in wanted:
            entries[event.position] = change.entry()
    return entries


class AuditTrail(Projection):
    name = "audit"
    rebuild_cost = 10.4
    topics = EveryTopic()  # type: ignore[assignment]
    version = 2  # an index of the log: the details come from the log, a page at a time
    # One index per filter the audit queries use: every index is paid on each row of the
    # trail. The whole trail in log order is the key order, which needs none; a principal's
    # changes are among its own department's rows (`audit_concerns`), where it is the actor.
    tables = (Table(CHANGES, {"position": "int", "aggregate_id": "text", "principal": "text",
                              "at_utc": "text"}, key=("position",),
                    indexes=(("aggregate_id", "position"), ("at_utc",)),
                    write_only=True, documents=False, appended=True),
              # Keyed by department and position; the other filters ride along.
              Table(CONCERNS, {"department": "text", "position": "int",
                               "aggregate_id": "text", "principal": "text", "at_utc": "text"},
                    key=("department", "position"), write_only=True, documents=False,
                    appended=True),
              Table(INVOLVED_IN))

    def apply(self, event: Logged, views: Views) -> None:
        data, position, aggregate_id = event.data, event.position, event.originator_id
        principal, at_utc = data["actor"]["principal"], utc(data["timestamp"])
        if event.topic.startswith("case."):
            state = views.get(INVOLVED_IN, aggregate_id) or {}
            departments = concerned(event, state)
            views.put(INVOLVED_IN, aggregate_id, state)
        else:
            departments = [principal]
        row = {"position": position, "aggregate_id": aggregate_id, "principal": principal,
               "at_utc": at_utc}
        views.put(CHANGES, str(position), row)
        for department in departments:
            views.put(CONCERNS, f"{position}:{department}", {"department": department, **row})
