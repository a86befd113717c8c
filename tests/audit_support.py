"""A log with checkpoints, and doctored copies of it in a second stream, for the audit tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import nats
import orjson

from adapters.audit.checkpointer import Checkpointer
from adapters.audit.signing import SigningKey
from adapters.audit.trail import SENT, audit_stream, audit_subject
from adapters.integrity.chain import kept
from adapters.jetstream.log import Outgoing, StreamLog
from adapters.jetstream.stream_reader import Message, StreamReader
from adapters.jetstream.stream_subjects import StreamSubjects
from adapters.jetstream.streams import StreamRecipe, ensure_stream
from bench.view_queries import LEADS, run_scenario
from bus.contract import subjects
from bus.service.deliveries import DeliveryRecorder
from domain.application import OneStop


def write_cases(nats_url: str, stream: str, rounds: int = 1) -> None:
    """Real events through the domain: single publishes and atomic batches."""
    app = OneStop(env={"PERSISTENCE_MODULE": "adapters.jetstream", "NATS_URL": nats_url,
                       "NATS_STREAM": stream,
                       "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder"})
    try:
        for _ in range(rounds):
            for lead, collaborators in LEADS[:2]:
                run_scenario(app, lead, collaborators)
    finally:
        app.close()


async def checkpoint(nats_url: str, stream: str, key: SigningKey, every: int = 10) -> int:
    """Covers the whole log with checkpoints of `every` messages; returns the last covered."""
    connection = await nats.connect(nats_url)
    try:
        checkpointer = Checkpointer(connection, stream, key, every=every)
        await checkpointer.start()
        head = await log_head(connection, stream)
        assert await checkpointer.wait_covered(head, timeout=10)
        await checkpointer.stop(final=False)
        return checkpointer.position
    finally:
        await connection.close()


async def log_head(connection, stream: str) -> int:
    log = StreamLog(connection, stream, request_timeout=10)
    await log.start()
    last = await log.last(f"{stream}.>")
    return last.sequence if last else 0


async def read_all(connection, stream: str) -> list[Message]:
    messages: list[Message] = []
    async with StreamReader(connection, stream) as reader:
        while batch := await reader.read(1000):
            messages += batch
    return messages


Doctor = Callable[[list[Message]], list[Message]]


async def copy_log(connection, source: str, target: str,
                   doctor: Doctor = lambda messages: messages) -> None:
    """Every message of `source`, with its headers but not the write-time instructions, into
    a fresh stream made by the same recipe, after `doctor` has had its way with the list."""
    subjects = StreamSubjects(target, "events")
    await ensure_stream(connection.jetstream(), StreamRecipe(
        target, (subjects.all_events, subjects.all_tracking, subjects.checkpoints),
        append_only=True), create=True)
    log = StreamLog(connection, target, request_timeout=10)
    await log.start()
    for position, message in enumerate(doctor(await read_all(connection, source)), start=1):
        _, _, tail = message.subject.partition(".")
        if message.raw_headers is not None:  # a header block written as the doctor wrote it
            assert await publish_raw(connection, f"{target}.{tail}", message.raw_headers,
                                     message.body) == position
            continue
        headers = {name: value for name, value in (message.headers or {}).items()
                   if kept(name)}
        assert await log.publish(Outgoing(f"{target}.{tail}", headers, message.body)) == position


async def publish_raw(connection, subject: str, block: bytes, body: bytes) -> int:
    """A message with exactly this header block, as any client may send one (nats-py would
    send each name once): the protocol's HPUB, on nats-py's own connection. Returns where the
    stream stored it, from JetStream's acknowledgement."""
    inbox = connection.new_inbox()
    acknowledgement = await connection.subscribe(inbox, max_msgs=1)
    await connection._send_command(b"HPUB %s %s %d %d\r\n%s%s\r\n" % (
        subject.encode(), inbox.encode(), len(block), len(block) + len(body), block, body))
    await connection.flush()
    answer = orjson.loads((await acknowledgement.next_msg(timeout=10)).data)
    assert "seq" in answer, answer
    return answer["seq"]


def with_block(message: Message, lines: list[str]) -> Message:
    """`message` with a header block of these lines, in this order, byte for byte."""
    block = ("NATS/1.0\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()
    return replace(message, raw_headers=block)


def events_only(messages: list[Message]) -> list[int]:
    """Positions (1-based) of the messages that are events."""
    return [index + 1 for index, message in enumerate(messages)
            if ".events." in message.subject]


def key_in(directory: Path) -> SigningKey:
    return SigningKey.load_or_create(directory)


def forged_event(template: Message) -> Message:
    """An event that was never written by the service, shaped like `template`."""
    headers = {**template.headers, "Nats-Msg-Id": uuid.uuid4().hex}
    return replace(template, headers=headers, body=template.body.replace(b"2026", b"2025"))


def sent_is_recorded(service) -> bool:
    """Whether every message the feeds were sent from this service's log, up to its head, is
    recorded in its audit trail (for tests that compare two reads of the trail)."""
    async def check() -> bool:
        kv = await service.client.jetstream().key_value(f"{service.stream}_FEEDS")
        cursor = orjson.loads((await kv.get("position")).value)
        if cursor["position"] < service.log_length():
            return False
        log = StreamLog(service.client, audit_stream(service.stream), request_timeout=10)
        await log.start()
        try:
            for feed in await DeliveryRecorder(service.client, service.stream).feeds():
                ours = [stored.sequence async for stored in log.read(
                    subjects.all_feed(feed.principal), stream=feed.stream)
                    if stored.headers.get(subjects.FEED_LOG_HEADER) == service.stream]
                last = await log.last(audit_subject(service.stream, feed.principal, SENT))
                recorded = 0 if last is None else orjson.loads(last.body)["last"]
                if ours and recorded < ours[-1]:
                    return False
        finally:
            await log.close()
        return True
    return service.runner.run(check())


def log_is_checkpointed(service) -> bool:
    """Whether the last message of this service's log is a checkpoint: then nothing more is
    written to the log, checkpoints included, until something new happens (for tests that
    compare two exports of it)."""
    async def check() -> bool:
        log = StreamLog(service.client, service.stream, request_timeout=10)
        await log.start()
        try:
            last = await log.last(f"{service.stream}.>")
            return last is not None and last.subject == f"{service.stream}.checkpoints"
        finally:
            await log.close()
    return service.runner.run(check())
