"""The published contract: complete, self-contained, and the same as the copy in the repository."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

import orjson
import pytest

from adapters.jetstream.cloudevents import cloudevent_type
from adapters.serialization import OrjsonTranscoder
from bus import subjects
from bus.asyncapi import build, event_classes, render
from bus.cli import main
from bus.operations import OPERATIONS
from bus.queries import QUERIES
from domain.base import Actor
from domain.case_events import Accepted
from domain.enterprises import Enterprise
from domain.mapping import PydanticMapper

STORED_COPY = Path(__file__).parent.parent / "docs" / "asyncapi.json"
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
        replies = {ref["$ref"].rsplit("/", 1)[1] for ref in request["reply"]["messages"]}
        assert replies == {"Done", "Refused"}
        assert "reply" not in intake  # the outcome comes later, on the feed
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
        replies = {ref["$ref"].rsplit("/", 1)[1] for ref in request["reply"]["messages"]}
        assert replies == {"Answered", "QueryRefused"}
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
        assert (name in feed) == name.startswith("case.")


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
