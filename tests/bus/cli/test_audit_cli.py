"""`onestop audit verify | key` against a running service, as an auditor runs it: a real process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import nats
import pytest

from adapters.audit.signing import PRIVATE_NAME, SigningKey, key_directory
from adapters.integrity.chain import kept
from adapters.integrity.seal import PASSED_OVER, PassedOver
from adapters.jetstream.stream_reader import StreamReader
from adapters.natsserver import free_port
from bus.service.security import OPERATOR
from tests.audit_support import copy_log, forged_event, publish_raw, read_all, with_block
from tests.bus.service.test_bus_commands import registration
from tests.bus_support import Service, service_on_its_own_server


@pytest.fixture
def service(district, unique_name, monkeypatch):
    monkeypatch.delenv("VIEWS_DSN", raising=False)
    running = Service(district, unique_name())
    yield running
    running.close()


def audit(service: Service, *arguments: str, stream: str | None = None,
          url: str | None = None) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ONESTOP_") and name != "VIEWS_DSN"}
    env |= {"NATS_URL": url or service.district.url(OPERATOR),
            "NATS_STREAM": stream or service.stream}
    return subprocess.run(
        [sys.executable, "-m", "bus.cli", "audit", *arguments, "--data-dir",
         str(service.bus.services.data_dir)], env=env, capture_output=True, text=True,
        timeout=120)


def register_some(service: Service, count: int) -> int:
    for _ in range(count):
        assert service.request("portal", "enterprise.register", registration())["ok"]
    return service.log_length()


def covered(service: Service, position: int) -> None:
    checkpointer = service.bus.services.checkpointer
    assert service.runner.run(checkpointer.wait_covered(position, timeout=10))


def test_the_service_signs_its_log_and_verify_says_it_is_intact(service):
    covered(service, register_some(service, 5))
    # The key is the service's own, private to its owner.
    private = key_directory(service.bus.services.data_dir) / PRIVATE_NAME
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    result = audit(service, "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("intact up to position 5 (1 checkpoints, ")
    # An idle log ends with a checkpoint whose own signature stands for it: all covered.
    assert ("the last message, the checkpoint at 6, signs every position before it: all 6 "
            "covered") in result.stdout
    assert result.stdout.endswith(f"read the event log {service.stream}: 6 message(s)\n")


def test_verify_names_the_first_broken_link_of_a_doctored_copy(service):
    covered(service, register_some(service, 6))
    register_some(service, 2)
    covered(service, service.log_length())
    copy = f"COPY_{uuid.uuid4().hex[:8]}"

    async def insert_at_4() -> None:
        connection = await nats.connect(service.district.url(OPERATOR))
        try:
            await copy_log(connection, service.stream, copy,
                           lambda m: m[:3] + [forged_event(m[4])] + m[3:])
        finally:
            await connection.close()

    service.runner.run(insert_at_4())
    result = audit(service, "verify", stream=copy)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0].startswith("first broken link at position 4: extra")


def test_verify_with_another_key_reports_every_checkpoint_as_badly_signed(service, tmp_path):
    covered(service, register_some(service, 3))
    other = SigningKey.load_or_create(tmp_path)
    result = audit(service, "verify", "--public-key",
                   str(key_directory(tmp_path) / "signing-key.pub.pem"))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"checkpoint at position 4: bad signature (it names key "
        f"{service.bus.services.checkpointer.key.key_id}, not {other.key_id})")


def test_key_prints_the_public_key_only(service):
    result = audit(service, "key")
    assert result.returncode == 0
    assert result.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in result.stdout


def test_verify_that_cannot_run_says_why_in_one_line(service, tmp_path):
    unreachable = audit(service, "verify", url=f"nats://127.0.0.1:{free_port()}")
    no_key = audit(service, "verify", "--public-key", str(tmp_path / "missing.pem"))
    for result in (unreachable, no_key):
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot connect" in unreachable.stderr
    assert "no public key" in no_key.stderr


def test_a_service_restarted_goes_on_from_its_last_checkpoint(service):
    register_some(service, 3)
    service.stop()  # in order: its last checkpoint covers its last write
    first = service.bus.services.checkpointer.position
    assert first == 3
    service.start()
    covered(service, register_some(service, 2))
    assert audit(service, "verify").stdout.startswith(
        f"intact up to position {service.log_length()} (2 checkpoints, ")


def test_an_auditor_verifies_the_log_by_position_with_no_consumer_of_its_own(tmp_path,
                                                                             monkeypatch):
    # The auditor may read the event log by direct get only: consumers there are the service's.
    monkeypatch.delenv("VIEWS_DSN", raising=False)
    with service_on_its_own_server(tmp_path) as service:
        covered(service, register_some(service, 5))
        result = audit(service, "verify", url=service.district.url("auditor"))
        # And keeps the checkpoints' heads, its anchor, the same way.
        anchored = audit(service, "anchor", "--file", str(tmp_path / "anchors.jsonl"),
                         url=service.district.url("auditor"))
        # And exports the trail with its proof, with its own credentials.
        exported = audit(service, "export", "--since", "2000-01-01T00:00:00+00:00",
                         url=service.district.url("auditor"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("intact up to position 5 (1 checkpoints, ")
    assert anchored.returncode == 0, anchored.stdout + anchored.stderr
    assert "kept 1 new checkpoint head(s)" in anchored.stdout
    assert exported.returncode == 0, exported.stderr
    kinds = [json.loads(line)["kind"] for line in exported.stdout.splitlines()]
    assert kinds == ["change"] * 5 + ["checkpoint"]


def doctored(service: Service, doctor) -> str:
    """A copy of the service's log, as `doctor` leaves it, in a stream of its own."""
    copy = f"COPY_{uuid.uuid4().hex[:8]}"

    async def make() -> None:
        connection = await nats.connect(service.district.url(OPERATOR))
        try:
            await copy_log(connection, service.stream, copy, doctor)
        finally:
            await connection.close()

    service.runner.run(make())
    return copy


def is_checkpoint(message) -> bool:
    return message.subject.endswith(".checkpoints")


def signed_log(service: Service) -> list[int]:
    """Two checkpoints' worth of a log; the positions of its checkpoints."""
    covered(service, register_some(service, 4))
    covered(service, register_some(service, 3))
    async def positions() -> list[int]:
        connection = await nats.connect(service.district.url(OPERATOR))
        try:
            return [index for index, message in enumerate(
                await read_all(connection, service.stream), start=1) if is_checkpoint(message)]
        finally:
            await connection.close()
    return service.runner.run(positions())


def test_a_log_without_its_checkpoints_is_not_vouched_for(service):
    signed_log(service)
    stripped = doctored(service, lambda m: [x for x in m if not is_checkpoint(x)])
    result = audit(service, "verify", stream=stripped)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "too little covered: no valid checkpoint signs any of its 7 message(s)" in result.stdout


def test_an_empty_event_log_is_not_vouched_for(service):
    result = audit(service, "verify", stream=doctored(service, lambda m: []))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "too little covered: the stream holds nothing" in result.stdout


@pytest.mark.parametrize("stream", ["NO_SUCH_STREAM", "{stream}_AUDIT"])
def test_a_stream_that_is_not_an_event_log_is_refused(service, stream):
    result = audit(service, "verify", stream=stream.format(stream=service.stream))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1
    assert ("there is no stream" in result.stderr) or ("is not an event log" in result.stderr)


def test_a_log_cut_after_the_position_an_auditor_kept_is_caught(service):
    first, second = signed_log(service)  # an auditor verified it all: it kept `second`
    whole = audit(service, "verify", "--expect-position", str(second))
    assert whole.returncode == 0, whole.stdout
    # Cut back to the first checkpoint: intact, as far as it goes.
    cut = audit(service, "verify", "--expect-position", str(second),
                stream=doctored(service, lambda m: m[:first]))
    assert cut.returncode == 4, cut.stdout
    assert f"the log ends at position {first}, before the position you kept, {second}" \
        in cut.stdout
    # History rewritten after the first checkpoint, the later checkpoint dropped and the
    # log made as long as it was: intact as far as the first checkpoint signs it, no further.
    rewritten = audit(service, "verify", "--expect-position", str(second),
                      stream=doctored(service, lambda m: m[:first] + [
                          forged_event(x) for x in m[first:-1]] + [forged_event(m[-2])]))
    assert rewritten.returncode == 4, rewritten.stdout
    assert (f"too little covered: covered only up to position {first - 1}, not up to the "
            f"position you kept, {second}") in rewritten.stdout


def test_more_uncovered_messages_than_allowed_is_said_with_exit_4(service):
    first, _second = signed_log(service)
    # The second checkpoint dropped: the first signs up to the position before it, and the
    # first checkpoint itself and the three events after it are covered by nothing.
    tail = doctored(service, lambda m: [x for x in m if not is_checkpoint(x)
                                        or m.index(x) + 1 == first])
    signed_to, uncovered = first - 1, 8 - (first - 1)
    allowed = audit(service, "verify", "--max-uncovered", str(uncovered), stream=tail)
    assert allowed.returncode == 0, allowed.stdout
    assert f"{uncovered} message(s) after position {signed_to} not yet covered" in allowed.stdout
    strict = audit(service, "verify", "--max-uncovered", str(uncovered - 1), stream=tail)
    assert strict.returncode == 4, strict.stdout
    assert (f"too little covered: {uncovered} message(s) after position {signed_to} are not "
            f"covered (--max-uncovered {uncovered - 1})") in strict.stdout


def test_a_header_added_under_a_server_prefix_is_caught_at_its_position(service):
    covered(service, register_some(service, 5))
    # An insider's note, named to look like one of the server's own instructions.
    noted = doctored(service, lambda m: m[:2] + [replace(m[2], headers={
        **m[2].headers, "Nats-Expected-Note": "paid 50000 yuan to case officer"})] + m[3:])
    result = audit(service, "verify", stream=noted)
    assert result.returncode == 1, result.stdout
    assert result.stdout.splitlines()[0].startswith("first broken link at position 3: modified")
    # A faithful copy still verifies intact.
    assert audit(service, "verify", stream=doctored(service, lambda m: m)).returncode == 0


def test_a_header_smuggled_in_beside_its_namesake_is_caught_at_its_position(service):
    covered(service, register_some(service, 5))

    def smuggle(messages):
        third = messages[2]
        lines = [f"{name}: {value}" for name, value in third.headers.items() if kept(name)]
        # Before the original: the JavaScript client reads the first of two, nats-py the last.
        forged = [f"ce-type: {third.headers['ce-type'].rsplit('.', 2)[0]}.case.withdrawn.v1"]
        return messages[:2] + [with_block(third, forged + lines)] + messages[3:]

    result = audit(service, "verify", stream=doctored(service, smuggle))
    assert result.returncode == 1, result.stdout
    assert result.stdout.splitlines()[0] == (
        "first broken link at position 3: modified: the headers stored at 3 are not what the "
        "chain hashes (the header ce-type twice)")


def test_an_auditors_anchor_catches_a_log_cut_or_rewritten_since(service, tmp_path):
    first, second = signed_log(service)
    anchors = tmp_path / "anchors.jsonl"
    kept = audit(service, "anchor", "--file", str(anchors))
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert f"kept 2 new checkpoint head(s) in {anchors}; anchored up to position {second}" \
        in kept.stdout
    again = audit(service, "anchor", "--file", str(anchors))
    assert "kept 0 new checkpoint head(s)" in again.stdout
    assert len(anchors.read_text().splitlines()) == 2

    intact = audit(service, "verify", "--anchor", str(anchors))
    assert intact.returncode == 0, intact.stdout
    assert f"checked against 2 checkpoint head(s) kept in {anchors}" in intact.stdout

    # Cut back to the first checkpoint: without the anchor it verifies, intact.
    cut = doctored(service, lambda m: m[:first])
    assert audit(service, "verify", stream=cut).returncode == 0
    caught = audit(service, "verify", "--anchor", str(anchors), stream=cut)
    assert caught.returncode == 1, caught.stdout
    assert caught.stdout.splitlines()[0] == (
        f"first broken link at position {first + 1}: cut: the log ends at {first}, but the "
        f"auditor kept the checkpoint at {second} (anchor)")

    # Rewritten after the first checkpoint, and signed again by whoever holds the key... or
    # not signed at all: the head the auditor kept at the second checkpoint no longer holds.
    rewritten = doctored(service, lambda m: m[:first] + [forged_event(x) for x in m[first:]])
    caught = audit(service, "verify", "--anchor", str(anchors), stream=rewritten)
    assert caught.returncode == 1, caught.stdout
    assert f"rewritten: the log up to {second - 1} no longer hashes to the head the auditor " \
        f"kept from the checkpoint at {second} (anchor)" in caught.stdout


DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_an_outsider_checks_an_export_and_agrees_with_verify(service, tmp_path):
    signed_log(service)
    public_key = key_directory(service.bus.services.data_dir) / "signing-key.pub.pem"

    def exported_and_checked(stream: str) -> subprocess.CompletedProcess:
        path = tmp_path / f"{stream}.jsonl"
        exported = audit(service, "export", "--since", "2000-01-01T00:00:00+00:00",
                         "--output", str(path), stream=stream)
        assert exported.returncode == 0, exported.stderr
        # Not onestop: a script of the standard library and pycryptodome.
        return subprocess.run([sys.executable, str(DOCS / "verify_export.py"), str(path),
                               "--public-key", str(public_key)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)

    faithful = exported_and_checked(service.stream)
    assert audit(service, "verify").returncode == 0
    assert faithful.returncode == 0, faithful.stdout + faithful.stderr
    assert faithful.stdout.strip() == "7 proven, 0 not covered yet, 0 outside the chain"

    changed = doctored(service, lambda m: m[:2] + [forged_event(m[2])] + m[3:])
    verdict = audit(service, "verify", stream=changed)
    outsider = exported_and_checked(changed)
    assert verdict.returncode == outsider.returncode == 1, outsider.stdout
    assert verdict.stdout.startswith("first broken link at position 3: modified")
    assert outsider.stdout.splitlines()[0] == (
        "change at position 3: its message is not the one signed for that position")


def test_the_auditor_too_catches_a_header_smuggled_in_beside_its_namesake(tmp_path,
                                                                         monkeypatch):
    # Read by direct gets (no consumer of its own), each header block as it came.
    monkeypatch.delenv("VIEWS_DSN", raising=False)
    # The forged message has no valid seal: what this process passes over stays this test's.
    for name, value in vars(PassedOver()).items():
        monkeypatch.setattr(PASSED_OVER, name, value)
    with service_on_its_own_server(tmp_path) as service:
        register_some(service, 3)

        async def smuggle() -> int:
            connection = await nats.connect(service.district.url(OPERATOR))
            try:
                [third] = [m for m in await read_all(connection, service.stream)
                           if m.sequence == 3]
                # A message id of its own: the server would take it for a resend.
                lines = [f"{name}: {value}" for name, value in third.headers.items()
                         if kept(name) and name != "Nats-Msg-Id"] + ["Nats-Msg-Id: forged"]
                forged = with_block(third, [f"ce-type: {third.headers['ce-type']}x"] + lines)
                return await publish_raw(connection, third.subject, forged.raw_headers,
                                         third.body)
            finally:
                await connection.close()

        position = service.runner.run(smuggle())
        covered(service, position)
        result = audit(service, "verify", url=service.district.url("auditor"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (
        f"first broken link at position {position}: modified: the headers stored at "
        f"{position} are not what the chain hashes (the header ce-type twice)")


def test_the_audit_trail_is_chained_and_signed_like_the_log(service):
    for _ in range(3):  # refusals, recorded in the trail
        assert not service.request("kjj", "case.close", {
            "command_id": uuid.uuid4().hex, "person": "赵", "case_id": str(uuid.uuid4())})["ok"]
    trail = service.bus.services.trail_checkpointer
    assert service.runner.run(trail.wait_covered(3, timeout=10))
    result = audit(service, "verify", "--trail")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("intact up to position 3 (1 checkpoints, ")
    assert f"read the audit trail {service.stream}_AUDIT: 4 message(s)" in result.stdout

    # A copy with the second refusal's code changed, as an insider would to hide an attempt.
    base = f"TRAIL_{uuid.uuid4().hex[:8]}"

    async def copy_with_a_changed_record() -> None:
        connection = await nats.connect(service.district.url(OPERATOR))
        try:
            js = connection.jetstream()
            await js.add_stream(name=f"{base}_AUDIT", subjects=[f"{base}.audit.>"])
            messages = []
            async with StreamReader(connection, f"{service.stream}_AUDIT",
                                    subject=f"{service.stream}.audit.>") as reader:
                while batch := await reader.read(100):
                    messages += batch
            for position, message in enumerate(messages, start=1):
                body = (message.body.replace(b"case.not_found", b"case.closed")
                        if position == 2 else message.body)
                headers = {k: v for k, v in (message.headers or {}).items() if kept(k)}
                _, _, tail = message.subject.partition(".")
                await js.publish(f"{base}.{tail}", body, headers=headers)
        finally:
            await connection.close()

    service.runner.run(copy_with_a_changed_record())
    changed = audit(service, "verify", "--trail", stream=base)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert changed.stdout.splitlines()[0].startswith("first broken link at position 2: modified")
