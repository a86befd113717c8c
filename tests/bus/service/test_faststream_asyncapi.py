"""FastStream's own AsyncAPI output, generated from the service's routers, says what the
published contract says (docs/asyncapi.json, built from bus/contract without the service):
the same channel for every query and the health check, and the same payload schema for every
query, once each field that takes a reference code refers to the district's list of codes,
as the contract's schemas do (`with_codes`). Commands, the intake and the feeds are plain nats-py (see bus/service/routes.py), which
FastStream cannot describe; the contract describes them alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI

from bus.contract.asyncapi import build as build_document
from bus.contract.schemas import with_codes
from bus.service.health import system_router
from bus.service.query_router import query_router, unknown_query_router


@pytest.fixture(scope="module")
def generated() -> dict:
    services = SimpleNamespace(answers=None)
    broker = NatsBroker()
    for router in (system_router("0"), query_router(services), unknown_query_router(services)):
        broker.include_router(router)
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

    assert len(theirs) > 20
    assert sorted(set(theirs) - set(ours)) == ["onestop.query.*.>"]  # unknown names: no query


def test_every_query_payload_faststream_derives_is_the_published_one(generated, published):
    ours = channels_by_address(published, "{principal}")
    theirs = channels_by_address(generated, "*")

    compared = 0
    for address, channel in theirs.items():
        if address.startswith("onestop.query.") and address in ours:
            assert payloads(generated, channel) == payloads(published, ours[address]), address
            compared += 1
    assert compared == len([a for a in ours if a.startswith("onestop.query.")])
