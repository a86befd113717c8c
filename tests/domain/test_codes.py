"""Fields that take a reference code take only the district's codes: every command's use case
refuses any other with `<record>.unknown_<kind>`, before it looks at anything else."""

from __future__ import annotations

import pytest

from domain.application import COMMANDS
from domain.codes import coded_fields
from domain.commands import RegisterEnterprise
from domain.errors import DomainError
from tests.domain.support import credit_code

CODED = {name: entry for name, entry in COMMANDS.items() if coded_fields(entry.command)}


def test_the_commands_that_take_codes_are_those_the_contract_lists_them_for():
    assert set(CODED) == {
        "enterprise.register", "enterprise.change_profile", "case.submit", "case.accept",
        "case.transfer", "campaign.launch", "dispute.schedule_mediation", "recall.order",
        "improvement.open"}
    assert coded_fields(COMMANDS["case.submit"].command) == {
        "service_type": "service", "channel": "channel", "station": "station"}


@pytest.mark.parametrize("name", sorted(CODED))
def test_every_field_that_takes_a_code_refuses_one_the_district_does_not_have(world, name):
    entry, codes = CODED[name], world.app.reference.codes.by_kind
    record = name.split(".")[0]

    def code(field: str, value: str):
        annotation = str(entry.command.model_fields[field].annotation)
        return (value,) if "tuple" in annotation else value

    good = {field: code(field, min(codes[kind]))
            for field, kind in coded_fields(entry.command).items()}
    for field, kind in coded_fields(entry.command).items():
        # Only the codes matter: they are checked before anything else is looked at.
        command = entry.command.model_construct(**{**good, field: code(field, "nowhere")})
        with pytest.raises(DomainError) as refused:
            entry.use_case(world.app, world.ctx(), command)
        assert refused.value.code == f"{record}.unknown_{kind}", field
        assert refused.value.fields == {field: "nowhere"}


def test_industries_are_the_districts_own(world):
    with pytest.raises(DomainError) as refused:
        world.app.register_enterprise(world.ctx("portal"), RegisterEnterprise(
            credit_code=credit_code(), name="x", scale="small_micro", industry="bricks",
            town="laisu"))
    assert refused.value.code == "enterprise.unknown_industry"
    assert world.app.reference.codes.by_kind["industry"] >= {"building_bricks", "ceramics"}
