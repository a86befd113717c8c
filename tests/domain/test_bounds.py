"""Every time a command gives lies where every projection can handle it: ISO 8601 text in the
years 2000-2099 (the type), and near the command's own time (the domain)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from domain.commands import (AssignExpert, PlanImprovement, RecalibrateEquipment, RecordVisit,
                             ScheduleAppointment, VisitFinding)
from domain.errors import DomainError
from tests.domain.support import START


@pytest.mark.parametrize("at", [
    "9999-12-31T23:00:00-05:00",  # once stopped two views: its UTC is in the year 10000
    "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59+00:00", "2100-01-01T00:00:00+08:00",
    253402300799, 1773018000.5,  # numbers of seconds: not a time as the contract says it
    "2026-03-09T09:00:00",  # no offset
])
def test_a_time_outside_the_years_or_not_iso_text_is_invalid(at):
    with pytest.raises(ValidationError):
        ScheduleAppointment.model_validate({"case_id": "5bd90866-2ca4-5047-ac54-b5c340ce34e8",
                                            "at": at, "place": "factory"})


def test_a_day_outside_the_years_is_invalid():
    with pytest.raises(ValidationError):
        PlanImprovement.model_validate({"case_id": "5bd90866-2ca4-5047-ac54-b5c340ce34e8",
                                        "actions": ["x"], "target_date": "9999-12-31"})


def test_times_far_from_the_command_are_refused_by_the_domain(world):
    case_id, expert_id = world.case(), world.expert()
    far = START + timedelta(days=3 * 365)
    cases = [
        (world.app.schedule_appointment, ScheduleAppointment(case_id=case_id, at=far,
                                                             place="factory")),
        (world.app.assign_expert, AssignExpert(case_id=case_id, expert_id=expert_id,
                                               start=far, end=far + timedelta(hours=1))),
        (world.app.record_visit, RecordVisit(  # a visit in the future
            case_id=case_id, visited_at=START + timedelta(days=2), experts=(expert_id,),
            findings=(VisitFinding(stage="production", finding="x"),))),
        (world.app.recalibrate_equipment, RecalibrateEquipment(
            equipment_id=world.equipment(), valid_until=START + timedelta(days=25 * 365))),
    ]
    for use_case, command in cases:
        with pytest.raises(DomainError) as refused:
            use_case(world.ctx("jxw"), command)
        assert refused.value.code.endswith(".out_of_range"), command
