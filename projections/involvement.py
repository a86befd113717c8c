"""Which departments are involved in a case, followed event by event.

The lead a case was routed or transferred to and its collaborators are involved; a lead the
case was transferred away from sees the transfer and nothing after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Delivery:
    recipients: frozenset[str]  # who should see this event
    newcomers: frozenset[str]  # who became involved with it, and should see what came before


@dataclass
class Involvement:
    lead: str | None = None
    collaborators: frozenset[str] = field(default_factory=frozenset)

    @property
    def departments(self) -> frozenset[str]:
        return self.collaborators | ({self.lead} if self.lead else set())

    def apply(self, topic: str, data: Mapping[str, Any]) -> Delivery:
        before = self.departments
        if topic == "case.accepted":
            self.lead = data["lead_department"]
            self.collaborators = frozenset(data["collaborators"])
        elif topic == "case.transferred":
            self.lead = data["to_department"]
        after = self.departments
        leaving = before - after if topic == "case.transferred" else frozenset()
        return Delivery(recipients=after | leaving, newcomers=after - before)
