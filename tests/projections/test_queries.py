"""Queries over a store filled from the log: visibility, filters, paging (on SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.views import SqliteViewStore
from domain.commands import AcceptCase, TransferCase
from projections import ALL_PROJECTIONS
from projections.queries import (
    Asker,
    QueryError,
    enterprise_history,
    equipment_utilisation,
    expert_schedule,
    expert_workload,
    get_case,
    intake_counts,
    list_cases,
    list_worklist,
)
from tests.domain.scenario import run_case_scenario
from tests.domain.support import START
from tests.projections.support import logged_since

SAMR, AUDITOR = Asker("samr", "lead"), Asker("auditor", "auditor")
JXW, ZJW, JTJ = (Asker(code, "department") for code in ("jxw", "zjw", "jtj"))


@pytest.fixture
def district(world, tmp_path):
    facts = run_case_scenario(world.app)
    world.now = START
    open_cases = [world.case() for _ in range(3)]  # jxw leads, due in 30 days
    waiting = world.case(accepted=False)
    world.app.accept_case(world.ctx(), AcceptCase(case_id=waiting, lead="zjw"))
    world.app.transfer_case(world.ctx(), TransferCase(case_id=open_cases[2], to="jtj",
                                                      reason="a transport firm"))
    with SqliteViewStore(tmp_path / "views.sqlite3") as store:
        store.open(ALL_PROJECTIONS)
        for projection in ALL_PROJECTIONS:
            store.apply_batch(projection, logged_since(world))
        yield store, facts, [str(c) for c in open_cases], str(waiting)


def refused(code, call, *args, **kwargs):
    with pytest.raises(QueryError) as error:
        call(*args, **kwargs)
    assert error.value.code == code


def test_a_department_pages_through_its_own_worklist_only(district):
    store, _, open_cases, _ = district
    first = list_worklist(store, JXW, "jxw", limit=1)
    second = list_worklist(store, JXW, "jxw", limit=1, offset=1)
    assert first["total"] == 2 and {first["items"][0]["case_id"],
                                    second["items"][0]["case_id"]} == set(open_cases[:2])
    assert list_worklist(store, SAMR, "jxw")["total"] == 2
    refused("query.forbidden", list_worklist, store, ZJW, "jxw")
    refused("query.invalid", list_worklist, store, JXW, "jxw", status="lost")
    refused("query.invalid", list_worklist, store, JXW, "jxw", limit=0)


def test_overdue_is_asked_as_of_a_time(district):
    store, *_ = district
    assert list_worklist(store, JXW, "jxw", overdue_as_of=START + timedelta(days=29))[
        "total"] == 0
    late = list_worklist(store, JXW, "jxw", overdue_as_of=START + timedelta(days=31))
    assert late["total"] == 2 and all(i["status"] == "accepted" for i in late["items"])
    assert list_worklist(store, JTJ, "jtj", role="lead")["total"] == 1
    refused("query.invalid", list_worklist, store, JXW, "jxw", overdue_as_of="tuesday")


def test_cases_are_seen_by_the_departments_involved(district):
    store, facts, open_cases, waiting = district
    case_id = str(facts["case_id"])
    assert get_case(store, ZJW, case_id)["case"]["status"] == "closed"
    assert get_case(store, AUDITOR, case_id)["timeline"][-1]["topic"] == "case.closed"
    refused("query.forbidden", get_case, store, JTJ, case_id)
    refused("query.not_found", get_case, store, SAMR, "00000000-0000-0000-0000-000000000000")
    moved = get_case(store, JXW, open_cases[2])  # transferred away: seen up to the transfer
    assert moved["timeline"][-1]["topic"] == "case.transferred"
    assert list_cases(store, ZJW)["items"][0]["case_id"] == waiting
    assert list_cases(store, SAMR, status="closed")["total"] == 1
    refused("query.forbidden", list_cases, store, ZJW, lead="jxw")


def test_an_enterprise_history_shows_each_asker_its_own_cases(district):
    store, facts, *_ = district
    enterprise_id = str(facts["case"].enterprise_id)
    mine = enterprise_history(store, JXW, enterprise_id)
    assert mine["enterprise"]["name"] == "永川来苏页岩砖厂"
    assert mine["cases"]["total"] == 1
    assert enterprise_history(store, JTJ, enterprise_id)["cases"]["total"] == 0
    refused("query.not_found", enterprise_history, store, SAMR, "nope")


def test_schedules_workload_and_utilisation_over_a_period(district):
    store, facts, *_ = district
    week = (START + timedelta(days=7), START + timedelta(days=8))
    schedule = expert_schedule(store, JXW, str(facts["expert_id"]), *week)
    assert schedule["bookings"]["total"] == 1 and schedule["expert"]["visits"] == 1
    [booking] = schedule["bookings"]["items"]
    # Another department sees when the expert is taken, not for whose case or by whom.
    [theirs] = expert_schedule(store, JTJ, str(facts["expert_id"]), *week)["bookings"]["items"]
    assert theirs["private"] and theirs["case_id"] is None and theirs["booked_by"] is None
    assert (theirs["start_utc"], theirs["end_utc"]) == (booking["start_utc"],
                                                        booking["end_utc"])
    assert expert_schedule(store, SAMR, str(facts["expert_id"]), *week)["bookings"][
        "items"] == [booking]
    assert expert_schedule(store, JXW, str(facts["expert_id"]), START, START + timedelta(
        days=1))["bookings"]["total"] == 0
    workload = expert_workload(store, SAMR, *week)
    assert workload["items"][0]["booked_hours"] == 4.0
    assert workload["items"][0]["utilisation"] == pytest.approx(4 / 24, abs=1e-6)
    assert equipment_utilisation(store, SAMR, *week)["items"][0]["booked_hours"] == 0.0
    refused("query.invalid", expert_workload, store, SAMR, week[1], week[0])
    refused("query.forbidden", expert_workload, store, Asker("portal", "portal"), *week)


def test_intake_counts_group_as_asked(district):
    store, *_ = district
    counts = intake_counts(store, SAMR, group_by=["month", "channel"])
    assert counts == {"groups": [{"month": "2026-03", "channel": "online_platform",
                                  "submitted": 5}], "total": 5}
    station = intake_counts(store, Asker("ipc_gangqiao", "station"))
    assert station["total"] == 0
    refused("query.forbidden", intake_counts, store, Asker("ipc_gangqiao", "station"),
            station="asc_window")
    refused("query.invalid", intake_counts, store, SAMR, group_by=["colour"])
