"""The shared expert library and instrument library, each with its bookings."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from domain.base import CommandContext, DomainEvent
from domain.bookings import Bookable, Booking, BookingEvent, ReleaseEvent
from domain.errors import refuse

__all__ = ["Booking", "Equipment", "Expert"]


class Expert(Bookable):
    public_name = kind = "expert"
    name: str
    affiliation: str
    specialties: tuple[str, ...]
    active: bool
    owner: str | None = None  # the department that registered it (domain/authority.py)

    class Registered(DomainEvent):
        public_name = "expert.registered"
        name: str = Field(min_length=1)
        affiliation: str
        specialties: tuple[str, ...]

        def apply(self, expert: Expert) -> None:
            expert.name, expert.affiliation = self.name, self.affiliation
            expert.specialties, expert.active, expert.bookings = self.specialties, True, {}
            expert.owner = self.actor.principal

    class Deactivated(DomainEvent):
        public_name = "expert.deactivated"
        reason: str

        def apply(self, expert: Expert) -> None:
            expert.active = False

    class Reactivated(DomainEvent):
        public_name = "expert.reactivated"

        def apply(self, expert: Expert) -> None:
            expert.active = True

    class Booked(BookingEvent):
        public_name = "expert.booked"

    class Released(ReleaseEvent):
        public_name = "expert.released"

    def deactivate(self, ctx: CommandContext, reason: str) -> None:
        if self.active:
            self.trigger(Expert.Deactivated, ctx, reason=reason)

    def reactivate(self, ctx: CommandContext) -> None:
        if not self.active:
            self.trigger(Expert.Reactivated, ctx)

    def book(self, ctx: CommandContext, booking: Booking) -> None:
        if not self.active:
            raise refuse("expert.inactive",
                         f"{self.name} is no longer active in the expert library.",
                         expert_id=self.id)
        self._check_free(booking.start, booking.end)
        self.trigger(Expert.Booked, ctx, **booking.model_dump())


class Equipment(Bookable):
    public_name = kind = "equipment"
    name: str
    owner_institution: str
    capabilities: tuple[str, ...]
    calibration_valid_until: AwareDatetime
    in_service: bool
    owner: str | None = None  # the department that registered it (domain/authority.py)

    class Registered(DomainEvent):
        public_name = "equipment.registered"
        name: str = Field(min_length=1)
        owner_institution: str
        capabilities: tuple[str, ...]
        calibration_valid_until: AwareDatetime

        def apply(self, equipment: Equipment) -> None:
            equipment.name, equipment.owner_institution = self.name, self.owner_institution
            equipment.capabilities = self.capabilities
            equipment.calibration_valid_until = self.calibration_valid_until
            equipment.in_service, equipment.bookings = True, {}
            equipment.owner = self.actor.principal

    class Recalibrated(DomainEvent):
        public_name = "equipment.recalibrated"
        valid_until: AwareDatetime

        def apply(self, equipment: Equipment) -> None:
            equipment.calibration_valid_until = self.valid_until

    class TakenOutOfService(DomainEvent):
        public_name = "equipment.taken_out_of_service"
        reason: str

        def apply(self, equipment: Equipment) -> None:
            equipment.in_service = False

    class ReturnedToService(DomainEvent):
        public_name = "equipment.returned_to_service"

        def apply(self, equipment: Equipment) -> None:
            equipment.in_service = True

    class Booked(BookingEvent):
        public_name = "equipment.booked"

    class Released(ReleaseEvent):
        public_name = "equipment.released"

    def recalibrate(self, ctx: CommandContext, valid_until: AwareDatetime) -> None:
        self.trigger(Equipment.Recalibrated, ctx, valid_until=valid_until)

    def take_out_of_service(self, ctx: CommandContext, reason: str) -> None:
        if self.in_service:
            self.trigger(Equipment.TakenOutOfService, ctx, reason=reason)

    def return_to_service(self, ctx: CommandContext) -> None:
        if not self.in_service:
            self.trigger(Equipment.ReturnedToService, ctx)

    def book(self, ctx: CommandContext, booking: Booking) -> None:
        if not self.in_service:
            raise refuse("equipment.out_of_service", f"{self.name} is out of service.",
                         equipment_id=self.id)
        if booking.end > self.calibration_valid_until:
            raise refuse("equipment.calibration_lapsed",
                         f"The calibration of {self.name} is valid only until "
                         f"{self.calibration_valid_until:%Y-%m-%d}; it cannot be used after that.",
                         equipment_id=self.id, valid_until=self.calibration_valid_until)
        self._check_free(booking.start, booking.end)
        self.trigger(Equipment.Booked, ctx, **booking.model_dump())
