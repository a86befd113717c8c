import json

from eventsourcing.application import project_aggregate

from domain.application import OneStop
from domain.cases import Case
from domain.resources import Expert
from domain.snapshots import state_model
from tests.domain.scenario import run_case_scenario
from tests.domain.support import IN_MEMORY


class SnapshottingOneStop(OneStop):
    snapshotting_intervals = {Case: 4, Expert: 2}


def state_of(aggregate):
    model = state_model(type(aggregate))
    return model.model_validate({n: getattr(aggregate, n) for n in model.model_fields}) \
        .model_dump(mode="json") | {"version": aggregate.version}


def test_a_case_loaded_from_a_snapshot_equals_the_case_replayed_from_all_its_events():
    app = SnapshottingOneStop(env=IN_MEMORY)
    case_id = run_case_scenario(app)["case_id"]

    from_snapshot = app.repository.get(case_id)
    from_events = project_aggregate(None, app.events.get(case_id))

    assert [s.originator_version for s in app.snapshots.get(case_id)] == [4, 8, 12]
    assert state_of(from_snapshot) == state_of(from_events)


def test_an_expert_loaded_from_a_snapshot_keeps_its_bookings():
    app = SnapshottingOneStop(env=IN_MEMORY)
    expert_id = run_case_scenario(app)["expert_id"]

    expert = app.repository.get(expert_id)

    assert [s.originator_version for s in app.snapshots.get(expert_id)] == [2]
    assert state_of(expert) == state_of(project_aggregate(None, app.events.get(expert_id)))
    assert len(expert.bookings) == 1


def test_snapshots_are_stored_as_plain_json():
    app = SnapshottingOneStop(env=IN_MEMORY)
    case_id = run_case_scenario(app)["case_id"]

    record = app.snapshots.recorder.select_events(case_id, desc=True, limit=1)[0]
    body = json.loads(record.state)
    assert record.topic == "aggregate.snapshot"
    assert body["aggregate"] == "case" and body["state"]["status"] == "resolved"
    assert body["state"]["resolution"]["invested_yuan"] == "150000.00"
