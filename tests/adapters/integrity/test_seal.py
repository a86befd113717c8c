"""Defence in depth on the log: a message the service did not write is named and passed over.

Accounts keep every principal out of the service's streams (test_isolation.py). These tests
take the day that fails: someone in the service's own account (here the operator's user)
writes into the event log, the checkpoints and the outcome bucket. Every such message lacks
the service's seal: `onestop audit verify` names it, and the command path, the views, the
feeds, the checkpointer, a rebuild and a restart all pass over it, with a health warning,
instead of acting on it, stopping on it or refusing to start.
"""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest

from adapters.integrity.seal import PASSED_OVER, SEAL, Seal, SealedStream, SealKeyMismatch, key_path
from adapters.jetstream.log import Stored, StreamLog
from adapters.jetstream.stream_reader import StreamReader
from adapters.views.rebuild import open_reader, read_rows
from bus.contract import subjects
from bus.service.dispatch import _fingerprint
from tests.bus.cli.test_audit_cli import audit, covered
from tests.bus.service.test_bus_feeds import feed_size, feed_types
from tests.bus_support import Service, district_server, service_on_its_own_server, when
from tests.domain.support import credit_code
from tests.processes import wait_until

STREAM = "ONESTOP"
SERVED = {"Nats-Stream", "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_on_its_own_server(tmp_path_factory.mktemp("seal")) as running:
        yield running


@pytest.fixture(scope="module")
def forged_case(service):
    """A case led by jxw, and a forged event after its acceptance that hands it to kjj: a
    copy of the real acceptance with the next version, a new id and another lead."""
    case, _ = service.accepted_case()
    accepted = last_of(service, f"{STREAM}.events.{case}")
    headers = {name: value for name, value in accepted.headers.items()
               if name not in SERVED and not name.startswith("Nats-Expected")}
    forged_id = str(uuid4())
    headers |= {"Onestop-Version": "3", "Nats-Msg-Id": forged_id, "ce-id": forged_id}
    body = accepted.body.replace(b'"jxw"', b'"kjj"')
    assert body != accepted.body
    position = forge(service, accepted.subject, headers, body)
    return case, position


def forge(service: Service, subject: str, headers: dict[str, str] | None, body: bytes) -> int:
    ack = service.runner.run(service.client.jetstream().publish(subject, body, headers=headers))
    return ack.seq


def last_of(service: Service, subject: str) -> Stored:
    async def read() -> Stored:
        log = StreamLog(service.client, STREAM, request_timeout=5)
        await log.start()
        return await log.last(subject)
    return service.runner.run(read())


def seal_of(service: Service) -> Seal:
    return Seal.load(key_path(service.bus.services.data_dir))


def health(service: Service) -> dict:
    reply = service.runner.run(service.client_for("jxw").request(subjects.HEALTH, b"",
                                                                 timeout=5))
    return orjson.loads(reply.data)


def test_a_seal_holds_for_the_message_as_read_and_for_nothing_else():
    seal = Seal(bytes(range(32)))
    headers = {"ce-type": "x", "Onestop-Version": "3", "Nats-Msg-Id": "a"}
    sealed = seal.stamped("ONESTOP.events.a", headers, b"{}")
    assert seal.holds("ONESTOP.events.a", sealed, b"{}")
    # As a reader finds it: write-time and served headers added, another stream's name.
    assert seal.holds("COPY.events.a", {**sealed, "Nats-Expected-Last-Subject-Sequence": "9",
                                        "Nats-Sequence": "4"}, b"{}")
    assert not seal.holds("ONESTOP.events.b", sealed, b"{}")
    assert not seal.holds("ONESTOP.events.a", sealed, b"{ }")
    assert not seal.holds("ONESTOP.events.a", {**sealed, "Onestop-Version": "4"}, b"{}")
    assert not seal.holds("ONESTOP.events.a", {**sealed, "ce-extra": "1"}, b"{}")
    assert not seal.holds("ONESTOP.events.a", headers, b"{}")  # no seal
    assert not seal.holds("ONESTOP.events.a", None, b"{}")
    assert not Seal(bytes(32)).holds("ONESTOP.events.a", sealed, b"{}")  # another key
    assert "Seal(<key>)" == repr(seal)
    # Messages stored before sealing began are not told foreign.
    assert not SealedStream(seal, sealed_from=5).foreign(4, "ONESTOP.events.a", headers, b"")
    assert SealedStream(seal, sealed_from=5).foreign(5, "ONESTOP.events.a", headers, b"")


def test_every_message_the_service_writes_is_sealed(service, forged_case):
    case, forged = forged_case
    covered(service, service.log_length())
    seal = seal_of(service)
    written = [stored for stored in read(service, ">") if stored.sequence != forged]
    assert {stored.subject.split(".")[1] for stored in written} == {"events", "checkpoints"}
    for stored in written:
        assert SEAL in stored.headers
        assert seal.holds(stored.subject, stored.headers, stored.body), stored.subject


def read(service: Service, subject: str) -> list[Stored]:
    async def read_all() -> list[Stored]:
        log = StreamLog(service.client, STREAM, request_timeout=5)
        await log.start()
        return [stored async for stored in log.read(f"{STREAM}.{subject}")]
    return service.runner.run(read_all())


def test_a_forged_event_is_passed_over_by_the_command_path_the_views_and_the_feeds(
        service, forged_case):
    case, position = forged_case
    # The command path loads the case without it, and writes after it.
    last = service.applied("jxw", "case.schedule_appointment", case_id=case,
                           at=when(7), place="factory")
    assert last["position"] > position

    def case_view() -> dict | None:
        reply = service.query("jxw", "case.get", {"case_id": case,
                                                 "min_position": last["position"]})
        return reply["result"] if reply["ok"] else None
    wait_until(case_view, 20, "the case view has the appointment")
    view = case_view()
    assert view["case"]["lead"] == "jxw"
    assert [step["topic"] for step in view["timeline"]] == [
        "case.submitted", "case.accepted", "case.appointment_scheduled"]
    statuses = service.query("jxw", "views.status", {})["result"]["views"]
    assert all(view["state"] == "running" for view in statuses), statuses
    # The feeds: the lead's has the case without the forgery; kjj's has nothing at all.
    assert feed_types(service, "jxw", 3) == ["submitted", "accepted", "appointment_scheduled"]
    assert feed_size(service, "jxw") == 3
    assert feed_size(service, "kjj") == 0
    # The operator is told.
    [warning] = health(service)["warnings"]
    assert f"{STREAM} position" in warning and "did not write" in warning


def test_a_rebuild_reads_past_a_forged_event(service, forged_case):
    case, position = forged_case
    bare = forge(service, f"{STREAM}.events.bare", None, b"no headers at all")

    async def read_everything():
        log = StreamLog(service.client, STREAM, request_timeout=5, seal=seal_of(service))
        await log.start()
        found = []
        # The raw wire reader, and nats-py's where the wire reader cannot go (TLS, nkeys).
        for reader in (await open_reader(service.client, STREAM),
                       StreamReader(service.client, STREAM, subject=f"{STREAM}.events.>")):
            if isinstance(reader, StreamReader):
                await reader.start()
            try:
                found.append(await read_rows(reader, 10_000, log.sealed))
            finally:
                await reader.close()
        return found
    wire, nats_py = service.runner.run(read_everything())
    events = [stored.sequence for stored in read(service, "events.>")]
    assert position in events and bare in events
    assert [row[0] for row in wire] == [p for p in events if p not in (position, bare)]
    assert nats_py == wire


def test_a_forged_outcome_is_ignored_and_the_command_decided_afresh(service):
    # A well-formed entry under the very key and fingerprint of the command about to be sent:
    # without a seal it is not taken for the first outcome.
    payload = {"command_id": uuid4().hex, "person": "陈干事", "name": "赵工",
               "affiliation": "永川检测所", "specialties": ["building_materials"]}
    forge(service, f"$KV.{STREAM}_COMMANDS.jxw.{payload['command_id']}", None, orjson.dumps({
        "fingerprint": _fingerprint(payload),
        "reply": {"ok": False, "error": {"code": "command.forbidden", "message": "paid"}}}))
    reply = service.request("jxw", "expert.register", payload)
    assert reply["ok"], reply


def test_a_forged_checkpoint_stops_neither_the_checkpoints_nor_a_restart(service, forged_case):
    covered(service, service.log_length())
    position = forge(service, f"{STREAM}.checkpoints", None, b'{"first": 1, "paid": 50000}')
    # Checkpoints go on past it and cover it.
    reply = service.request("portal", "enterprise.register", {
        "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(),
        "name": "永川砖厂", "scale": "small_micro", "industry": "building_bricks",
        "town": "laisu"})
    assert reply["ok"], reply
    covered(service, reply["position"])
    # The service starts again with a foreign message last on the checkpoints' subject.
    service.stop()
    last = forge(service, f"{STREAM}.checkpoints", None, b"not a checkpoint")
    service.start()
    again = service.request("jxw", "case.reschedule_appointment", {
        "command_id": uuid4().hex, "person": "p", "case_id": forged_case[0],
        "at": when(8), "place": "factory", "reason": "rain"})
    assert again["ok"], again
    covered(service, again["position"])

    # The operator, with the seal key, names every foreign message; the chain is intact.
    result = audit(service, "verify")
    assert result.returncode == 3, result.stdout + result.stderr
    for foreign in (forged_case[1], position, last):
        assert f"foreign: the message at {foreign}" in result.stdout, result.stdout
    assert result.stdout.startswith("intact up to position ")
    # An auditor, with no seal key, learns them from the signed checkpoints.
    auditor = audit(service, "verify", url=service.district.url("auditor"))
    assert f"foreign: the message at {forged_case[1]} " in auditor.stdout, auditor.stdout
    assert "the checkpoint at" in auditor.stdout
    assert auditor.returncode == 1  # the forged checkpoints are bad checkpoints to it
    assert PASSED_OVER.count >= 3


def test_a_service_with_another_seal_key_refuses_to_start(tmp_path):
    # A data directory lost and made afresh beside the old log: every message would look
    # foreign. The service says so and does not start.
    with service_on_its_own_server(tmp_path) as service:
        path = key_path(service.bus.services.data_dir)
        service.stop()
        original = path.read_text()
        path.write_text(bytes(32).hex())
        with pytest.raises(SealKeyMismatch, match="restore audit/seal.key"):
            service.start()
        path.write_text(original)
        service.start()
        assert service.request("portal", "enterprise.register", {
            "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(),
            "name": "永川砖厂", "scale": "small_micro", "industry": "building_bricks",
            "town": "laisu"})["ok"]


def test_the_health_check_tells_what_the_followers_process_passed_over(tmp_path, monkeypatch):
    # `onestop up` runs the feeds, views and checkpoints in a process of their own.
    for name, value in (("count", 0), ("last", None), ("_elsewhere", [])):
        monkeypatch.setattr(PASSED_OVER, name, value)
    with district_server(tmp_path, "followers") as district:
        service = Service(district, STREAM, separate_followers=True)
        try:
            position = forge(service, f"{STREAM}.events.forged", None, b"{}")
            assert service.request("portal", "enterprise.register", {
                "command_id": uuid4().hex, "person": "p", "credit_code": credit_code(),
                "name": "永川砖厂", "scale": "small_micro", "industry": "building_bricks",
                "town": "laisu"})["ok"]
            def met_by_the_followers() -> int:
                return sum(source()[0] for source in PASSED_OVER._elsewhere)

            # This process may meet it too (the overdue watch reads the log): what is asked
            # is that the followers' process met it, and that the health check tells.
            wait_until(lambda: met_by_the_followers() >= 1, 20,
                       "the followers' process tells of the forged message")
            [warning] = health(service)["warnings"]
            assert f"{STREAM} position {position} " in warning, warning
        finally:
            service.close()
