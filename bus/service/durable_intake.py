"""The durable intake, for systems that cannot wait for a reply or are sometimes offline.

A command published to `onestop.intake.<principal>.<command>` is processed at least once (the
first-outcome store makes that exactly-once in effect); its outcome goes to the principal's
feed. A message that cannot become a command at all goes to the dead letters with its reason,
as does one that keeps failing through our fault; neither blocks the rest or is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from adapters.jetstream.pull import PullConsumer
from adapters.tasks import stopped
from bus.contract import subjects
from bus.service.bus_streams import BACKOFF_SECONDS, MAX_DELIVER
from bus.service.dispatch import Unexpected

if TYPE_CHECKING:
    from bus.service.services import Services

log = logging.getLogger(__name__)
BATCH = 16

# Refusals that mean "this is not a command": they are answered and also kept as dead letters.
UNPROCESSABLE = frozenset({"command.malformed_json", "command.invalid", "command.unknown",
                           "command.too_large"})


class IntakeWorker:
    """Pulls the intake in batches and handles each message; a plain nats-py pull loop, as
    FastStream's pull subscriber logs a spurious error whenever nats-py times out an empty
    fetch with asyncio's TimeoutError instead of its own."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._consumer: PullConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        connection = self.services.connection
        assert connection is not None
        # Not nats-py's pull: it takes a message sent with a `Status` header for the
        # server's word, and fails the whole batch (adapters/jetstream/pull.py).
        self._consumer = PullConsumer(connection, subjects.INTAKE_STREAM,
                                      subjects.INTAKE_CONSUMER)
        await self._consumer.start()
        self._task = asyncio.get_running_loop().create_task(self._pull())

    async def stop(self) -> None:
        await stopped(self._task)
        if self._consumer is not None:
            await self._consumer.stop()

    async def _pull(self) -> None:
        while True:
            try:
                batch = await self._consumer.fetch(BATCH, expires=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # the server restarting: pull again
                log.warning("intake: pulling failed; trying again", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            await asyncio.gather(*(self._handle_safely(raw) for raw in batch))

    async def _handle_safely(self, raw: Msg) -> None:
        try:
            await handle(self.services, raw)
        except Exception:  # the server away, say: it comes again, however many times
            log.warning("intake: message %s not handled yet; it will come again",
                        raw.metadata.sequence.stream, exc_info=True)
            delivered = raw.metadata.num_delivered
            try:
                await raw.nak(delay=BACKOFF_SECONDS[min(delivered, len(BACKOFF_SECONDS)) - 1])
            except Exception:  # noqa: BLE001 - then after the ack wait
                pass


async def handle(services: Services, raw: Msg) -> None:
    principal, name = subjects.parse_intake(raw.subject)
    assert services.dispatcher is not None and services.connection is not None
    if not services.has_feed(principal):
        # No feed to tell the outcome on (an auditor's, say): executed, its outcome would
        # be lost; so it is not, and an operator sees it among the dead letters.
        await dead_letter(services.connection, raw, principal, name,
                          f"{principal} has no feed for intake outcomes: send commands by "
                          "request/reply")
        await raw.ack()
        return
    try:
        reply = await services.dispatcher.dispatch(principal, name, raw.data)
    except Unexpected as error:
        delivered = raw.metadata.num_delivered
        if delivered < MAX_DELIVER:
            await raw.nak(delay=BACKOFF_SECONDS[min(delivered, len(BACKOFF_SECONDS)) - 1])
            return
        reply = {"ok": False, "command_id": None, "error": {
            "code": "internal.error", "message": "The service could not process this "
            "command; an operator has been given it to look at.", "fields": {}}}
        await dead_letter(services.connection, raw, principal, name, str(error))
    else:
        if not reply["ok"] and reply["error"]["code"] == "service.unavailable":
            # The store is away: not this command's fault, and not the last word on it.
            delivered = raw.metadata.num_delivered
            await raw.nak(delay=BACKOFF_SECONDS[min(delivered, len(BACKOFF_SECONDS)) - 1])
            return
        if not reply["ok"] and reply["error"]["code"] in UNPROCESSABLE:
            await dead_letter(services.connection, raw, principal, name,
                              reply["error"]["message"])
    await tell(services.connection, principal, raw.metadata.sequence.stream, reply,
               services.stream)
    await raw.ack()


async def tell(connection: Client, principal: str, intake_sequence: int, reply: dict,
               event_stream: str) -> None:
    """The outcome, on the principal's feed; its id makes a redelivery publish it only once."""
    await connection.jetstream().publish(
        subjects.feed_outcome(principal), orjson.dumps(reply),
        headers={"Nats-Msg-Id": f"outcome-{intake_sequence}",
                 "Onestop-Intake-Sequence": str(intake_sequence),
                 subjects.FEED_LOG_HEADER: event_stream},
    )


async def dead_letter(connection: Client, raw, principal: str, name: str, reason: str) -> None:
    log.warning("dead letter from %s (%s): %s", principal, name, reason)
    await connection.jetstream().publish(
        subjects.dead_letter(principal, name), raw.data,
        headers={
            "Nats-Msg-Id": f"dead-{raw.metadata.sequence.stream}",
            "Onestop-Reason": reason.replace("\r", " ").replace("\n", " ")[:1000],
            "Onestop-Original-Subject": raw.subject,
            "Onestop-Intake-Sequence": str(raw.metadata.sequence.stream),
        },
    )
