"""Each instrument's bookings and state (in service, calibration), for utilisation."""

from __future__ import annotations

from projections.bookable import BookableSchedule, booking_table
from projections.logged import Logged
from projections.times import utc
from projections.view import Table, Views, handles

EQUIPMENT = "equipment"
BOOKINGS = "equipment_bookings"


class EquipmentBookings(BookableSchedule):
    name = "equipment"
    rebuild_cost = 1.3
    version = 1
    resources, bookings, resource_field = EQUIPMENT, BOOKINGS, "equipment_id"
    tables = (Table(EQUIPMENT, {"name": "text", "in_service": "int",
                                "calibration_valid_until_utc": "text"}),
              booking_table(BOOKINGS, "equipment_id"))

    @handles("equipment.registered")
    def _registered(self, event: Logged, views: Views) -> None:
        data = event.data
        valid_until = data["calibration_valid_until"]
        self._register(event, views, name=data["name"],
                       owner_institution=data["owner_institution"],
                       capabilities=data["capabilities"], calibration_valid_until=valid_until,
                       calibration_valid_until_utc=utc(valid_until), in_service=1,
                       out_of_service_reason=None)

    @handles("equipment.recalibrated")
    def _recalibrated(self, event: Logged, views: Views) -> None:
        valid_until = event.data["valid_until"]
        self._change(event, views, calibration_valid_until=valid_until,
                     calibration_valid_until_utc=utc(valid_until))

    @handles("equipment.taken_out_of_service")
    def _out(self, event: Logged, views: Views) -> None:
        self._change(event, views, in_service=0, out_of_service_reason=event.data["reason"])

    @handles("equipment.returned_to_service")
    def _back(self, event: Logged, views: Views) -> None:
        self._change(event, views, in_service=1, out_of_service_reason=None)

    @handles("equipment.booked")
    def _booked(self, event: Logged, views: Views) -> None:
        self._book(event, views)

    @handles("equipment.released")
    def _released(self, event: Logged, views: Views) -> None:
        self._release(event, views)
