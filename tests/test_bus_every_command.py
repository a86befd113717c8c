"""Every command of the published contract, sent over NATS by the principal that would send it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from bus.operations import OPERATIONS
from tests.bus_support import Service
from tests.domain.support import credit_code


@pytest.fixture
def service(district, unique_name):
    running = Service(district, unique_name())
    yield running
    running.close()


class Walk:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.sent: set[str] = set()

    def __call__(self, principal: str, command: str, **fields) -> dict:
        reply = self.service.request(principal, command,
                                     {"command_id": uuid4().hex, "person": "经办人", **fields})
        assert reply["ok"], (command, reply)
        self.sent.add(command)
        return reply


def test_every_command_goes_through_the_bus(service):
    send = Walk(service)
    slot = {"start": "2026-03-09T09:00:00+08:00", "end": "2026-03-09T12:00:00+08:00"}

    enterprise = send("portal", "enterprise.register", credit_code=credit_code(),
                      name="重庆永高塑业", scale="above_scale", industry="plastics",
                      town="laisu")["id"]
    send("samr", "enterprise.change_profile", enterprise_id=enterprise, name="永高塑业")
    expert = send("samr", "expert.register", name="李教授", affiliation="重庆文理学院",
                  specialties=["plastics"])["id"]
    send("samr", "expert.deactivate", expert_id=expert, reason="on leave")
    send("samr", "expert.reactivate", expert_id=expert)
    instrument = send("samr", "equipment.register", name="Tensile tester",
                      owner_institution="永川区检验检测中心", capabilities=["tensile"],
                      calibration_valid_until="2027-01-01T00:00:00+08:00")["id"]
    send("samr", "equipment.recalibrate", equipment_id=instrument,
         valid_until="2027-06-01T00:00:00+08:00")
    send("samr", "equipment.take_out_of_service", equipment_id=instrument, reason="repair")
    send("samr", "equipment.return_to_service", equipment_id=instrument)

    def order(station: str | None = None) -> str:
        return send("portal" if station is None else station, "case.submit",
                    enterprise_id=enterprise, service_type="quality_management",
                    description="Performance excellence model", channel="online_platform"
                    if station is None else "town_post", station=station)["id"]

    send("samr", "case.reject", case_id=order(), reason="not a quality question")
    send("portal", "case.withdraw", case_id=order(), reason="solved ourselves")
    case = order("post_laisu")
    send("samr", "case.accept", case_id=case, lead="jxw", collaborators=["samr"])
    send("jxw", "case.transfer", case_id=case, to="kjj", reason="technology question")
    send("kjj", "case.schedule_appointment", case_id=case, at=slot["start"], place="factory")
    send("kjj", "case.reschedule_appointment", case_id=case, at=slot["start"], place="office",
         reason="weather")
    send("kjj", "case.cancel_appointment", case_id=case, reason="expert ill")
    send("kjj", "case.schedule_appointment", case_id=case, at=slot["start"], place="factory")
    expert_booking = send("kjj", "case.assign_expert", case_id=case, expert_id=expert, **slot)
    send("kjj", "case.release_expert", case_id=case, booking_id=expert_booking["booking_id"])
    send("kjj", "case.assign_expert", case_id=case, expert_id=expert, **slot)
    instrument_booking = send("kjj", "case.book_equipment", case_id=case,
                              equipment_id=instrument, **slot)
    send("kjj", "case.release_equipment", case_id=case,
         booking_id=instrument_booking["booking_id"])
    send("kjj", "case.record_visit", case_id=case, visited_at=slot["start"], experts=[expert],
         findings=[{"stage": "production", "finding": "no process control charts"}],
         recommendations=["adopt performance excellence"])
    send("kjj", "case.plan_improvement", case_id=case, actions=["train staff"],
         target_date="2026-06-30")
    send("kjj", "case.resolve", case_id=case, outcome="model adopted", invested_yuan="50000",
         saved_per_year_yuan="120000.50", expected_benefit_yuan="1000000")
    send("portal", "case.rate", case_id=case, score=5, comment="很好")
    send("samr", "case.close", case_id=case)

    assert send.sent == set(OPERATIONS)
