"""What the service runs says what the published contract says (docs/asyncapi.json, built
from bus/contract without the service). FastStream's own AsyncAPI output, generated from the
service's router, has the health check's channel as the contract has it. Commands, queries,
the intake and the feeds are plain nats-py (see bus/service/routes.py and
bus/service/query_endpoint.py), which FastStream cannot describe; for the queries, the
schema pydantic derives from each model the endpoint validates with is the payload the
contract publishes, once each field that takes a reference code refers to the district's
list of codes, as the contract's schemas do (`with_codes`)."""

from __future__ import annotations

from typing import Any

import pytest
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI

from bus.contract.asyncapi import build as build_document
from bus.contract.schemas import with_codes
from bus.service.health import system_router
from bus.contract import subjects
from bus.contract.queries import QUERIES


@pytest.fixture(scope="module")
def generated() -> dict:
    broker = NatsBroker()
    broker.include_router(system_router("0"))
    document = AsyncAPI(broker, schema_version="3.0.0").to_specification().to_jsonable()
    codes = {name: schema for name, schema in build_document()["components"]["schemas"].items()
             if name.endswith("Code")}
    document = with_codes(document)
    document["components"]["schemas"].update(codes)
    return document


@pytest.fixture(scope="module")
def published() -> dict:
    return build_document()


def resolved(document: dict, node: Any, depth: int = 0) -> Any:
    """`node` with every `$ref` of the document replaced by what it points to."""
    assert depth < 40, "a schema that refers to itself"
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("%20", " ")]
            return resolved(document, target, depth + 1)
        return {key: resolved(document, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(document, item, depth + 1) for item in node]
    return node


def channels_by_address(document: dict, wildcard: str) -> dict[str, dict]:
    return {channel["address"].replace(wildcard, "*"): channel
            for channel in document["channels"].values()}


def payloads(document: dict, channel: dict) -> list:
    return [resolved(document, message)["payload"] for message in channel["messages"].values()]


def test_every_channel_faststream_describes_is_published(generated, published):
    ours = channels_by_address(published, "{principal}")
    theirs = channels_by_address(generated, "*")

    assert sorted(theirs) == [subjects.HEALTH]
    assert set(theirs) <= set(ours)


def test_every_query_payload_the_endpoint_validates_with_is_the_published_one(published):
    ours = channels_by_address(published, "{principal}")

    for name, query in QUERIES.items():
        model = query.schema.model_json_schema(ref_template="#/$defs/{model}")
        derived = resolved(published, with_codes(resolved(model, model)))
        derived.pop("$defs", None)
        assert [derived] == payloads(published, ours[subjects.query("*", name)]), name
    assert len(QUERIES) == len([a for a in ours if a.startswith("onestop.query.")])
