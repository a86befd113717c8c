"""What the expert and instrument views share: a resource document and one row per booking.

A released booking stays as a row with status "released", so a schedule shows what was
planned and withdrawn; the resource document counts the bookings still standing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from projections.logged import Logged
from projections.times import hours_between, utc
from projections.view import Projection, Table, Views


def booking_table(name: str, resource_field: str) -> Table:
    return Table(name, {resource_field: "text", "case_id": "text", "start_utc": "text",
                        "end_utc": "text", "status": "text"},
                 indexes=((resource_field, "start_utc"), ("start_utc",), ("case_id",)))


class BookableSchedule(Projection):
    resources: ClassVar[str]  # the resource table
    bookings: ClassVar[str]  # the booking table
    resource_field: ClassVar[str]  # "expert_id" or "equipment_id"

    def _resource(self, views: Views, resource_id: str) -> dict[str, Any]:
        resource = views.get(self.resources, resource_id)
        if resource is None:
            raise LookupError(f"{self.resource_field[:-3]} {resource_id} is not registered")
        return resource

    def _register(self, event: Logged, views: Views, **fields: Any) -> None:
        data = event.data
        views.put(self.resources, event.originator_id, {
            self.resource_field: event.originator_id, **fields,
            "registered_at": data["timestamp"], "registered_by": data["actor"],
            "bookings": 0, "booked_hours": 0.0, "updated_at": data["timestamp"]})

    def _change(self, event: Logged, views: Views, **fields: Any) -> None:
        resource = self._resource(views, event.originator_id)
        resource.update(fields, updated_at=event.data["timestamp"])
        views.put(self.resources, event.originator_id, resource)

    def _book(self, event: Logged, views: Views) -> None:
        data = event.data
        hours = hours_between(data["start"], data["end"])
        views.put(self.bookings, data["booking_id"], {
            "booking_id": data["booking_id"], self.resource_field: event.originator_id,
            "case_id": data["case_id"], "start": data["start"], "end": data["end"],
            "start_utc": utc(data["start"]), "end_utc": utc(data["end"]), "hours": hours,
            "status": "booked", "booked_at": data["timestamp"], "booked_by": data["actor"],
            "released_at": None, "released_by": None})
        resource = self._resource(views, event.originator_id)
        resource["bookings"] += 1
        resource["booked_hours"] += hours
        views.put(self.resources, event.originator_id, resource)

    def _release(self, event: Logged, views: Views) -> None:
        data = event.data
        booking = views.get(self.bookings, data["booking_id"])
        if booking is None:
            raise LookupError(f"booking {data['booking_id']} was never made")
        booking.update(status="released", released_at=data["timestamp"],
                       released_by=data["actor"])
        views.put(self.bookings, data["booking_id"], booking)
        resource = self._resource(views, event.originator_id)
        resource["bookings"] -= 1
        resource["booked_hours"] -= booking["hours"]
        views.put(self.resources, event.originator_id, resource)
