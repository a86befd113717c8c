"""Every command's path from bytes to reply, on the JetStream log and a real KV bucket."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import orjson
import pytest

from adapters.jetstream.onloop import install_cache
from bus.contract.messages import MAX_COMMAND_BYTES
from bus.service import dispatch
from bus.service.dispatch import Dispatcher
from domain.application import OneStop
from tests.bus_support import when
from tests.domain.support import credit_code


class Desk:
    """A dispatcher on its own stream and bucket, and a way to send it commands."""

    def __init__(self, nats_url: str, stream: str) -> None:
        self.runner = asyncio.Runner()
        self.app = OneStop(env={
            "PERSISTENCE_MODULE": "adapters.jetstream", "NATS_URL": nats_url,
            "NATS_STREAM": stream, "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder",
        })
        install_cache(self.app, 1000)
        self.dispatcher = self.runner.run(Dispatcher.open(self.app, bucket=f"C_{stream}"))

    def send(self, principal: str, name: str, body: dict | bytes) -> dict:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.runner.run(self.dispatcher.dispatch(principal, name, data))

    def log_length(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        self.runner.close()
        self.app.close()


@pytest.fixture
def desk(nats_url, unique_name):
    made = Desk(nats_url, unique_name())
    yield made
    made.close()


def command(**fields) -> dict:
    return {"command_id": uuid4().hex, "person": "陈干事", **fields}


def register(desk: Desk) -> str:
    reply = desk.send("portal", "enterprise.register", command(
        credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu"))
    assert reply["ok"], reply
    return reply["id"]


def submit(desk: Desk, enterprise_id: str, **overrides) -> dict:
    return desk.send("portal", "case.submit", command(
        enterprise_id=enterprise_id, service_type="quality_management",
        description="Bricks crumble", channel="online_platform", **overrides))


def test_a_command_gets_ids_and_the_log_position_back(desk):
    enterprise_id = register(desk)
    reply = submit(desk, enterprise_id)
    assert reply["ok"] and reply["replayed"] is False
    assert reply["position"] == desk.log_length() == 2


def test_a_repeated_command_returns_the_first_outcome_and_writes_nothing(desk):
    enterprise_id = register(desk)
    order = command(enterprise_id=enterprise_id, service_type="quality_management",
                    description="Bricks crumble", channel="online_platform")
    first = desk.send("portal", "case.submit", order)
    again = desk.send("portal", "case.submit", order)
    assert first["replayed"] is False and again["replayed"] is True
    assert again == {**first, "replayed": True}  # same id, same position
    assert desk.log_length() == 2


def test_a_refusal_is_also_the_first_outcome(desk):
    enterprise_id = register(desk)
    case_id = submit(desk, enterprise_id)["id"]
    rate = command(case_id=case_id, score=5)  # by the portal that took it, but too early
    first = desk.send("portal", "case.rate", rate)
    assert first["error"]["code"] == "case.invalid_transition"
    assert desk.send("portal", "case.rate", rate) == first


def test_the_same_command_id_from_two_principals_is_two_commands(desk):
    enterprise_id = register(desk)
    shared = uuid4().hex
    base = dict(enterprise_id=enterprise_id, service_type="quality_management",
                description="Bricks crumble", channel="online_platform", person="x")
    one = desk.send("portal", "case.submit", {"command_id": shared, **base})
    other = desk.send("post_laisu", "case.submit", {"command_id": shared, **base,
                                                    "station": "post_laisu"})
    assert one["ok"] and other["ok"] and one["id"] != other["id"]


@pytest.mark.parametrize("name, body, code", [
    ("case.submit", b"{not json", "command.malformed_json"),
    ("case.submit", b"[1, 2]", "command.malformed_json"),
    ("case.submit", orjson.dumps({"person": "x"}), "command.invalid"),
    ("case.launch_rocket", orjson.dumps(command()), "command.unknown"),
    ("case.submit", b"{" + b" " * MAX_COMMAND_BYTES + b"}", "command.too_large"),
])
def test_bad_input_gets_its_own_error_and_changes_nothing(desk, name, body, code):
    register(desk)
    reply = desk.send("portal", name, body)
    assert reply["ok"] is False and reply["error"]["code"] == code
    assert reply["error"]["message"]
    assert desk.log_length() == 1


def test_a_wrong_field_is_named_in_the_error(desk):
    reply = desk.send("portal", "case.rate", command(case_id=str(uuid4()), score=9))
    assert reply["error"]["code"] == "command.invalid"
    assert "score" in reply["error"]["fields"]


def test_unknown_things_and_invalid_transitions_are_refused_plainly(desk):
    enterprise_id = register(desk)
    unknown_case = desk.send("jxw", "case.accept", command(case_id=str(uuid4())))
    unknown_enterprise = submit(desk, str(uuid4()))
    unknown_expert = desk.send("jxw", "case.assign_expert", command(
        case_id=submit(desk, enterprise_id)["id"], expert_id=str(uuid4()),
        start=when(7), end=when(7.125)))
    assert unknown_case["error"]["code"] == "case.not_found"
    assert unknown_enterprise["error"]["code"] == "enterprise.not_found"
    # The case has no lead yet: jxw may not book for it, whatever the expert.
    assert unknown_expert["error"]["code"] == "case.not_yours"
    assert desk.log_length() == 2


def test_a_command_id_reused_for_a_different_command_is_refused(desk):
    enterprise_id = register(desk)
    order = command(enterprise_id=enterprise_id, service_type="quality_management",
                    description="Bricks crumble", channel="online_platform")
    desk.send("portal", "case.submit", order)
    reply = desk.send("portal", "case.submit", {**order, "description": "Something else"})
    assert reply["error"]["code"] == "command.id_reused"
    assert desk.log_length() == 2


def test_two_racing_commands_one_wins_and_the_loser_can_retry(desk):
    enterprise_id = register(desk)
    case_id = submit(desk, enterprise_id)["id"]
    desk.send("samr", "case.accept", command(case_id=case_id, lead="jxw"))
    a = command(case_id=case_id, at=when(7), place="factory")
    b = command(case_id=case_id, at=when(8), place="office")

    async def race():
        return await asyncio.gather(
            desk.dispatcher.dispatch("jxw", "case.schedule_appointment", orjson.dumps(a)),
            desk.dispatcher.dispatch("jxw", "case.schedule_appointment", orjson.dumps(b)))

    replies = desk.runner.run(race())
    codes = sorted(r["error"]["code"] if not r["ok"] else "ok" for r in replies)
    # The loser either raced the save (a conflict) or loaded the winner's appointment.
    assert codes in (["ok", "store.conflict"], ["case.appointment_exists", "ok"])
    if "store.conflict" in codes:
        loser = a if not replies[0]["ok"] else b
        retried = desk.send("jxw", "case.schedule_appointment", loser)
        # The conflict was not kept as the first outcome: the retry is judged afresh.
        assert retried["ok"] or retried["error"]["code"] != "store.conflict"


def test_a_command_on_cached_aggregates_is_decided_and_written_on_the_loop(desk, monkeypatch):
    # Given an enterprise registered through this dispatcher (so it is in the cache)
    enterprise_id = register(desk)

    # When worker threads are not available at all
    no_worker_threads(monkeypatch)
    reply = submit(desk, enterprise_id)

    # Then the case was still submitted, and its position is the log's
    assert reply["ok"], reply
    assert reply["position"] == desk.log_length() == 2


@pytest.fixture
def two_desks(nats_url, unique_name):
    """Two service processes on one log, each with its own aggregate cache."""
    stream = unique_name()
    desks = Desk(nats_url, stream), Desk(nats_url, stream)
    yield desks
    for made in desks:
        made.close()


def test_a_cache_another_process_made_stale_never_decides_a_write(two_desks):
    one, other = two_desks
    case_id = submit(one, register(one))["id"]  # cached by `one` as submitted
    assert other.send("samr", "case.accept", command(case_id=case_id, lead="jxw"))["ok"]

    # `one` still holds the case as submitted, where accepting it again looks valid
    again = one.send("samr", "case.accept", command(case_id=case_id, lead="jxw"))

    assert again["error"]["code"] == "case.invalid_transition"
    assert one.log_length() == 3


def no_worker_threads(monkeypatch) -> None:
    async def no_threads(*_args, **_kwargs):
        raise AssertionError("a worker thread was used")

    monkeypatch.setattr(dispatch.asyncio, "to_thread", no_threads)


def test_what_another_process_wrote_is_read_and_decided_on_the_loop(two_desks, monkeypatch):
    one, other = two_desks
    enterprise_id = register(one)  # not in `other`'s cache
    case_id = submit(one, enterprise_id)["id"]
    assert one.send("samr", "case.accept", command(case_id=case_id, lead="jxw"))["ok"]
    no_worker_threads(monkeypatch)

    # `other` reads the enterprise and the case from the log, on its loop, and decides there
    submitted = submit(other, enterprise_id)
    scheduled = other.send("jxw", "case.schedule_appointment", command(
        case_id=case_id, at=when(7), place="factory"))

    assert submitted["ok"] and scheduled["ok"], (submitted, scheduled)
    assert scheduled["position"] == other.log_length() == 5
    # and a refusal decided on what it read from the log just now stands as it is
    refused = other.send("jxw", "case.schedule_appointment", command(
        case_id=str(uuid4()), at=when(7), place="factory"))
    assert refused["error"]["code"] == "case.not_found", refused


def test_a_refusal_from_a_stale_cache_is_decided_again_on_the_log(two_desks):
    one, other = two_desks
    case_id = submit(one, register(one))["id"]
    assert other.send("samr", "case.accept", command(case_id=case_id, lead="jxw"))["ok"]

    # `one`'s cached case is not accepted yet, so it alone would refuse an appointment
    reply = one.send("jxw", "case.schedule_appointment", command(
        case_id=case_id, at=when(7), place="factory"))

    assert reply["ok"], reply
    assert one.log_length() == 4


@pytest.fixture
def restarted(nats_url, unique_name):
    """A dispatcher, and another on the same log and bucket, as after a restart: nothing of
    the first one's memory survives, only what is in NATS."""
    stream = unique_name()
    before, after = Desk(nats_url, stream), Desk(nats_url, stream)
    yield before, after
    before.close()
    after.close()


def test_after_a_restart_the_first_reply_is_rebuilt_from_the_log(restarted):
    before, after = restarted
    enterprise_id = register(before)
    case_id = submit(before, enterprise_id)["id"]
    expert = before.send("samr", "expert.register", command(
        name="李教授", affiliation="重庆文理学院", specialties=["building_materials"]))
    before.send("samr", "case.accept", command(case_id=case_id, lead="jxw"))
    # A command that writes two aggregates at once: its reply's position is its last event.
    booking = command(case_id=case_id, expert_id=expert["id"],
                      start=when(7), end=when(7.125))
    first = before.send("jxw", "case.assign_expert", booking)
    assert first["ok"], first

    again = after.send("jxw", "case.assign_expert", booking)

    assert again == {**first, "replayed": True}
    assert after.log_length() == first["position"]


def test_after_a_restart_a_reused_command_id_is_still_told_apart(restarted):
    before, after = restarted
    enterprise_id = register(before)
    order = command(enterprise_id=enterprise_id, service_type="quality_management",
                    description="Bricks crumble", channel="online_platform")
    assert before.send("portal", "case.submit", order)["ok"]

    reply = after.send("portal", "case.submit", {**order, "description": "Something else"})

    assert reply["error"]["code"] == "command.id_reused"
    assert after.log_length() == 2


def test_every_event_names_the_command_that_wrote_it(desk):
    enterprise_id = register(desk)
    [notification] = desk.app.recorder.select_notifications(start=1, limit=1)
    store = desk.app.recorder.store
    stored = desk.runner.run(dispatch.on_loop(desk.dispatcher.loop, store.log.last(
        store.subjects.for_aggregate(enterprise_id))))
    assert stored.headers["Onestop-Command"].startswith("portal/")
    assert len(stored.headers["Onestop-Command-Digest"]) == 64
    assert notification.originator_id.hex == enterprise_id.replace("-", "")


def test_many_commands_at_once_each_get_their_own_first_outcome(desk):
    # Refused commands (their first outcome is kept), sent again together with new ones:
    # their lookups are answered together.
    unknown = [command(case_id=str(uuid4())) for _ in range(20)]
    firsts = [desk.send("jxw", "case.accept", body) for body in unknown]
    fresh = [command(credit_code=credit_code(), name="永川页岩砖厂", scale="small_micro",
                     industry="building_bricks", town="laisu") for _ in range(20)]

    async def together():
        return await asyncio.gather(
            *(desk.dispatcher.dispatch("jxw", "case.accept", orjson.dumps(b)) for b in unknown),
            *(desk.dispatcher.dispatch("portal", "enterprise.register", orjson.dumps(b))
              for b in fresh))

    replies = desk.runner.run(together())
    assert replies[:20] == firsts
    assert all(reply["ok"] for reply in replies[20:])
    assert desk.log_length() == 20
