"""A responder that says it has started has: the server holds its subscription, and a request
sent the next moment from another connection finds it, never "no responders"."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import nats.errors

from bus.service.connections import subscriptions_in_effect

ROUNDS = 50


def test_a_request_right_after_the_subscription_is_in_effect_finds_its_responder(nats_url):
    async def rounds() -> list[int]:
        responder, asker = await nats.connect(nats_url), await nats.connect(nats_url)
        unanswered = []
        try:
            for round_ in range(ROUNDS):
                # Behind a large publish the server reads the SUB late: with one flush, its
                # PONG came back first in about one round of four.
                for _ in range(4):
                    await responder.publish(f"nobody.{uuid4().hex}", b"x" * 900_000)
                subject = f"in_effect.{uuid4().hex}"

                async def answer(message, responder=responder) -> None:
                    await responder.publish(message.reply, b"here")
                subscription = await responder.subscribe(subject, queue="workers", cb=answer)
                await subscriptions_in_effect(responder)
                try:
                    await asker.request(subject, b"", timeout=10)
                except nats.errors.NoRespondersError:
                    unanswered.append(round_)
                await subscription.unsubscribe()
        finally:
            await responder.close()
            await asker.close()
        return unanswered

    assert asyncio.run(rounds()) == []
