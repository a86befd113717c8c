"""Queries by request/reply, `onestop.query.<principal>.<query>`, answered on the reply subject.

Like the commands (bus/service/routes.py), queries arrive on a plain nats-py subscription,
not through FastStream handlers. Measured one `case.get` at a time over a 5,000-event log, the
p50 was 1.40 ms through FastStream's handlers (one per query, each decoding and validating
its query's model) and 1.01 ms here, against a floor of 0.69 ms (a no-op request/reply and
one durable append, as `onestop bench views` measures it). FastStream's middlewares, its
dependency injection, a queue between the message and the handler, and a second delivery of
every query to the handler of unknown names were a third of a query's time.

Before a query is answered, what is no query at all is refused, in this order, each with its
stable code: a reply subject outside the asker's own inbox (not answered, recorded), a body
over 64 KiB (query.too_large), a name that is no query of ours (query.unknown), an asker who
is no principal of the district (query.forbidden), a body that is not JSON
(query.malformed_json), parameters its model refuses (query.invalid, with each wrong field).
Each refusal is recorded in the audit trail before it is sent. The model is the query's own
in bus/contract/queries.py, the one the published contract describes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from bus.contract import subjects
from bus.contract.queries import QUERIES, Query
from bus.service.answers import QueryAnswerer, Refused, error, invalid, payload_of, too_large
from bus.service.connections import subscriptions_in_effect
from bus.service.replies import foreign_reply
from bus.service.side_by_side import SideBySide

log = logging.getLogger(__name__)

# Queries being answered at once by one service process; beyond that, the subscription's own
# buffer holds them. 32 department systems asking at once are answered side by side.
ANSWERED_AT_ONCE = 128


class QueryEndpoint:
    def __init__(self, connection: Client, answers: Callable[[], QueryAnswerer],
                 subject: str = subjects.ALL_QUERIES) -> None:
        self.connection = connection
        self.answers = answers  # the service's answerer, there once it has started
        self.subject = subject  # `<root>.query.*.>`: another root keeps a test to itself
        self._subscription: Subscription | None = None
        self._answering = SideBySide(ANSWERED_AT_ONCE)

    async def start(self) -> None:
        self._subscription = await self.connection.subscribe(
            self.subject, queue=subjects.QUERY_WORKERS, cb=self._on_query)
        # Once started, the server knows: a query sent the next moment finds a responder.
        await subscriptions_in_effect(self.connection)

    async def stop(self) -> None:
        """Takes no new query, and returns when every query taken has been answered."""
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.drain()
        await self._answering.finished()

    async def _on_query(self, message: Msg) -> None:
        await self._answering.start(self._answer(message))

    async def _answer(self, message: Msg) -> None:
        try:
            reply = await self.reply_to(message.subject, message.reply, message.data)
            if reply is not None and message.reply:
                # Not `message.respond`: it would send the request's own headers back.
                await self.connection.publish(message.reply, orjson.dumps(reply))
        except Exception:  # one bad message must never stop the others
            log.exception("answering %s failed", message.subject)

    async def reply_to(self, subject: str, reply_subject: str, body: bytes) -> dict | None:
        """The reply to a query, or None when nobody may be answered (it is recorded)."""
        principal, name = subjects.parse_query(subject)
        answers = self.answers()
        if reason := foreign_reply(reply_subject, principal):
            await answers.not_answered(principal, name, reason)
            return None
        try:
            query, params = self._checked(answers, principal, name, body)
        except Refused as refused:
            await answers.record_refusal(principal, name, refused.reply, body)
            return refused.reply
        try:
            return await answers.answer(principal, query, params, body)
        except Exception:
            log.exception("query %s from %s failed", name, principal)
            return error("internal.error", "The service could not answer this query.")

    @staticmethod
    def _checked(answers: QueryAnswerer, principal: str, name: str,
                 body: bytes) -> tuple[Query, Any]:
        """The query and its parameters, or Refused, in the order the module says."""
        if refused := too_large(body):
            raise Refused(refused)
        query = QUERIES.get(name)
        if query is None:
            raise Refused(error("query.unknown", f"There is no query {name!r}.",
                                {"query": name}))
        answers.principal_kind(principal)  # before the body is read
        payload = payload_of(body)
        try:
            return query, query.schema.model_validate(payload)
        except ValidationError as failure:
            raise Refused(invalid(failure)) from None
