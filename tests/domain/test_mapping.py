import json
import re
from decimal import Decimal

from eventsourcing.utils import resolve_topic

from domain import case_events
from domain.application import OneStop
from domain.base import Aggregate, DomainEvent
from domain.commands import AcceptCase, ResolveCase, SubmitCase
from tests.domain.scenario import run_case_scenario
from tests.domain.support import IN_MEMORY

ORJSON = {"TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder"}


def all_event_classes():
    found, todo = set(), list(Aggregate._owners)
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def stored(app, position):
    return app.recorder.select_notifications(start=position, limit=1)[0]


def test_events_are_stored_as_plain_json_under_their_public_name(world):
    case_id = world.case()
    outcome = world.app.resolve_case(world.ctx(), ResolveCase(
        case_id=case_id, outcome="fixed", invested_yuan=Decimal("38810000.00"),
        saved_per_year_yuan=Decimal("1000000"), expected_benefit_yuan=Decimal("240000000")))

    record = stored(world.app, outcome.position)
    state = json.loads(record.state)
    assert record.topic == "case.resolved"
    assert state["invested_yuan"] == "38810000.00"
    assert state["actor"] == {"principal": "samr", "person": "王科长"}
    assert "originator_id" not in state and "_type_" not in record.state.decode()


def test_money_round_trips_exactly(world):
    case_id = world.case()
    world.app.resolve_case(world.ctx(), ResolveCase(
        case_id=case_id, outcome="fixed", invested_yuan=Decimal("0.10"),
        saved_per_year_yuan=Decimal("999999.99"), expected_benefit_yuan=Decimal("240000000.00")))

    resolution = world.app.repository.get(case_id).resolution
    assert (resolution.invested_yuan, resolution.saved_per_year_yuan) == \
        (Decimal("0.10"), Decimal("999999.99"))
    assert str(resolution.expected_benefit_yuan) == "240000000.00"


def test_the_class_version_is_stored_when_above_1(world):
    world.enterprise()

    record = stored(world.app, 1)
    assert record.topic == "enterprise.registered"
    assert json.loads(record.state)["class_version"] == 2


def test_the_scenario_runs_with_the_orjson_transcoder():
    app = OneStop(env=IN_MEMORY | ORJSON)

    result = run_case_scenario(app)

    assert result["case"].status == "closed"
    assert type(app.mapper.transcoder).__name__ == "OrjsonTranscoder"


def test_the_application_defaults_to_the_pydantic_mapper(world):
    assert type(world.app.mapper).__name__ == "PydanticMapper"


def test_every_public_name_is_unique_dotted_and_resolves_to_its_class():
    names = {}
    for cls in all_event_classes():
        if "public_name" in cls.__dict__:
            assert re.fullmatch(r"[a-z]+\.[a-z_]+", cls.public_name), cls
            assert names.setdefault(cls.public_name, cls) is cls
            assert resolve_topic(cls.public_name) is cls
    assert len(names) >= 30


def test_a_public_name_survives_a_python_rename():
    renamed = type("SubmittedRenamed", (case_events.Submitted,), {"__module__": "elsewhere"})

    assert resolve_topic("case.submitted") is case_events.Submitted
    assert renamed.public_name == "case.submitted"


def test_every_event_says_who_when_and_why(world):
    order = world.ctx("portal", "厂长", correlation_id="order-42")
    enterprise = world.enterprise()
    case_id = world.app.submit_case(order, SubmitCase(
        enterprise_id=enterprise, service_type="metrology", description="calibrate our gauges",
        channel="offline_window", station="asc_window")).id
    world.app.accept_case(world.ctx(causation_id=order.command_id,
                                    correlation_id="order-42"), AcceptCase(case_id=case_id))

    submitted, accepted = world.app.events.get(case_id)
    assert isinstance(submitted, DomainEvent)
    assert (submitted.actor.principal, submitted.correlation_id) == ("portal", "order-42")
    assert submitted.station == "asc_window" and submitted.timestamp == world.now
    assert (accepted.actor.principal, accepted.causation_id) == ("samr", order.command_id)
    assert accepted.correlation_id == "order-42"


def test_a_context_without_a_correlation_correlates_on_its_own_command(world):
    ctx = world.ctx(command_id="c-1")

    caused = ctx.caused("c-2")

    assert (caused.correlation_id, caused.causation_id) == ("c-1", "c-1")


def test_the_store_derives_a_versioned_cloudevents_type_from_the_public_name():
    from adapters.jetstream.cloudevents import cloudevent_type

    assert cloudevent_type("case.submitted") == "cn.gov.yongchuan.onestop.case.submitted.v1"
    assert cloudevent_type("enterprise.registered") == \
        "cn.gov.yongchuan.onestop.enterprise.registered.v2"
