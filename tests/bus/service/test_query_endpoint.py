"""The query endpoint's own part: each query reaches the answerer decoded into its parameter
model, and each kind of bad input gets its stable code before any answer is tried. What the
answers hold is tested on a real server (test_bus_queries.py, test_hostile_inputs.py); here,
the endpoint, first without a server, then on one: answered side by side, and drained at
stop."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port
from bus.contract import subjects
from bus.contract.identity import inbox_prefix
from bus.contract.messages import MAX_COMMAND_BYTES
from bus.contract.queries import QUERIES, GetCase
from bus.service.answers import QueryAnswerer
from bus.service.query_endpoint import QueryEndpoint


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


def ask(answerer: Answerer, principal: str, name: str, body: bytes,
        reply_subject: str | None = None) -> dict | None:
    endpoint = QueryEndpoint(None, lambda: answerer)
    reply_subject = reply_subject or f"{inbox_prefix(principal)}.reply"
    return asyncio.run(endpoint.reply_to(subjects.query(principal, name), reply_subject, body))


def test_each_query_reaches_the_answerer_decoded_into_its_model(answerer):
    case_id = uuid4()

    reply = ask(answerer, "jxw", "case.get", orjson.dumps({"case_id": str(case_id)}))

    assert reply == {"ok": True, "result": {**reply["result"], "case_id": str(case_id)},
                     "position": 7}
    [(principal, name, params)] = answerer.answered
    assert (principal, name) == ("jxw", "case.get")
    assert isinstance(params, GetCase) and params.case_id == case_id
    assert answerer.refused == []


def test_every_query_of_the_contract_is_taken_with_its_own_model(answerer):
    for name in QUERIES:
        reply = ask(answerer, "jxw", name, b"{}")
        assert reply["ok"] or reply["error"]["code"] == "query.invalid", (name, reply)

    assert sorted({name for _, name, _ in answerer.answered}
                  | {name for _, name, _ in answerer.refused}) == sorted(QUERIES)
    assert all(isinstance(params, QUERIES[name].schema)
               for _, name, params in answerer.answered)


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
    reply = ask(answerer, "jxw", "case.steal", b"{}")

    assert reply["error"] == {"code": "query.unknown", "message": "There is no query "
                              "'case.steal'.", "fields": {"query": "case.steal"}}
    assert answerer.refused == [("jxw", "case.steal", "query.unknown")]


def test_a_body_too_large_is_refused_as_such_whatever_its_name(answerer):
    reply = ask(answerer, "jxw", "case.steal", b" " * (MAX_COMMAND_BYTES + 1))

    assert reply["error"]["code"] == "query.too_large"
    assert answerer.refused == [("jxw", "case.steal", "query.too_large")]


def test_someone_who_is_no_principal_is_forbidden_before_the_body_is_read(answerer):
    reply = ask(answerer, "stranger", "case.get", b"{")

    assert reply["error"]["code"] == "query.forbidden"
    assert answerer.refused == [("stranger", "case.get", "query.forbidden")]


def test_a_reply_subject_that_is_not_the_askers_gets_nothing(answerer):
    reply = ask(answerer, "jxw", "views.status", b"{}", reply_subject="elsewhere.jxw")

    assert reply is None
    assert answerer.unanswered == [("jxw", "views.status")]
    assert answerer.answered == [] and answerer.refused == []


class HeldAnswerer(Answerer):
    """Answers only once let go; counts the answers in progress."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.go = asyncio.Event()
        self.all_taken = asyncio.Event()  # `expected` answers in progress at once
        self.expected = expected
        self.in_progress = 0
        self.most_at_once = 0

    async def answer(self, principal, query, params, body):
        self.in_progress += 1
        self.most_at_once = max(self.most_at_once, self.in_progress)
        if self.in_progress == self.expected:
            self.all_taken.set()
        await self.go.wait()
        self.in_progress -= 1
        return await super().answer(principal, query, params, body)


@pytest.fixture
def own_server(tmp_path):
    """A server of this test's own: no other test's service or load is on it."""
    config = EmbeddedServerConfig(data_dir=tmp_path / "nats", port=free_port(),
                                  server_name="query-endpoint")
    with EmbeddedNatsServer(config) as server:
        yield server.url


def test_on_a_server_queries_are_answered_side_by_side_and_drained_at_stop(own_server,
                                                                          unique_name):
    nats_url = own_server
    root = unique_name("q")

    async def scenario() -> None:
        answerer = HeldAnswerer(expected=8)
        service = await nats.connect(nats_url)
        asker = await nats.connect(nats_url, inbox_prefix=inbox_prefix("jxw"))
        endpoint = QueryEndpoint(service, lambda: answerer, subject=f"{root}.query.*.>")
        await endpoint.start()
        try:
            body = orjson.dumps({"case_id": str(uuid4())})
            asked = [asyncio.ensure_future(asker.request(f"{root}.query.jxw.case.get",
                                                         body, timeout=30))
                     for _ in range(8)]
            # All eight taken before any is answered.
            await asyncio.wait({asyncio.ensure_future(answerer.all_taken.wait())}, timeout=30)
            assert answerer.all_taken.is_set(), (
                answerer.in_progress, [f.exception() for f in asked if f.done()])
            stopping = asyncio.ensure_future(endpoint.stop())
            done, _ = await asyncio.wait({stopping}, timeout=0.2)
            assert not done  # it waits for the answers it took
            answerer.go.set()
            replies = [orjson.loads(reply.data) for reply in await asyncio.gather(*asked)]
            await asyncio.wait_for(stopping, 10)
        finally:
            await asker.close()
            await service.close()
        assert answerer.most_at_once == 8
        assert [reply["ok"] for reply in replies] == [True] * 8

    asyncio.run(asyncio.wait_for(scenario(), 60))
