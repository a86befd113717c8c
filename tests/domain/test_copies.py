"""The cached copy of an aggregate that a command decides on shares nothing it could change."""

from __future__ import annotations

from copy import deepcopy

from domain.cases import Case
from domain.commands import AssignExpert
from domain.resources import Expert


def test_deciding_on_a_copy_leaves_the_original_as_it_was(world):
    # Given a case with an expert booked, as the aggregate cache would hold them
    case_id, expert_id = world.case(), world.expert()
    start, end = world.slot(7)
    world.app.assign_expert(world.ctx(), AssignExpert(case_id=case_id, expert_id=expert_id,
                                                      start=start, end=end))
    case: Case = world.app.repository.get(case_id)
    expert: Expert = world.app.repository.get(expert_id)
    case_before, expert_before = vars(deepcopy(case)).copy(), vars(deepcopy(expert)).copy()

    # When a command changes copies of them
    case_copy, expert_copy = deepcopy(case), deepcopy(expert)
    booking_id = next(iter(case_copy.experts))
    case_copy.release_expert(world.ctx(), booking_id)
    expert_copy.release(world.ctx(), booking_id)

    # Then the copies changed and the originals did not
    assert booking_id not in case_copy.experts and booking_id not in expert_copy.bookings
    assert case.experts == case_before["experts"] and case.version == case_before["version"]
    assert expert.bookings == expert_before["bookings"]
    assert case.commands == case_before["commands"] and not case._pending
    assert all(value is not getattr(case_copy, name)
               for name, value in vars(case).items() if isinstance(value, (dict, list, set)))
