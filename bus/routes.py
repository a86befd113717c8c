"""Commands by request/reply: `onestop.cmd.<principal>.<command>`, answered on the reply subject.

The principal is the subject's third token. NATS permissions let a principal publish only
under its own prefix, so the subject is proof of who sent it; the payload is never asked.
"""

from __future__ import annotations

from typing import Any

from faststream.nats import NatsRouter
from faststream.nats.message import NatsMessage

from bus import subjects
from bus.services import Services


async def _whole_message(message: NatsMessage) -> NatsMessage:
    """The handler's argument is the message itself (subject and raw body).

    Asking for it as `message: NatsMessage` (a FastStream Context field) costs a hop to an
    anyio worker thread per command, because FastStream resolves context fields with a
    synchronous function; profiled, that hop was a large part of the service's CPU per command.
    """
    return message


def command_router(services: Services) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(
        subjects.ALL_COMMANDS, queue=subjects.COMMAND_WORKERS, max_workers=64,
        decoder=_whole_message,
        description="Every command of every principal; see the operations for payloads.",
    )
    async def on_command(message: Any) -> dict:
        principal, command = subjects.parse_command(message.raw_message.subject)
        assert services.dispatcher is not None, "commands arrive only after start-up"
        return await services.dispatcher.dispatch(principal, command, message.body)

    return router
