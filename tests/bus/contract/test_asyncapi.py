"""The published contract: complete, self-contained, and the same as the copy in the repository."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from pydantic import ValidationError

from adapters.jetstream.cloudevents import cloudevent_type
from adapters.serialization import OrjsonTranscoder
from bus.cli.main import main
from bus.contract import subjects
from bus.contract.asyncapi import build, event_classes, render
from bus.contract.messages import MAX_COMMAND_BYTES
from bus.contract.operations import OPERATIONS
from bus.contract.queries import QUERIES
from bus.contract.schemas import CODE_SCHEMAS
from domain.authority import load_authority
from domain.base import Actor
from domain.case_events import Accepted
from domain.credit_code import ALPHABET, WEIGHTS
from domain.enterprises import Enterprise
from domain.mapping import PydanticMapper
from domain.reference import load_reference
from tests.contract_support import contract

STORED_COPY = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"
REGENERATE = "onestop asyncapi --output docs/asyncapi.json"


@pytest.fixture(scope="module")
def document() -> dict:
    return build()


def resolve(document: dict, ref: str):
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"{ref} does not resolve"
        node = node[token]
    return node


def refs_in(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs_in(value)]
    return []


def replies_of(operation: dict) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[1] for ref in operation["reply"]["messages"]}


def test_the_copy_in_the_repository_is_up_to_date(document):
    stored = STORED_COPY.read_text(encoding="utf-8") if STORED_COPY.exists() else ""
    if stored != render(document):  # no diff of 200 kB of JSON: the fix is one command
        pytest.fail(f"docs/asyncapi.json is out of date with the code: run `{REGENERATE}` "
                    "and commit it", pytrace=False)


def test_building_twice_gives_the_same_text(document):
    assert render(build()) == render(document)


def test_declares_asyncapi_3_and_the_embedded_server(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["embedded"] == {
        "host": "127.0.0.1:4244", "protocol": "nats",
        "description": document["servers"]["embedded"]["description"]}
    assert "_INBOX.<principal>" in document["info"]["description"]


def test_every_command_is_a_request_with_a_reply_and_an_intake_message(document):
    operations, channels = document["operations"], document["channels"]
    for name, operation in OPERATIONS.items():
        request, intake = operations[f"send.cmd.{name}"], operations[f"send.intake.{name}"]
        assert request["action"] == intake["action"] == "send"
        assert resolve(document, request["channel"]["$ref"])["address"] == \
            subjects.command("{principal}", name)
        assert resolve(document, intake["channel"]["$ref"])["address"] == \
            subjects.intake("{principal}", name)
        assert replies_of(request) == {"Done", f"{name}.refused"}
        # JetStream's acknowledgement at once; the outcome comes later, on the feed.
        assert replies_of(intake) == {"IntakeAck", "IntakeNotStored"}
        payload = resolve(document, f"#/components/messages/{operation.schema.__name__}")
        assert resolve(document, payload["payload"]["$ref"])["title"] == \
            operation.schema.__name__
    assert channels["feed.outcome"]["address"] == subjects.feed_outcome("{principal}")


def test_every_query_is_a_request_answered_with_the_views_position(document):
    operations = document["operations"]
    for name, query in QUERIES.items():
        request = operations[f"send.query.{name}"]
        assert resolve(document, request["channel"]["$ref"])["address"] == \
            subjects.query("{principal}", name)
        assert replies_of(request) == {f"{name}.answered", f"{name}.refused"}
        payload = resolve(document, f"#/components/messages/{query.schema.__name__}")
        properties = resolve(document, payload["payload"]["$ref"])["properties"]
        assert {"min_position", "wait_ms"} <= properties.keys()


def test_finds_every_event_including_those_nested_in_aggregates():
    names = [cls.public_name for cls in event_classes()]
    assert {"case.submitted", "enterprise.registered", "equipment.booked",
            "expert.released"} <= set(names)
    assert len(names) == len(set(names))


def test_every_event_has_a_message_with_its_exact_cloudevents_type(document):
    feed = document["channels"]["feed.case"]["messages"]
    log = document["channels"]["log.events"]["messages"]
    for event_class in event_classes():
        name = event_class.public_name
        message = document["components"]["messages"][name]
        exact = message["headers"]["allOf"][1]["properties"]
        assert exact["ce-type"] == {"const": cloudevent_type(name)}
        assert name in log
        assert (name in feed) == name.startswith(("case.", "evaluation."))


def test_the_cloudevents_headers_are_all_required(document):
    headers = document["components"]["schemas"]["EventHeaders"]
    assert {"ce-specversion", "ce-id", "ce-source", "ce-type", "ce-subject", "ce-time",
            "ce-datacontenttype"} <= set(headers["required"])


@pytest.mark.parametrize("event", [
    Accepted(originator_id=uuid4(), originator_version=2, timestamp=datetime.now(timezone.utc),
             actor=Actor(principal="samr", person="Li"), command_id="c1",
             correlation_id="c1", lead_department="samr", collaborators=("jxw",),
             sla_days=5, due=datetime.now(timezone.utc)),
    Enterprise.Registered(originator_id=uuid4(), originator_version=1,
                          timestamp=datetime.now(timezone.utc),
                          actor=Actor(principal="portal", person="Wang"), command_id="c2",
                          correlation_id="c2", credit_code="91500118MA5U000000",
                          name="Acme", scale="small_micro", industry="food", town="nanda"),
], ids=lambda event: event.public_name)
def test_an_event_payload_schema_describes_the_json_the_log_keeps(document, event):
    stored = orjson.loads(PydanticMapper(transcoder=OrjsonTranscoder()).to_stored_event(event)
                          .state)
    schema = document["components"]["schemas"][event.public_name]
    assert set(schema["required"]) <= set(stored) <= set(schema["properties"])


def test_every_ref_resolves_inside_the_document(document):
    refs = refs_in(document)
    assert refs
    for ref in refs:
        resolve(document, ref)


def test_operations_use_messages_of_their_own_channels(document):
    for key, operation in document["operations"].items():
        for side in (operation, operation.get("reply")):
            if side is None:
                continue
            channel_ref = side["channel"]["$ref"]
            resolve(document, channel_ref)
            for message in side["messages"]:
                assert message["$ref"].startswith(channel_ref + "/messages/"), key


def test_channel_parameters_are_exactly_the_placeholders_of_the_address(document):
    for key, channel in document["channels"].items():
        placeholders = set(re.findall(r"\{(\w+)\}", channel["address"]))
        assert placeholders == set(channel.get("parameters", {})), key
        for message in channel["messages"].values():
            assert message["$ref"].startswith("#/components/messages/")


def test_the_command_prints_the_document_or_writes_it(capsys, tmp_path, document):
    assert main(["asyncapi"]) == 0
    assert json.loads(capsys.readouterr().out) == document
    target = tmp_path / "contract" / "asyncapi.json"
    assert main(["asyncapi", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render(document)


# The official parser (.ci/asyncapi: @asyncapi/parser, installed by `.ci/run`).

VALIDATOR = Path(__file__).resolve().parents[3] / ".ci" / "asyncapi"


def test_the_official_parser_reports_no_error_and_no_warning():
    if not (VALIDATOR / "node_modules").is_dir():
        message = ("the official AsyncAPI parser is not installed: "
                   "`npm ci --prefix .ci/asyncapi` (`.ci/run` does it)")
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)  # CI must never skip the contract's check
        pytest.skip(message)
    checked = subprocess.run(["node", str(VALIDATOR / "validate.mjs"), str(STORED_COPY)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.rstrip().endswith("0 errors, 0 warnings"), checked.stdout


def test_every_message_has_a_name_and_every_event_its_public_name(document):
    # The base event class once came in as a message named "" and crashed the parser.
    assert all(key and message["name"] == key
               for key, message in document["components"]["messages"].items())
    assert all(cls.public_name for cls in event_classes())


# Answers to integrators' questions.

def test_every_reference_code_is_listed_from_the_reference_data(document):
    schemas, codes = document["components"]["schemas"], load_reference().codes.by_kind
    for kind, name in CODE_SCHEMAS.items():
        assert schemas[name]["enum"] == sorted(codes[kind]), kind
    refers = {"RegisterEnterprise": {"industry": "IndustryCode", "town": "TownCode"},
              "SubmitCase": {"service_type": "ServiceTypeCode", "channel": "ChannelCode",
                             "station": "StationCode"},
              "LaunchCampaign": {"department": "DepartmentCode"},
              "ListCases": {"lead": "DepartmentCode", "station": "StationCode"},
              "case.submitted": {"service_type": "ServiceTypeCode"},
              "enterprise.registered": {"industry": "IndustryCode", "town": "TownCode"}}
    for schema, fields in refers.items():
        for field, code_list in fields.items():
            assert code_list in code_lists_of(schemas[schema]["properties"][field]), (schema,
                                                                                      field)


# Fields whose name says they take a reference code. Two take any principal instead (an
# auditor's filter by who acted or who saw): a pattern, not a list.
CODE_FIELDS = {"industry", "town", "service_type", "channel", "station", "department", "lead",
               "to", "collaborators", "mediator_department", "lead_department",
               "from_department", "to_department"}
PRINCIPAL_FILTERS = {("AuditChanges", "department"), ("CaseVisibility", "department")}


def test_no_command_query_or_event_field_that_takes_a_code_lacks_the_list(document):
    schemas = document["components"]["schemas"]
    payloads = ([operation.schema.__name__ for operation in OPERATIONS.values()]
                + [query.schema.__name__ for query in QUERIES.values()]
                + [cls.public_name for cls in event_classes()])
    for name in payloads:
        for field, schema in schemas[name].get("properties", {}).items():
            if field in CODE_FIELDS and (name, field) not in PRINCIPAL_FILTERS:
                assert code_lists_of(schema), (name, field)


def code_lists_of(node) -> list[str]:
    return [ref.rsplit("/", 1)[1] for ref in refs_in(node)
            if ref.rsplit("/", 1)[1] in CODE_SCHEMAS.values()]


def test_each_command_lists_every_code_it_can_be_refused_with(document):
    authority = load_authority(load_reference(), OPERATIONS)
    for name, operation in OPERATIONS.items():
        refused = document["components"]["schemas"][f"{name}.refused"]
        listed = refused["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
        assert set(listed) == operation.refusals(authority), name
        assert {"command.invalid", "command.not_permitted", "service.unavailable"} <= set(listed)
    assert "case.same_department" in document["components"]["schemas"][
        "case.transfer.refused"]["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]


# What the domain refuses with and the bus never gets: a command it has no subject for.
NEVER_ON_THE_BUS = {"command.unknown"}


def test_every_code_the_domain_refuses_with_is_published_for_some_command(document):
    authority = load_authority(load_reference(), OPERATIONS)
    published = set().union(*(operation.refusals(authority)
                               for operation in OPERATIONS.values()))
    literal, parts = codes_in_the_domain()
    assert literal - published - NEVER_ON_THE_BUS == set()
    # A code made of parts (`f"{record}.not_found"`): each fixed part is in a published code.
    for part in parts:
        assert any(part in code for code in published), part


def codes_in_the_domain() -> tuple[set[str], set[str]]:
    """The codes of every refusal the domain raises: literal ones, and the fixed parts of
    those it composes."""
    literal, parts = set(), set()
    for path in (Path(__file__).resolve().parents[3] / "domain").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args
                    and getattr(node.func, "id", None) in ("refuse", "_refusal")):
                continue
            code = node.args[0]
            if isinstance(code, ast.Constant):
                literal.add(code.value)
            elif isinstance(code, ast.JoinedStr):
                parts |= {value.value for value in code.values
                          if isinstance(value, ast.Constant)}
    assert literal and parts
    return literal, parts


def test_each_query_lists_its_refusals_and_describes_its_answer(document):
    schemas = document["components"]["schemas"]
    for name, query in QUERIES.items():
        refused = schemas[f"{name}.refused"]["allOf"][1]["properties"]["error"]
        assert set(refused["properties"]["code"]["enum"]) == query.refusals
        result = schemas[f"{name}.answered"]["allOf"][1]["properties"]["result"]["$ref"]
        described = resolve(document, result)
        assert described["properties"] and described["additionalProperties"] is False, name
    assert "query.not_found" in query_codes(schemas, "case.get")
    assert "query.behind" in query_codes(schemas, "case.list")


def query_codes(schemas: dict, name: str) -> list[str]:
    return schemas[f"{name}.refused"]["allOf"][1]["properties"]["error"]["properties"][
        "code"]["enum"]


def test_every_command_and_query_message_says_its_size_limit(document):
    messages = document["components"]["messages"]
    for schema in {*(o.schema for o in OPERATIONS.values()),
                   *(q.schema for q in QUERIES.values())}:
        assert messages[schema.__name__]["x-max-bytes"] == MAX_COMMAND_BYTES == 64 * 1024
    assert "65536 bytes (64 KiB)" in document["info"]["description"]


def test_the_credit_code_says_how_its_check_character_is_made(document):
    code = document["components"]["schemas"]["RegisterEnterprise"]["properties"]["credit_code"]
    assert "GB 32100-2015" in code["description"]
    assert ", ".join(map(str, WEIGHTS)) in code["description"] and ALPHABET in code[
        "description"]
    # The pattern lets through what the check character then decides, and nothing else.
    assert re.fullmatch(code["pattern"], "91500118MA5U000005")
    assert re.fullmatch(code["pattern"], "91500118ma5u000005")
    assert not re.fullmatch(code["pattern"], "91500118MA5U00000I")
    assert not re.fullmatch(code["pattern"], "91AB0118MA5U000005")


ACCEPTED_MONEY = ["0", "0.5", "1200.50", "99999999999999.99", 0, 12, 99999999999999]
REFUSED_MONEY = ["12.345", 12.345, 0.30000000000000004, "0.30000000000000004", "-1", -1,
                 "1e3", "007", ".5", "1.", " 1", "100000000000000", 100000000000000, 12.5,
                 True, None]


@pytest.mark.parametrize("amount", ACCEPTED_MONEY + REFUSED_MONEY, ids=repr)
def test_money_the_contract_accepts_is_exactly_what_the_service_accepts(amount):
    operation = OPERATIONS["improvement.record_investment"]
    command = {"command_id": "a1b2c3d4", "person": "x", "improvement_id": str(uuid4()),
               "amount_yuan": amount}
    by_contract = not contract().problems(f"#/components/schemas/{operation.schema.__name__}",
                                          command)
    try:
        operation.schema.model_validate(command)
        by_service = True
    except ValidationError:
        by_service = False
    assert by_contract == by_service == (amount in ACCEPTED_MONEY and amount is not True)


def test_the_intake_names_its_stream_and_its_acknowledgement(document):
    ack = document["components"]["schemas"]["IntakeAck"]
    assert ack["properties"]["stream"] == {"const": subjects.INTAKE_STREAM}
    assert {"stream", "seq"} <= set(ack["required"]) and "duplicate" in ack["properties"]
    assert subjects.INTAKE_STREAM in document["info"]["description"]
