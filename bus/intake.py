"""The durable intake, for systems that cannot wait for a reply or are sometimes offline.

A command published to `onestop.intake.<principal>.<command>` is processed at least once (the
first-outcome store makes that exactly-once in effect); its outcome goes to the principal's
feed. A message that cannot become a command at all goes to the dead letters with its reason,
as does one that keeps failing through our fault; neither blocks the rest or is dropped.
"""

from __future__ import annotations

import logging

import orjson
from faststream import AckPolicy
from faststream.nats import JStream, NatsRouter, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client

from bus import subjects
from bus.dispatch import Unexpected
from bus.services import Services
from bus.streams import BACKOFF_SECONDS, MAX_DELIVER

log = logging.getLogger(__name__)

# Refusals that mean "this is not a command": they are answered and also kept as dead letters.
UNPROCESSABLE = frozenset({"command.malformed_json", "command.invalid", "command.unknown",
                           "command.too_large"})


def intake_router(services: Services) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(
        subjects.ALL_INTAKE,
        stream=JStream(subjects.INTAKE_STREAM, declare=False),
        durable=subjects.INTAKE_CONSUMER,
        pull_sub=PullSub(batch_size=16, timeout=1.0),
        ack_policy=AckPolicy.MANUAL,
        description="Commands for later processing; the outcome goes to the sender's feed.",
    )
    async def on_intake(message: NatsMessage) -> None:
        raw = message.raw_message
        principal, name = subjects.parse_intake(raw.subject)
        assert services.dispatcher is not None and services.connection is not None
        try:
            reply = await services.dispatcher.dispatch(principal, name, message.body)
        except Unexpected as error:
            delivered = raw.metadata.num_delivered
            if delivered < MAX_DELIVER:
                await message.nack(delay=BACKOFF_SECONDS[min(delivered, len(BACKOFF_SECONDS)) - 1])
                return
            reply = {"ok": False, "command_id": None, "error": {
                "code": "internal.error", "message": "The service could not process this "
                "command; an operator has been given it to look at.", "fields": {}}}
            await dead_letter(services.connection, raw, principal, name, str(error))
        else:
            if not reply["ok"] and reply["error"]["code"] in UNPROCESSABLE:
                await dead_letter(services.connection, raw, principal, name,
                                  reply["error"]["message"])
        await tell(services.connection, principal, raw.metadata.sequence.stream, reply)
        await message.ack()

    return router


async def tell(connection: Client, principal: str, intake_sequence: int, reply: dict) -> None:
    """The outcome, on the principal's feed; its id makes a redelivery publish it only once."""
    await connection.jetstream().publish(
        subjects.feed_outcome(principal), orjson.dumps(reply),
        headers={"Nats-Msg-Id": f"outcome-{intake_sequence}",
                 "Onestop-Intake-Sequence": str(intake_sequence)},
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
