"""Worklists, enterprise histories, schedules and intake, given domain events."""

from datetime import timedelta

from domain.commands import AcceptCase, ChangeEnterpriseProfile, SubmitCase, TransferCase
from projections.enterprises import CASES as ENTERPRISE_CASES
from projections.enterprises import ENTERPRISES, EnterpriseHistory
from projections.equipment import EQUIPMENT, EquipmentBookings
from projections.experts import BOOKINGS, EXPERTS, ExpertSchedules
from projections.intake import INTAKE, Intake
from projections.logged import logged_from_stored
from projections.memory import InMemoryViews
from projections.worklists import ENTRIES, Worklists
from tests.domain.scenario import run_case_scenario
from tests.projections.support import logged_since


def test_a_submitted_case_waits_on_the_bureau_desk_then_moves_to_its_departments(world):
    case_id = world.case(accepted=False)
    triage = InMemoryViews().fold(Worklists(), logged_since(world))
    assert list(triage.rows(ENTRIES)) == [f"samr:{case_id}"]
    assert triage.get(ENTRIES, f"samr:{case_id}")["role"] == "triage"

    world.app.accept_case(world.ctx(), AcceptCase(case_id=case_id, lead="jxw",
                                                  collaborators=("zjw",)))
    world.app.transfer_case(world.ctx(), TransferCase(case_id=case_id, to="jtj",
                                                      reason="transport firm"))
    routed = InMemoryViews().fold(Worklists(), logged_since(world))
    roles = {key: doc["role"] for key, doc in routed.rows(ENTRIES).items()}
    assert roles == {f"jtj:{case_id}": "lead", f"zjw:{case_id}": "collaborator"}
    assert routed.get(ENTRIES, f"jtj:{case_id}")["due_utc"].endswith("Z")


def test_a_closed_case_leaves_every_desk(world):
    run_case_scenario(world.app)
    views = InMemoryViews().fold(Worklists(), logged_since(world))
    assert views.rows(ENTRIES) == {} and views.rows("worklist_cases") == {}


def test_an_enterprise_history_holds_its_profile_changes_and_cases(world):
    facts = run_case_scenario(world.app)
    enterprise_id = world.app.get_case(facts["case_id"]).enterprise_id
    world.app.change_enterprise_profile(world.ctx("portal", "厂长"), ChangeEnterpriseProfile(
        enterprise_id=enterprise_id, scale="above_scale"))
    views = InMemoryViews().fold(EnterpriseHistory(), logged_since(world))

    enterprise = views.get(ENTERPRISES, str(enterprise_id))
    assert enterprise["scale"] == "above_scale" and enterprise["cases"] == 1
    assert enterprise["changes"][0]["changed"] == {"scale": "above_scale"}
    case = views.get(ENTERPRISE_CASES, str(facts["case_id"]))
    assert case["status"] == "closed" and len(case["resolutions"]) == 2
    assert case["departments"] == ["jxw", "samr", "zjw"]


def test_version_1_registrations_are_upcast_before_any_view_sees_them(world):
    enterprise_id = world.enterprise()
    stored = world.app.recorder.select_notifications(start=1, limit=1)[0]
    old = {"credit_code": "91500118MA5U7X0Q1C", "name": "老厂", "above_scale": True,
           "town": "laisu", "timestamp": "2020-01-01T00:00:00+08:00",
           "actor": {"principal": "portal", "person": "x"}, "command_id": "c",
           "correlation_id": "c", "causation_id": None}
    event = logged_from_stored(1, stored.originator_id, 1, "enterprise.registered", old)
    views = InMemoryViews().fold(EnterpriseHistory(), [event])
    assert views.get(ENTERPRISES, str(enterprise_id))["scale"] == "above_scale"
    assert views.get(ENTERPRISES, str(enterprise_id))["industry"] == "unspecified"


def test_expert_and_instrument_bookings_with_workload(world):
    facts = run_case_scenario(world.app)
    events = logged_since(world)
    experts = InMemoryViews().fold(ExpertSchedules(), events)
    instruments = InMemoryViews().fold(EquipmentBookings(), events)

    expert = experts.get(EXPERTS, str(facts["expert_id"]))
    assert expert["bookings"] == 1 and expert["booked_hours"] == 4.0 and expert["visits"] == 1
    booking = experts.get(BOOKINGS, str(facts["expert_booking"].booking_id))
    assert booking["status"] == "booked" and booking["start_utc"] == "2026-03-09T01:00:00.000000Z"
    instrument = instruments.get(EQUIPMENT, str(facts["equipment_id"]))
    assert instrument["bookings"] == 0 and instrument["booked_hours"] == 0.0
    released = instruments.get("equipment_bookings", str(facts["equipment_booking"].booking_id))
    assert released["status"] == "released" and released["released_by"]["person"] == "陈干事"


def test_intake_counts_by_day_channel_station_and_service(world):
    world.case()
    world.now += timedelta(days=1)
    enterprise = world.enterprise()
    for _ in range(2):
        world.app.submit_case(world.ctx("ipc_gangqiao", "窗口"), SubmitCase(
            enterprise_id=enterprise, service_type="metrology", description="calibrate",
            channel="offline_window", station="ipc_gangqiao"))
    views = InMemoryViews().fold(Intake(), logged_since(world))
    counts = {key: doc["submitted"] for key, doc in views.rows(INTAKE).items()}
    assert counts == {"2026-03-02|online_platform|-|quality_management": 1,
                      "2026-03-03|offline_window|ipc_gangqiao|metrology": 2}
