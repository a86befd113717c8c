"""The rules of authority: read from the district's file, checked on load, decided with the
state of the record a command acts on (pure domain, in memory; tests/bus/service/test_authority.py sends
every command as every principal over the real bus)."""

from __future__ import annotations

from importlib import resources
from uuid import uuid4

import pytest

from domain.application import COMMANDS, OneStop
from domain.authority import ROLES, load_authority
from domain.catalogue import catalogue, handles
from domain.commands import (AcceptCase, CaseCommand, ResolveCase, SubmitCase, TransferCase,
                             WithdrawCase)
from domain.errors import DomainError
from domain.reference import ReferenceDataError, load_reference
from domain.service import Outcome
from tests.domain.support import IN_MEMORY, World


def refusal(world: World, principal: str, command) -> DomainError:
    with pytest.raises(DomainError) as refused:
        world.app.execute(world.ctx(principal), command)
    return refused.value


def test_the_districts_rules_cover_every_command_with_known_roles():
    authority = load_authority(load_reference(), COMMANDS)
    assert set(authority.rules) == set(COMMANDS)
    assert {role.name for roles in authority.rules.values() for role in roles} <= set(ROLES)


@pytest.mark.parametrize("text, problem", [
    ('[commands]\n"case.accept" = ["lead_bureau"]\n', "commands.case.close: missing"),
    ('[commands]\n"case.fly" = ["lead_bureau"]\n', "commands.case.fly: not a command"),
    ('[commands]\n"case.accept" = ["king"]\n', "commands.case.accept: unknown role 'king'"),
    ('[commands]\n"case.accept" = []\n', "commands.case.accept: a list of one role or more"),
    ('commands = 1\n', "no [commands] table"),
    ('[commands\n', "not valid TOML"),
])
def test_a_rules_file_with_a_mistake_is_refused_on_load_naming_it(tmp_path, text, problem):
    rules = tmp_path / "authority.toml"
    rules.write_text(text)
    with pytest.raises(ReferenceDataError, match=problem.replace(".", r"\.").replace("[", r"\[")):
        load_authority(load_reference(), COMMANDS, rules)
    with pytest.raises(ReferenceDataError):
        OneStop({**IN_MEMORY, "AUTHORITY_RULES": str(rules)})


def test_a_district_may_change_who_does_what(tmp_path, world):
    # Here collaborators may resolve a case too: one line of the file, no code.
    default = (resources.files("domain") / "authority.toml").read_text(encoding="utf-8")
    rules = tmp_path / "authority.toml"
    rules.write_text(default.replace('"case.resolve" = ["case_lead"]',
                                     '"case.resolve" = ["case_lead", "case_collaborator"]'))
    app = OneStop({**IN_MEMORY, "AUTHORITY_RULES": str(rules)})
    other = World(app)
    case_id = other.case(accepted=False)
    app.execute(other.ctx("samr"), AcceptCase(case_id=case_id, lead="jxw",
                                              collaborators=("zjw",)))
    resolved = app.execute(other.ctx("zjw"), ResolveCase(
        case_id=case_id, outcome="fixed", invested_yuan=0, saved_per_year_yuan=0,
        expected_benefit_yuan=0))
    assert not resolved.replayed


def test_a_department_cannot_take_over_a_case(world):
    case_id = world.case(accepted=False)
    world.app.execute(world.ctx("samr"), AcceptCase(case_id=case_id, lead="jxw",
                                                    collaborators=("zjw",)))
    take_over = refusal(world, "zjw", TransferCase(case_id=case_id, to="zjw", reason="ours"))
    assert take_over.code == "case.not_yours"
    assert take_over.fields == {"rule": "case.transfer", "roles": ["lead_bureau", "case_lead"]}
    assert world.app.get_case(case_id).lead == "jxw"
    world.app.execute(world.ctx("jxw"), TransferCase(case_id=case_id, to="kjj", reason="tech"))
    assert world.app.get_case(case_id).lead == "kjj"


def test_a_kind_that_never_may_is_told_so_and_no_record_is_looked_at(world):
    assert refusal(world, "post_laisu", AcceptCase(case_id=uuid4())).code \
        == "case.not_found"  # no such case: said to anyone
    case_id = world.case(accepted=False)
    refused = refusal(world, "post_laisu", AcceptCase(case_id=case_id))
    assert refused.code == "command.not_permitted"
    assert "post_laisu (station) may not send case.accept" in refused.message
    assert refusal(world, "auditor", AcceptCase(case_id=case_id)).code \
        == "command.not_permitted"
    assert refusal(world, "jxw", SubmitCase(
        enterprise_id=world.enterprise(), service_type="quality_management",
        description="x", channel="online_platform")).code == "command.not_permitted"


def test_only_the_station_that_took_a_case_withdraws_it(world):
    case_id = world.app.execute(world.ctx("post_laisu"), SubmitCase(
        enterprise_id=world.enterprise(), service_type="quality_management",
        description="x", channel="town_post")).id
    assert world.app.get_case(case_id).taker == "post_laisu"
    assert refusal(world, "post_wujian", WithdrawCase(case_id=case_id)).code \
        == "case.not_yours"
    assert refusal(world, "portal", WithdrawCase(case_id=case_id)).code == "case.not_yours"
    world.app.execute(world.ctx("post_laisu"), WithdrawCase(case_id=case_id))


def test_a_retry_gets_its_first_outcome_though_the_sender_may_no_longer_act(world):
    case_id = world.case(accepted=False)
    world.app.execute(world.ctx("samr"), AcceptCase(case_id=case_id, lead="jxw"))
    transfer = world.ctx("jxw")
    first = world.app.execute(transfer, TransferCase(case_id=case_id, to="kjj", reason="x"))
    again = world.app.execute(transfer, TransferCase(case_id=case_id, to="kjj", reason="x"))
    assert again.replayed and again.id == first.id


def test_a_new_command_is_one_declaration_and_its_handler():
    class PingCase(CaseCommand):
        public_name = "case.ping"
        purpose = "Ask the case to answer."

    class Extended(OneStop):
        @handles(PingCase)
        def ping_case(self, ctx, command: PingCase) -> Outcome:
            return Outcome(id=command.case_id, position=None)

    table = catalogue(Extended)
    assert table["case.ping"].use_case is Extended.ping_case
    assert set(table) == set(COMMANDS) | {"case.ping"}
    # And the district says who may send it, or the service does not start.
    with pytest.raises(ReferenceDataError, match="commands.case.ping: missing"):
        load_authority(load_reference(), table)
