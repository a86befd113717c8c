"""Each expert's schedule (its bookings) and workload (bookings, hours, visits made)."""

from __future__ import annotations

from projections.bookable import BookableSchedule, booking_table
from projections.logged import Logged
from projections.view import Table, Views, handles

EXPERTS = "experts"
BOOKINGS = "expert_bookings"


class ExpertSchedules(BookableSchedule):
    name = "experts"
    rebuild_cost = 1.1
    version = 1
    resources, bookings, resource_field = EXPERTS, BOOKINGS, "expert_id"
    tables = (Table(EXPERTS, {"name": "text", "active": "int"}),
              booking_table(BOOKINGS, "expert_id"))

    @handles("expert.registered")
    def _registered(self, event: Logged, views: Views) -> None:
        data = event.data
        self._register(event, views, name=data["name"], affiliation=data["affiliation"],
                       specialties=data["specialties"], active=1, inactive_reason=None,
                       visits=0)

    @handles("expert.deactivated")
    def _deactivated(self, event: Logged, views: Views) -> None:
        self._change(event, views, active=0, inactive_reason=event.data["reason"])

    @handles("expert.reactivated")
    def _reactivated(self, event: Logged, views: Views) -> None:
        self._change(event, views, active=1, inactive_reason=None)

    @handles("expert.booked")
    def _booked(self, event: Logged, views: Views) -> None:
        self._book(event, views)

    @handles("expert.released")
    def _released(self, event: Logged, views: Views) -> None:
        self._release(event, views)

    @handles("case.visit_recorded")
    def _visited(self, event: Logged, views: Views) -> None:
        for expert_id in event.data["experts"]:
            expert = self._resource(views, expert_id)
            expert["visits"] += 1
            views.put(EXPERTS, expert_id, expert)
