from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from domain.commands import (AssignExpert, BookEquipment, DeactivateExpert, ReactivateExpert,
                             RecalibrateEquipment, ReleaseEquipment, ReleaseExpert,
                             ReturnEquipmentToService, TakeEquipmentOutOfService)
from domain.errors import DomainError
from domain.resources import Booking
from tests.domain.support import START


def refusal(call, *args):
    with pytest.raises(DomainError) as refused:
        call(*args)
    return refused.value


def expert_for(case_id, expert_id, slot):
    start, end = slot
    return AssignExpert(case_id=case_id, expert_id=expert_id, start=start, end=end)


def equipment_for(case_id, equipment_id, slot):
    start, end = slot
    return BookEquipment(case_id=case_id, equipment_id=equipment_id, start=start, end=end)


def test_booking_an_expert_changes_the_case_and_the_expert_in_one_write(world):
    case_id, expert_id = world.case(), world.expert()

    outcome = world.app.assign_expert(world.ctx(), expert_for(case_id, expert_id, world.slot(7)))

    case, expert = world.app.repository.get(case_id), world.app.repository.get(expert_id)
    assert case.experts == {outcome.booking_id: expert_id}
    assert expert.bookings[outcome.booking_id].case_id == case_id
    written = world.app.recorder.select_notifications(start=outcome.position - 1, limit=2)
    assert [n.topic for n in written] == ["case.expert_assigned", "expert.booked"]


def test_refuses_assigning_an_inactive_expert(world):
    case_id, expert_id = world.case(), world.expert()
    world.app.deactivate_expert(world.ctx(), DeactivateExpert(expert_id=expert_id,
                                                              reason="retired"))

    refused = refusal(world.app.assign_expert, world.ctx(),
                      expert_for(case_id, expert_id, world.slot(7)))

    assert refused.code == "expert.inactive"
    assert world.app.repository.get(case_id).experts == {}


def test_a_reactivated_expert_can_be_assigned_again(world):
    case_id, expert_id = world.case(), world.expert()
    world.app.deactivate_expert(world.ctx(), DeactivateExpert(expert_id=expert_id,
                                                              reason="on leave"))
    world.app.reactivate_expert(world.ctx(), ReactivateExpert(expert_id=expert_id))

    outcome = world.app.assign_expert(world.ctx(), expert_for(case_id, expert_id, world.slot(7)))

    assert outcome.booking_id is not None


def test_refuses_double_booking_an_expert_for_overlapping_times(world):
    first, second, expert_id = world.case(), world.case(), world.expert()
    world.app.assign_expert(world.ctx(), expert_for(first, expert_id, world.slot(7, hours=4)))
    start, end = world.slot(7, hours=4)

    refused = refusal(world.app.assign_expert, world.ctx(), expert_for(
        second, expert_id, (start + timedelta(hours=3), end + timedelta(hours=3))))

    assert refused.code == "expert.double_booked"
    # When it is taken, to choose another time; not whose case it serves.
    assert refused.fields == {"start": start, "end": start + timedelta(hours=4)}
    assert world.app.repository.get(second).experts == {}


def test_back_to_back_bookings_do_not_overlap(world):
    first, second, expert_id = world.case(), world.case(), world.expert()
    start, end = world.slot(7, hours=2)
    world.app.assign_expert(world.ctx(), expert_for(first, expert_id, (start, end)))

    world.app.assign_expert(world.ctx(),
                            expert_for(second, expert_id, (end, end + timedelta(hours=2))))

    assert len(world.app.repository.get(expert_id).bookings) == 2


def test_refuses_a_booking_that_ends_before_it_starts(world):
    case_id, expert_id = world.case(), world.expert()
    start, end = world.slot(7)

    assert refusal(world.app.assign_expert, world.ctx(),
                   expert_for(case_id, expert_id, (end, start))).code == "booking.invalid_period"


def test_refuses_booking_when_calibration_has_lapsed(world):
    case_id = world.case()
    equipment_id = world.equipment(valid_for=timedelta(days=7, hours=1))

    refused = refusal(world.app.book_equipment, world.ctx(),
                      equipment_for(case_id, equipment_id, world.slot(7, hours=3)))

    assert refused.code == "equipment.calibration_lapsed"
    assert "valid only until" in refused.message


def test_a_recalibrated_instrument_can_be_booked(world):
    case_id = world.case()
    equipment_id = world.equipment(valid_for=timedelta(days=1))
    world.app.recalibrate_equipment(world.ctx(), RecalibrateEquipment(
        equipment_id=equipment_id, valid_until=START + timedelta(days=365)))

    outcome = world.app.book_equipment(world.ctx(),
                                       equipment_for(case_id, equipment_id, world.slot(7)))

    assert world.app.repository.get(case_id).equipment == {outcome.booking_id: equipment_id}


def test_refuses_booking_an_instrument_out_of_service(world):
    case_id, equipment_id = world.case(), world.equipment()
    world.app.take_equipment_out_of_service(world.ctx(), TakeEquipmentOutOfService(
        equipment_id=equipment_id, reason="detector fault"))

    refused = refusal(world.app.book_equipment, world.ctx(),
                      equipment_for(case_id, equipment_id, world.slot(7)))

    assert refused.code == "equipment.out_of_service"


def test_an_instrument_returned_to_service_can_be_booked(world):
    case_id, equipment_id = world.case(), world.equipment()
    world.app.take_equipment_out_of_service(world.ctx(), TakeEquipmentOutOfService(
        equipment_id=equipment_id, reason="detector fault"))
    world.app.return_equipment_to_service(world.ctx(),
                                          ReturnEquipmentToService(equipment_id=equipment_id))

    world.app.book_equipment(world.ctx(), equipment_for(case_id, equipment_id, world.slot(7)))


def test_refuses_double_booking_an_instrument(world):
    first, second, equipment_id = world.case(), world.case(), world.equipment()
    world.app.book_equipment(world.ctx(), equipment_for(first, equipment_id, world.slot(7)))

    refused = refusal(world.app.book_equipment, world.ctx(),
                      equipment_for(second, equipment_id, world.slot(7)))

    assert refused.code == "equipment.double_booked"


def test_releasing_a_booking_frees_the_slot_on_both_sides(world):
    first, second, expert_id = world.case(), world.case(), world.expert()
    booked = world.app.assign_expert(world.ctx(), expert_for(first, expert_id, world.slot(7)))

    world.app.release_expert(world.ctx(), ReleaseExpert(case_id=first,
                                                        booking_id=booked.booking_id))
    world.app.assign_expert(world.ctx(), expert_for(second, expert_id, world.slot(7)))

    assert world.app.repository.get(first).experts == {}
    assert [b.case_id for b in world.app.repository.get(expert_id).bookings.values()] == [second]


def test_refuses_releasing_a_booking_the_case_does_not_have(world):
    case_id = world.case()

    refused = refusal(world.app.release_equipment, world.ctx(), ReleaseEquipment(
        case_id=case_id, booking_id=world.app.derived_id("booking", world.ctx())))

    assert refused.code == "booking.not_found"


def test_refuses_booking_for_a_case_that_is_not_accepted(world):
    case_id, expert_id = world.case(accepted=False), world.expert()

    refused = refusal(world.app.assign_expert, world.ctx(),
                      expert_for(case_id, expert_id, world.slot(7)))

    assert refused.code == "case.invalid_transition"
    assert world.app.repository.get(expert_id).bookings == {}


def test_a_retried_booking_returns_the_first_booking_without_writing(world):
    case_id, expert_id = world.case(), world.expert()
    booking = expert_for(case_id, expert_id, world.slot(7))
    first = world.app.assign_expert(world.ctx(command_id="book-1"), booking)

    again = world.app.assign_expert(world.ctx(command_id="book-1"), booking)

    assert (again.booking_id, again.replayed) == (first.booking_id, True)
    assert again.position == first.position
    assert len(world.app.repository.get(expert_id).bookings) == 1


def test_a_booking_that_loses_a_race_writes_neither_the_case_nor_the_expert(world):
    # Given two officers who loaded the same expert for two cases at the same moment,
    first, second, expert_id = world.case(), world.case(), world.expert()
    case = world.app.repository.get(second)
    expert = world.app.repository.get(expert_id)
    # when the first officer's booking is saved,
    world.app.assign_expert(world.ctx(), expert_for(first, expert_id, world.slot(7)))
    # then the second one's booking (made on the stale expert) writes nothing at all.
    booking = Booking(booking_id=world.app.derived_id("booking", world.ctx()), case_id=second,
                      start=world.slot(9)[0], end=world.slot(9)[1])
    case.assign_expert(world.ctx(), expert_id, booking)
    expert.book(world.ctx(), booking)
    with pytest.raises(IntegrityError):
        world.app.save(case, expert)
    assert world.app.repository.get(second).version == 2
    assert len(world.app.repository.get(expert_id).bookings) == 1


def test_a_lost_race_through_the_application_is_a_conflict_to_retry(world, monkeypatch):
    first, second, expert_id = world.case(), world.case(), world.expert()
    stale = world.app.repository.get(expert_id)
    world.app.assign_expert(world.ctx(), expert_for(first, expert_id, world.slot(7)))
    real_get = world.app.repository.get
    monkeypatch.setattr(world.app.repository, "get",
                        lambda id, **kw: stale if id == expert_id else real_get(id, **kw))

    refused = refusal(world.app.assign_expert, world.ctx(),
                      expert_for(second, expert_id, world.slot(9)))

    assert refused.code == "store.conflict"
    monkeypatch.undo()
    assert world.app.repository.get(second).experts == {}
