"""Queries by request/reply, `onestop.query.<principal>.<query>`: a FastStream router with
one handler per query, each typed with the query's parameter model (bus/contract/queries.py),
so FastStream decodes and validates what was asked before the answerer sees it.

Before that model is tried, a decoder of our own refuses what is no query at all, in this
order, each with its stable code: a reply subject outside the asker's own inbox (not
answered, recorded), a body over 64 KiB (query.too_large), an asker who is no principal of
the district (query.forbidden), a body that is not JSON (query.malformed_json). Parameters
the model refuses get query.invalid with each wrong field. These refusals are raised, and
turned into replies by one exception middleware, which also records them in the audit trail.

A query with no name of ours has no handler to reach, so one more router
(`unknown_query_router`), subscribed to every query subject but in a queue group of its own,
answers it with query.unknown (and stays silent for the names that have their handler).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from faststream.middlewares import ExceptionMiddleware
from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from bus.contract import subjects
from bus.contract.queries import QUERIES, Query
from bus.service.answers import QueryAnswerer, Refused, error, invalid, payload_of, too_large
from bus.service.replies import foreign_reply

if TYPE_CHECKING:
    from bus.service.services import Services

log = logging.getLogger(__name__)

UNKNOWN_QUERY_WORKERS = "onestop-unknown-queries"
# Queries of one name answered at once by each service process. FastStream's default is one
# at a time per handler: 32 department systems asking for cases were answered at the rate of
# one asker (`onestop bench views`: 382 case.get a second with 32 askers, 370 with one; 843
# with this and the thread hops below gone).
ANSWERED_AT_ONCE = 64


# The query being answered, handed from the decoder to the handler (the same task). Asked
# for as a handler's argument, FastStream's dependency injection resolves the message on a
# worker thread: a thread hop per query, measured at a quarter of a query's CPU.
_asked: ContextVar[NatsMessage] = ContextVar("onestop_query")


class NotAnswered(Exception):
    """A query whose reply subject is not its asker's: nothing is sent back."""


def query_router(services: Services) -> NatsRouter:
    """Every query's handler, answering through `services.answers` once the service started."""

    def answerer() -> QueryAnswerer:
        assert services.answers is not None, "queries arrive only after start-up"
        return services.answers

    async def decode(message: NatsMessage) -> Any:
        principal, name = subjects.parse_query(message.raw_message.subject)
        if reason := foreign_reply(message.raw_message.reply, principal):
            await answerer().not_answered(principal, name, reason)
            raise NotAnswered(reason)
        if refused := too_large(message.body):
            raise Refused(refused)
        answerer().principal_kind(principal)
        _asked.set(message)
        return payload_of(message.body)

    refusals = ExceptionMiddleware()

    @refusals.add_handler(Refused, publish=True)
    async def on_refused(refused: Refused, message: NatsMessage) -> dict:
        principal, name = subjects.parse_query(message.raw_message.subject)
        await answerer().record_refusal(principal, name, refused.reply, message.body)
        return refused.reply

    @refusals.add_handler(ValidationError, publish=True)
    async def on_invalid(failure: ValidationError,
                         message: NatsMessage) -> dict:
        # Raised by FastStream, validating the body as the handler's one argument: each
        # location starts with that argument's name, which is none of the asker's business.
        return await on_refused(Refused(invalid(failure, skip=1)), message)

    @refusals.add_handler(NotAnswered, publish=True)
    async def on_not_answered(_: NotAnswered,
                              message: NatsMessage) -> None:
        message.reply_to = ""  # FastStream then answers nowhere

    router = NatsRouter(middlewares=[refusals])
    for query in QUERIES.values():
        router.subscriber(subjects.query("*", query.name), queue=subjects.QUERY_WORKERS,
                          max_workers=ANSWERED_AT_ONCE,
                          decoder=decode, title=f"query {query.name}",
                          description=query.summary)(_handler(query, answerer))
    return router


def unknown_query_router(services: Services) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(subjects.ALL_QUERIES, queue=UNKNOWN_QUERY_WORKERS,
                       max_workers=ANSWERED_AT_ONCE, decoder=_undecoded, title="an unknown query",
                       description="Answers a query of no name of ours with query.unknown.")
    async def on_unknown_query(_nothing: Any) -> dict | None:
        message = _asked.get()
        principal, name = subjects.parse_query(message.raw_message.subject)
        if name in QUERIES or foreign_reply(message.raw_message.reply, principal):
            message.reply_to = ""  # its own handler answers it, or nobody may be answered
            return None
        # A body too large is refused as such, whatever its name.
        reply = too_large(message.body) or error("query.unknown", f"There is no query {name!r}.",
                                                 {"query": name})
        assert services.answers is not None, "queries arrive only after start-up"
        await services.answers.record_refusal(principal, name, reply, message.body)
        return reply

    return router


def _handler(query: Query, answerer):
    async def on_query(params: Any) -> dict:
        message = _asked.get()
        principal, _ = subjects.parse_query(message.raw_message.subject)
        try:
            return await answerer().answer(principal, query, params, message.body)
        except Exception:
            log.exception("query %s from %s failed", query.name, principal)
            return error("internal.error", "The service could not answer this query.")

    # FastStream decodes and validates the body as the annotation of the handler's one
    # argument: here, this query's own model.
    on_query.__annotations__["params"] = query.schema
    on_query.__name__ = on_query.__qualname__ = f"on_{query.name.replace('.', '_')}"
    return on_query


async def _undecoded(message: NatsMessage) -> Any:
    _asked.set(message)
    return None  # the unknown-query handler reads the subject; its body stays bytes
