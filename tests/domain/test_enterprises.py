import json

import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from domain.commands import ChangeEnterpriseProfile, RegisterEnterprise
from domain.enterprises import Enterprise, enterprise_id
from domain.errors import DomainError
from tests.domain.support import START, credit_code

CODE = "9144030071526726XG"


def register(world, code=CODE, command_id=None, **overrides):
    fields = dict(credit_code=code, name="Andes Motorcycle", scale="above_scale",
                  industry="motorcycles", town="shenglilu") | overrides
    ctx = world.ctx("portal", "经理", **({"command_id": command_id} if command_id else {}))
    return world.app.register_enterprise(ctx, RegisterEnterprise(**fields))


def test_registers_an_enterprise_under_an_id_derived_from_its_credit_code(world):
    outcome = register(world)

    enterprise = world.app.repository.get(outcome.id)
    assert outcome.id == enterprise_id(CODE)
    assert (enterprise.name, enterprise.scale, enterprise.town) == \
        ("Andes Motorcycle", "above_scale", "shenglilu")


def test_refuses_a_credit_code_with_a_wrong_check_character(world):
    with pytest.raises(DomainError) as refused:
        register(world, code="9144030071526726XH")

    assert refused.value.code == "enterprise.invalid_credit_code"
    assert "check character" in refused.value.message


def test_refuses_a_second_registration_of_the_same_code(world):
    register(world)

    with pytest.raises(DomainError) as refused:
        register(world, code=CODE.lower(), name="Someone else")

    assert refused.value.code == "enterprise.already_registered"
    assert world.app.repository.get(enterprise_id(CODE)).name == "Andes Motorcycle"


def test_a_retried_registration_returns_the_first_outcome_without_writing(world):
    first = register(world, command_id="register-andes")
    head = world.app.recorder.max_notification_id()

    again = register(world, command_id="register-andes")

    assert again.replayed and again.id == first.id
    assert world.app.recorder.max_notification_id() == head


def test_refuses_a_town_outside_the_district(world):
    with pytest.raises(DomainError) as refused:
        register(world, town="jiangbei")

    assert refused.value.code == "enterprise.unknown_town"


def test_a_profile_change_records_only_what_changed(world):
    enterprise = register(world).id

    world.app.change_enterprise_profile(world.ctx(), ChangeEnterpriseProfile(
        enterprise_id=enterprise, scale="small_micro", name="Andes Motorcycle"))

    events = list(world.app.events.get(enterprise))
    assert isinstance(events[-1], Enterprise.ProfileChanged)
    assert events[-1].model_dump(exclude_none=True).keys() >= {"scale"}
    assert events[-1].name is None
    assert world.app.repository.get(enterprise).scale == "small_micro"


def test_a_profile_change_that_changes_nothing_writes_nothing(world):
    enterprise = register(world).id

    outcome = world.app.change_enterprise_profile(world.ctx(), ChangeEnterpriseProfile(
        enterprise_id=enterprise, town="shenglilu"))

    assert outcome.position is None
    assert world.app.repository.get(enterprise).version == 1


def test_a_version_1_registration_is_upcast_when_read(world):
    # Given a registration stored by the first release: a flag for the scale, no industry.
    code = credit_code()
    v1 = {"timestamp": START.isoformat(), "actor": {"principal": "portal", "person": "经理"},
          "command_id": "c1", "correlation_id": "c1", "causation_id": None,
          "credit_code": code, "name": "永高塑业", "above_scale": True, "town": "daan"}
    world.app.recorder.insert_events([StoredEvent(
        originator_id=enterprise_id(code), originator_version=1,
        topic="enterprise.registered", state=json.dumps(v1).encode())])

    enterprise = world.app.repository.get(enterprise_id(code))

    assert (enterprise.scale, enterprise.industry) == ("above_scale", "unspecified")


def test_a_stored_event_that_fits_no_version_is_reported_with_its_place_in_the_log(world):
    code = credit_code()
    world.app.recorder.insert_events([StoredEvent(
        originator_id=enterprise_id(code), originator_version=1, topic="enterprise.registered",
        state=json.dumps({"class_version": 2, "name": "no credit code"}).encode())])

    with pytest.raises(MapperDeserialisationError, match="enterprise.registered.*version 1"):
        world.app.repository.get(enterprise_id(code))


def test_refuses_moving_an_enterprise_to_a_town_outside_the_district(world):
    enterprise = register(world).id

    with pytest.raises(DomainError) as refused:
        world.app.change_enterprise_profile(world.ctx(), ChangeEnterpriseProfile(
            enterprise_id=enterprise, town="jiangbei"))

    assert refused.value.code == "enterprise.unknown_town"
