"""Tamper evidence: the hash chain and its signed checkpoints catch a doctored log.

Each doctored log is a copy of a real, checkpointed log in a second stream made by the same
recipe, with one thing changed on the way."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

import nats
import orjson
import pytest

from adapters.audit.checkpoints import Checkpoint
from adapters.audit.signing import SigningKey
from adapters.audit.verify import Report, verify_stream
from adapters.jetstream.stream_reader import Message
from tests.audit_support import (
    checkpoint,
    copy_log,
    events_only,
    forged_event,
    read_all,
    write_cases,
)

EVERY = 10
DOCTORED = 15  # an event in the middle of the second checkpoint's range


@dataclass(frozen=True)
class SignedLog:
    url: str
    stream: str
    key: SigningKey
    covered: int
    messages: list[Message]


@pytest.fixture(scope="module")
def signed_log(nats_url, tmp_path_factory) -> SignedLog:
    stream = f"AUDIT_{uuid.uuid4().hex[:8]}"
    key = SigningKey.load_or_create(tmp_path_factory.mktemp("key"))
    # Two rounds of checkpoints: the second covers the checkpoints of the first.
    for _ in range(2):
        write_cases(nats_url, stream)
        covered = asyncio.run(checkpoint(nats_url, stream, key, every=EVERY))
    write_cases(nats_url, stream)  # a tail no checkpoint covers yet
    messages = asyncio.run(_read(nats_url, stream))
    assert {DOCTORED, DOCTORED + 1, DOCTORED + 2} <= set(events_only(messages))
    assert DOCTORED + 2 < covered
    return SignedLog(nats_url, stream, key, covered, messages)


async def _read(url: str, stream: str) -> list[Message]:
    connection = await nats.connect(url)
    try:
        return await read_all(connection, stream)
    finally:
        await connection.close()


def verify_copy(log: SignedLog, doctor, key: SigningKey | None = None) -> Report:
    async def run() -> Report:
        connection = await nats.connect(log.url)
        try:
            target = f"DOCTORED_{uuid.uuid4().hex[:8]}"
            await copy_log(connection, log.stream, target, doctor)
            return await verify_stream(connection, target, (key or log.key).public_key)
        finally:
            await connection.close()

    return asyncio.run(run())


def at(position: int) -> int:
    return position - 1


def test_an_intact_log_verifies_up_to_its_last_checkpoint(signed_log):
    # A faithful copy of the log verifies just as the log itself does.
    for report in (verify_copy(signed_log, lambda messages: messages),
                   asyncio.run(_verify(signed_log))):
        assert report.intact, report.findings()
        assert report.intact_to == signed_log.covered
        assert report.checkpoints == len(_checkpoint_positions(signed_log))
        # What was written after the last checkpoint is reported as not covered yet.
        assert report.uncovered == len(signed_log.messages) - signed_log.covered > 0


async def _verify(log: SignedLog) -> Report:
    connection = await nats.connect(log.url)
    try:
        return await verify_stream(connection, log.stream, log.key.public_key)
    finally:
        await connection.close()


def test_a_modified_event_is_caught_at_its_position(signed_log):
    def modify(messages):
        doctored = list(messages)
        original = doctored[at(DOCTORED)]
        doctored[at(DOCTORED)] = replace(original, body=original.body.replace(b"2026", b"2025"))
        return doctored

    report = verify_copy(signed_log, modify)
    assert not report.intact
    assert report.broken.position == DOCTORED
    assert report.broken.what.startswith("modified")
    assert report.intact_to == DOCTORED - 1


def test_a_modified_header_is_caught_too(signed_log):
    def relabel(messages):
        doctored = list(messages)
        original = doctored[at(DOCTORED)]
        doctored[at(DOCTORED)] = replace(original, headers={**original.headers,
                                                            "ce-source": "/elsewhere"})
        return doctored

    report = verify_copy(signed_log, relabel)
    assert (report.broken.position, report.broken.what.split(":")[0]) == (DOCTORED, "modified")


def test_a_removed_event_is_caught_at_its_position(signed_log):
    report = verify_copy(signed_log, lambda m: m[:at(DOCTORED)] + m[at(DOCTORED) + 1:])
    assert report.broken.position == DOCTORED
    assert report.broken.what.startswith("missing")


def test_two_reordered_events_are_caught_at_the_first(signed_log):
    def swap(m):
        return m[:at(DOCTORED)] + [m[at(DOCTORED) + 1], m[at(DOCTORED)]] + m[at(DOCTORED) + 2:]

    report = verify_copy(signed_log, swap)
    assert report.broken.position == DOCTORED
    assert report.broken.what.startswith("out of order")


def test_an_inserted_event_is_caught_at_its_position(signed_log):
    def insert(m):
        return m[:at(DOCTORED)] + [forged_event(m[at(DOCTORED) + 2])] + m[at(DOCTORED):]

    report = verify_copy(signed_log, insert)
    assert report.broken.position == DOCTORED
    assert report.broken.what.startswith("extra")


def test_a_log_cut_short_verifies_only_up_to_the_last_checkpoint_it_holds(signed_log):
    # Cutting the log's end takes the checkpoints there with it: what is left is intact, but
    # shorter. An auditor compares the position with the one it verified last time.
    checkpoints = _checkpoint_positions(signed_log)
    report = verify_copy(signed_log, lambda m: m[:checkpoints[-1] - 1])
    assert report.intact
    assert report.intact_to == Checkpoint.parse(signed_log.messages[at(checkpoints[-2])].body).last
    assert report.intact_to < signed_log.covered


def _checkpoint_positions(log: SignedLog) -> list[int]:
    return [index + 1 for index, message in enumerate(log.messages)
            if message.subject.endswith(".checkpoints")]


def test_an_altered_checkpoint_has_a_bad_signature(signed_log):
    second = _checkpoint_positions(signed_log)[1]

    def alter(messages):
        # Someone "repairs" a checkpoint to match a doctored event: the signature gives it away.
        doctored = list(messages)
        fields = orjson.loads(doctored[at(second)].body)
        fields["hashes"][0] = "00" * 32
        doctored[at(second)] = replace(doctored[at(second)], body=orjson.dumps(fields))
        return doctored

    report = verify_copy(signed_log, alter)
    assert not report.intact
    assert [finding.what for finding in report.bad_checkpoints] == [
        f"checkpoint at position {second}: bad signature"]
    # The checkpoint is itself a message of the chain: the next checkpoint covers it.
    assert report.broken.position == second


def test_a_log_signed_again_with_another_key_is_refused(signed_log, tmp_path):
    # A forger who rewrites an event, recomputes the chain and signs every checkpoint again
    # with a key of their own.
    forger = SigningKey.load_or_create(tmp_path)

    def resign(messages):
        doctored = list(messages)
        original = doctored[at(DOCTORED)]
        doctored[at(DOCTORED)] = replace(original, body=original.body.replace(b"2026", b"2025"))
        return _signed_again(doctored, forger)

    report = verify_copy(signed_log, resign)
    assert not report.intact
    first = _checkpoint_positions(signed_log)[0]
    assert len(report.bad_checkpoints) == len(_checkpoint_positions(signed_log))
    assert report.findings()[0].position == first
    assert report.findings()[0].what == (f"checkpoint at position {first}: bad signature "
                                         f"(it names key {forger.key_id}, not "
                                         f"{signed_log.key.key_id})")
    assert report.checkpoints == 0
    # And the forged log verifies with the forger's key: the key is what is trusted.
    assert verify_copy(signed_log, resign, key=forger).intact


def _signed_again(messages: list[Message], key: SigningKey) -> list[Message]:
    from adapters.integrity.chain import GENESIS, digest, link

    hashes, previous, doctored = [], GENESIS, []
    for position, message in enumerate(messages, start=1):
        if message.subject.endswith(".checkpoints"):
            old = Checkpoint.parse(message.body)
            new = Checkpoint.signed(key, old.stream, old.first, hashes[old.first - 1:old.last])
            message = replace(message, body=new.body())
        doctored.append(message)
        previous = link(previous, position, digest(message.subject, message.headers,
                                                   message.body))
        hashes.append(previous)
    return doctored
