"""Commands by request/reply: `onestop.cmd.<principal>.<command>`, answered on the reply subject.

The principal is the subject's third token. NATS permissions let a principal publish only
under its own prefix, so the subject is proof of who sent it; the payload is never asked. A
request whose reply subject is not the principal's own is neither executed nor answered
(`bus.service.replies`).

This is the one subscription that does not go through FastStream: it listens on the
application's own NATS connection, so that a command is received, decided, written and
answered on one event loop (see `bus.service.dispatch`). Through FastStream, the same command cost
about three times the CPU (its middleware, context resolution and a hop between loops), and
throughput on the request path is what department systems wait on.
"""

from __future__ import annotations

import logging

import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from bus.contract import subjects
from bus.service.connections import subscriptions_in_effect
from bus.service.dispatch import Dispatcher, Unexpected, refused
from bus.service.replies import foreign_reply
from bus.service.side_by_side import SideBySide

log = logging.getLogger(__name__)

# Commands being decided at once; beyond that, the subscription's own buffer holds them.
MAX_IN_FLIGHT = 256


class CommandEndpoint:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._subscription: Subscription | None = None
        self._connection = None  # the application's, where commands arrive
        self._answering = SideBySide(MAX_IN_FLIGHT)

    async def start(self) -> None:
        connection = self._connection = self.dispatcher.app.factory.bridge.connection
        self._subscription = await connection.subscribe(
            subjects.ALL_COMMANDS, queue=subjects.COMMAND_WORKERS, cb=self._on_command)
        # Once started (and `onestop up` says it is up), a command sent finds a responder.
        await subscriptions_in_effect(connection)

    async def stop(self) -> None:
        """Takes no new command, and returns when every command taken has been answered."""
        if self._subscription is not None:
            await self._subscription.drain()
        await self._answering.finished()

    async def _on_command(self, message: Msg) -> None:
        await self._answering.start(self._answer(message))  # decided side by side

    async def _answer(self, message: Msg) -> None:
        try:
            principal, name = subjects.parse_command(message.subject)
            if reason := foreign_reply(message.reply, principal):
                await self.dispatcher.not_answered(principal, name, message.data, reason)
                return
            try:
                reply = await self.dispatcher.dispatch(principal, name, message.data)
            except Unexpected:
                reply = refused("internal.error", "The service could not process this "
                                "command; it wrote nothing. Please try again later.")
            if message.reply:
                # Not `message.respond`: nats-py sends the request's headers back with it,
                # and a `Status: 503` a client put in its request then reads as "no
                # responders" to a command that was applied.
                await self._connection.publish(message.reply, orjson.dumps(reply))
        except Exception:  # one bad message must never stop the others
            log.exception("answering %s failed", message.subject)
