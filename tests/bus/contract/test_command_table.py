"""One table of commands drives the bus: the subjects a principal may send on (its NATS
permissions), the request/reply and intake channels of the published contract, and the
dispatcher. A command added to the domain's table appears in all of them, with no other edit."""

from __future__ import annotations

from importlib import resources

from bus.contract.asyncapi import build
from bus.contract.identity import Principal, imports_of
from bus.contract.messages import wire_schema
from bus.contract.operations import OPERATIONS, Operation
from domain.application import COMMANDS
from domain.commands import CaseCommand


class PingCase(CaseCommand):
    public_name = "case.ping"
    purpose = "Ask a case to answer."
    states = frozenset({"accepted"})


def test_the_bus_accepts_exactly_the_domains_commands():
    assert list(OPERATIONS) == list(COMMANDS)
    for name, operation in OPERATIONS.items():
        assert operation.command is COMMANDS[name].command
        envelope = {"command_id", "person", "correlation_id", "causation_id", "occurred_at"}
        assert set(operation.schema.model_fields) == envelope | set(
            operation.command.model_fields)


def test_a_command_in_the_table_has_its_subjects_permissions_and_contract(monkeypatch,
                                                                          tmp_path):
    monkeypatch.setitem(OPERATIONS, "case.ping", Operation("case.ping", PingCase,
                                                           wire_schema(PingCase)))
    rules = tmp_path / "authority.toml"
    rules.write_text((resources.files("domain") / "authority.toml").read_text("utf-8")
                     + '"case.ping" = ["case_lead"]\n')
    monkeypatch.setenv("AUTHORITY_RULES", str(rules))

    allowed = {imported.subject for imported in imports_of(Principal("jxw", "department"),
                                                           "ONESTOP")}
    assert {"onestop.cmd.jxw.case.ping", "onestop.intake.jxw.case.ping"} <= allowed

    document = build()
    for way in ("cmd", "intake"):
        operation = document["operations"][f"send.{way}.case.ping"]
        assert "Who may send it: the department leading the case" in operation["summary"]
        assert "When the case is accepted" in operation["summary"]
    assert "PingCase" in document["components"]["messages"]


def test_no_subject_is_open_to_a_command_outside_the_table():
    allowed = {imported.subject for imported in imports_of(Principal("jxw", "department"),
                                                           "ONESTOP")}
    commands = {subject for subject in allowed if subject.startswith("onestop.cmd.")}
    assert commands == {f"onestop.cmd.jxw.{name}" for name in OPERATIONS}
