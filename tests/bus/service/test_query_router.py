"""The query router's handlers, through FastStream's own test client (no server): each query
reaches its handler decoded into its parameter model, and each kind of bad input gets its
stable code before any answer is tried. What the answers hold is tested on a real server
(test_bus_queries.py, test_hostile_inputs.py); here, only the router's part."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from uuid import uuid4

import orjson
import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from faststream.nats.annotations import NatsMessage

from bus.contract import subjects
from bus.contract.messages import MAX_COMMAND_BYTES
from bus.contract.queries import QUERIES, GetCase
from bus.service.answers import QueryAnswerer
from bus.service.query_router import query_router, unknown_query_router


class Answerer(QueryAnswerer):
    """Answers with the parameters it was given; remembers what was refused, and why."""

    def __init__(self) -> None:
        self.kinds = {"jxw": "department", "auditor": "auditor"}
        self.answered: list = []
        self.refused: list[tuple[str, str, str]] = []
        self.unanswered: list[tuple[str, str]] = []

    async def answer(self, principal, query, params, body):
        self.answered.append((principal, query.name, params))
        return {"ok": True, "result": params.model_dump(mode="json"), "position": 7}

    async def record_refusal(self, principal, name, reply, body):
        self.refused.append((principal, name, reply["error"]["code"]))

    async def not_answered(self, principal, name, reason):
        self.unanswered.append((principal, name))


@pytest.fixture
def answerer() -> Answerer:
    return Answerer()


def ask(answerer: Answerer, principal: str, name: str, body: bytes, router=query_router) -> dict:
    # One router at a time: FastStream's test client answers with the first subscriber whose
    # subject matches, where a server sends to both and only the one with an answer replies.
    async def request() -> dict:
        broker = NatsBroker()
        broker.include_router(router(SimpleNamespace(answers=answerer)))
        async with TestNatsBroker(broker) as client:
            reply = await client.request(body, subjects.query(principal, name))
            return orjson.loads(reply.body) if reply.body else None
    return asyncio.run(request())


def test_each_query_reaches_its_handler_decoded_into_its_model(answerer):
    case_id = uuid4()

    reply = ask(answerer, "jxw", "case.get", orjson.dumps({"case_id": str(case_id)}))

    assert reply == {"ok": True, "result": {**reply["result"], "case_id": str(case_id)},
                     "position": 7}
    [(principal, name, params)] = answerer.answered
    assert (principal, name) == ("jxw", "case.get")
    assert isinstance(params, GetCase) and params.case_id == case_id
    assert answerer.refused == []


def test_every_query_of_the_contract_has_a_handler(answerer):
    router = query_router(SimpleNamespace(answers=answerer))
    handled = [subscriber.subject.broker_address for subscriber in router.subscribers]

    assert sorted(handled) == sorted(subjects.query("*", name) for name in QUERIES)


def test_the_unknown_query_handler_stays_silent_for_a_query_of_ours(answerer):
    reply = ask(answerer, "jxw", "case.get", b"{}", router=unknown_query_router)

    assert reply is None
    assert answerer.refused == []


@pytest.mark.parametrize(("body", "code", "fields"), [
    (b"{", "query.malformed_json", None),
    (b"[]", "query.invalid", {"(body)"}),
    (b'{"case_id": "not a uuid"}', "query.invalid", {"case_id"}),
    (b'{"case_id": "' + str(uuid4()).encode() + b'", "extra": 1}', "query.invalid", {"extra"}),
    (b"{}", "query.invalid", {"case_id"}),
    (b" " * (MAX_COMMAND_BYTES + 1), "query.too_large", None),
])
def test_bad_input_gets_its_code_and_is_recorded_and_never_answered(answerer, body, code,
                                                                    fields):
    reply = ask(answerer, "jxw", "case.get", body)

    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    if fields is not None:
        assert set(reply["error"]["fields"]) == fields
    assert answerer.answered == []
    assert answerer.refused == [("jxw", "case.get", code)]


def test_a_query_of_no_name_of_ours_is_unknown(answerer):
    reply = ask(answerer, "jxw", "case.steal", b"{}", router=unknown_query_router)

    assert reply["error"] == {"code": "query.unknown", "message": "There is no query "
                              "'case.steal'.", "fields": {"query": "case.steal"}}
    assert answerer.refused == [("jxw", "case.steal", "query.unknown")]


def test_someone_who_is_no_principal_is_forbidden_before_the_body_is_read(answerer):
    reply = ask(answerer, "stranger", "case.get", b"{")

    assert reply["error"]["code"] == "query.forbidden"
    assert answerer.refused == [("stranger", "case.get", "query.forbidden")]


def test_a_reply_subject_that_is_not_the_askers_gets_nothing(answerer):
    async def publish() -> list:
        broker = NatsBroker()
        broker.include_router(query_router(SimpleNamespace(answers=answerer)))
        sent_elsewhere: list = []

        @broker.subscriber("elsewhere.>")
        async def elsewhere(message: NatsMessage) -> None:
            sent_elsewhere.append(message.body)

        async with TestNatsBroker(broker) as client:
            await client.publish(b"{}", subjects.query("jxw", "views.status"),
                                 reply_to="elsewhere.jxw")
        return sent_elsewhere

    assert asyncio.run(publish()) == []
    assert answerer.unanswered == [("jxw", "views.status")]
    assert answerer.answered == [] and answerer.refused == []
