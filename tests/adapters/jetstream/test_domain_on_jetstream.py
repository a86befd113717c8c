"""The domain's narrated case scenario on the JetStream log of record, as on the in-memory store."""

from __future__ import annotations

import asyncio

import nats
import orjson
import pytest

from domain.application import OneStop
from tests.domain.scenario import run_case_scenario


def state_of(aggregate) -> dict:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending"}


@pytest.fixture
def app(nats_url, unique_name):
    application = OneStop(env={
        "PERSISTENCE_MODULE": "adapters.jetstream",
        "NATS_URL": nats_url,
        "NATS_STREAM": unique_name(),
        "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder",
    })
    yield application
    application.close()


def test_the_case_scenario_runs_on_the_jetstream_log(app):
    result = run_case_scenario(app)

    case = result["case"]
    assert result["reopened_status"] == "reopened"
    assert case.status == "closed" and case.rating == 5
    assert result["positions"] == sorted(result["positions"])
    # A fresh application reading the same stream rebuilds the very same case.
    fresh = OneStop(env={**app.env, "NATS_STREAM": app.factory.stream})
    try:
        assert state_of(fresh.get_case(result["case_id"])) == state_of(case)
    finally:
        fresh.close()


def test_a_booking_writes_the_case_and_the_expert_in_one_atomic_batch(app):
    result = run_case_scenario(app)
    booking = result["expert_booking"]

    # The booking's two events are adjacent in the log, ending at the reported position.
    notifications = app.recorder.select_notifications(booking.position - 1, 2)
    assert {n.originator_id for n in notifications} == {result["case_id"], result["expert_id"]}
    assert [n.id for n in notifications] == [booking.position - 1, booking.position]


def test_stored_events_carry_public_cloudevent_types_and_plain_json(app, nats_url):
    run_case_scenario(app)

    async def first_message():
        connection = await nats.connect(nats_url)
        try:
            return await connection.jetstream().get_msg(app.factory.stream, 1)
        finally:
            await connection.close()

    message = asyncio.run(first_message())
    assert message.headers["ce-type"] == "cn.gov.yongchuan.onestop.enterprise.registered.v2"
    body = orjson.loads(message.data)
    assert body["actor"] == {"principal": "portal", "person": "厂长"}
    assert body["name"] == "永川来苏页岩砖厂"
