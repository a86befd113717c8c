"""Bookings of a shared resource: no two may overlap."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime

from domain.base import Aggregate, CommandContext, DomainEvent, Value
from domain.errors import refuse


class Booking(Value):
    booking_id: UUID
    case_id: UUID
    start: AwareDatetime
    end: AwareDatetime

    def overlaps(self, start: AwareDatetime, end: AwareDatetime) -> bool:
        return self.start < end and start < self.end


class Bookable(Aggregate):
    kind = "resource"
    bookings: dict[UUID, Booking]

    def _check_free(self, start: AwareDatetime, end: AwareDatetime) -> None:
        if end <= start:
            raise refuse("booking.invalid_period", "A booking must end after it starts.",
                         start=start, end=end)
        for other in self.bookings.values():
            if other.overlaps(start, end):
                # When, so that another time can be chosen; not for whose case.
                raise refuse(f"{self.kind}.double_booked",
                             f"{self.name} is already booked from {other.start:%Y-%m-%d %H:%M} "
                             f"to {other.end:%Y-%m-%d %H:%M}.",
                             start=other.start, end=other.end)

    def release(self, ctx: CommandContext, booking_id: UUID) -> None:
        if booking_id not in self.bookings:
            raise refuse("booking.not_found", f"{self.name} has no such booking.",
                         booking_id=booking_id)
        self.trigger(type(self).Released, ctx, booking_id=booking_id)


class BookingEvent(DomainEvent):
    booking_id: UUID
    case_id: UUID
    start: AwareDatetime
    end: AwareDatetime

    def apply(self, resource: Bookable) -> None:
        resource.bookings[self.booking_id] = Booking(
            booking_id=self.booking_id, case_id=self.case_id, start=self.start, end=self.end)


class ReleaseEvent(DomainEvent):
    booking_id: UUID

    def apply(self, resource: Bookable) -> None:
        del resource.bookings[self.booking_id]
