"""The narrated scenario, as a function of the application so it runs on any store.

    run_case_scenario(OneStop(env={"PERSISTENCE_MODULE": "adapters.jetstream",
                                   "NATS_URL": url, "NATS_STREAM": fresh_name}))

Each run registers its own enterprise (a random valid credit code), so runs can share a store.
The expert and instrument bookings each write two aggregates in one save.

Like the eventsourcing library's own examples, each step is checked as it is taken: the case
read back from the store after every command says what that command did, so a scenario that
goes wrong fails at the step that went wrong, not at the end.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from domain.application import OneStop
from domain.commands import (AcceptCase, AssignExpert, BookEquipment, CloseCase, PlanImprovement,
                             RateCase, RecordVisit, RegisterEnterprise, ReleaseEquipment,
                             ResolveCase, ScheduleAppointment, SubmitCase, VisitFinding)
from tests.domain.support import START, World, credit_code


def run_case_scenario(app: OneStop) -> dict[str, Any]:
    """From the online order to closure; returns what a store-specific test may check."""
    world = World(app)
    positions = []

    # A brick maker in Laisu registers with its credit code, on the online platform.
    enterprise_id = app.register_enterprise(world.ctx("portal", "厂长"), RegisterEnterprise(
        credit_code=credit_code(), name="永川来苏页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu")).id
    # It orders a quality-management service online: its bricks are crumbling.
    order = world.ctx("portal", "厂长")
    case_id = app.submit_case(order, SubmitCase(
        enterprise_id=enterprise_id, service_type="quality_management",
        description="Bricks turn to powder since the coal-gangue supply stopped",
        channel="online_platform")).id
    case = app.get_case(case_id)
    assert (case.status, case.enterprise_id, case.lead) == ("submitted", enterprise_id, None)
    assert case.taker == "portal"
    # The market-regulation bureau accepts it, routes it to the economy and IT commission with
    # the bureau collaborating, due in the catalogue's 30 days.
    routed = app.accept_case(world.ctx(causation_id=order.command_id), AcceptCase(
        case_id=case_id, lead="jxw", collaborators=("samr", "zjw")))
    positions.append(routed.position)
    case = app.get_case(case_id)
    assert (case.status, case.lead, case.collaborators) == ("accepted", "jxw", ("samr", "zjw"))
    assert case.due == START + timedelta(days=case.sla_days) and case.sla_days == 30
    # The lead department makes an appointment at the factory for the next week.
    world.now = START + timedelta(days=1)
    app.schedule_appointment(world.ctx("jxw", "陈干事"), ScheduleAppointment(
        case_id=case_id, at=START + timedelta(days=7), place="来苏镇 factory yard"))
    assert app.get_case(case_id).appointment == (START + timedelta(days=7), "来苏镇 factory yard")
    # An expert from the expert library and a spectrometer from the instrument library are
    # booked for that day; each booking writes the case and the resource together.
    expert_id, equipment_id = world.expert(), world.equipment()
    visit_start, visit_end = START + timedelta(days=7), START + timedelta(days=7, hours=4)
    expert_booking = app.assign_expert(world.ctx("jxw", "陈干事"), AssignExpert(
        case_id=case_id, expert_id=expert_id, start=visit_start, end=visit_end))
    equipment_booking = app.book_equipment(world.ctx("jxw", "陈干事"), BookEquipment(
        case_id=case_id, equipment_id=equipment_id, start=visit_start, end=visit_end))
    positions += [expert_booking.position, equipment_booking.position]
    case = app.get_case(case_id)
    assert case.experts == {expert_booking.booking_id: expert_id}
    assert case.equipment == {equipment_booking.booking_id: equipment_id}
    assert expert_booking.booking_id in app.repository.get(expert_id).bookings
    assert equipment_booking.booking_id in app.repository.get(equipment_id).bookings
    # The expert walks the whole process and reports findings per stage.
    world.now = visit_end
    findings = (
        ("raw_materials", "shale replaces coal gangue; no fuel value"),
        ("production", "firing curve unchanged, underfired cores"),
        ("inspection", "compressive strength not tested per batch"),
        ("finished_products", "bricks crumble within weeks"),
    )
    app.record_visit(world.ctx("jxw", "李教授"), RecordVisit(
        case_id=case_id, visited_at=visit_start, experts=(expert_id,),
        findings=tuple(VisitFinding(stage=stage, finding=found) for stage, found in findings),
        recommendations=("add internal fuel to the mix", "raise firing temperature",
                         "test every batch")))
    visits = app.get_case(case_id).visits
    assert len(visits) == 1 and [f.stage for f in visits[0].findings] == [s for s, _ in findings]
    # An improvement plan follows; the instrument is released early.
    app.plan_improvement(world.ctx("jxw", "陈干事"), PlanImprovement(
        case_id=case_id, actions=("adjust the formula", "retrain kiln operators"),
        target_date=date(2026, 4, 30)))
    app.release_equipment(world.ctx("jxw", "陈干事"), ReleaseEquipment(
        case_id=case_id, booking_id=equipment_booking.booking_id))
    case = app.get_case(case_id)
    assert case.plan is not None and case.plan.target_date == date(2026, 4, 30)
    assert case.equipment == {}
    assert equipment_booking.booking_id not in app.repository.get(equipment_id).bookings
    # The case is resolved with its money figures, in yuan.
    world.now = START + timedelta(days=20)
    app.resolve_case(world.ctx("jxw", "陈干事"), ResolveCase(
        case_id=case_id, outcome="Formula adjusted, bricks pass",
        invested_yuan=Decimal("120000.00"), saved_per_year_yuan=Decimal("350000.50"),
        expected_benefit_yuan=Decimal("2000000")))
    case = app.get_case(case_id)
    assert case.status == "resolved" and case.resolution.invested_yuan == Decimal("120000.00")
    # The enterprise rates it 2 of 5: the case reopens with a new due date.
    app.rate_case(world.ctx("portal", "厂长"), RateCase(
        case_id=case_id, score=2, comment="still some powder in winter"))
    reopened = app.get_case(case_id)
    assert (reopened.status, reopened.rating) == ("reopened", 2)
    # The department follows up and resolves it again; now it is rated 5 and closed.
    world.now = START + timedelta(days=35)
    app.resolve_case(world.ctx("jxw", "陈干事"), ResolveCase(
        case_id=case_id, outcome="Winter firing schedule added",
        invested_yuan=Decimal("150000.00"), saved_per_year_yuan=Decimal("400000.00"),
        expected_benefit_yuan=Decimal("2000000.00")))
    assert app.get_case(case_id).status == "resolved"
    app.rate_case(world.ctx("portal", "厂长"), RateCase(case_id=case_id, score=5, comment="满意"))
    assert app.get_case(case_id).rating == 5
    closed = app.close_case(world.ctx("samr", "王科长"), CloseCase(case_id=case_id))
    positions.append(closed.position)
    assert app.get_case(case_id).status == "closed"
    return {"case_id": case_id, "expert_id": expert_id, "equipment_id": equipment_id,
            "expert_booking": expert_booking, "equipment_booking": equipment_booking,
            "reopened_status": reopened.status, "case": app.get_case(case_id),
            "positions": positions}
