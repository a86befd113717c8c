"""No principal can make the service or the server write for it.

Every kind of principal, with only its own credentials, sends ordinary requests to the service
and to the JetStream API with the reply subject set where it may not publish: into the event
log, the checkpoints, the audit trail, another's feed, the outcome bucket, another's intake and
another's inbox. Each is answered into the requester's own account or not at all, and every
stream of the service holds afterwards only what that principal was entitled to put there
through its own subjects. The service's consumers are out of every principal's reach.
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.jetstream.log import StreamLog
from bus.contract import subjects
from bus.contract.identity import feed_stream, inbox_prefix
from bus.service.connections import subscriptions_in_effect
from bus.service.replies import CODE as FOREIGN_REPLY
from bus.service.replies import foreign_reply
from tests.bus_support import Service, service_on_its_own_server
from tests.processes import wait_until

STREAM = "ONESTOP"
VICTIM = "zjw"  # a department whose feed, intake, bucket entries and inbox are aimed at
ATTACKERS = {"jxw": "department", "post_laisu": "station", "portal": "portal",
             "samr": "lead", "auditor": "auditor"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with service_on_its_own_server(tmp_path_factory.mktemp("isolation")) as running:
        yield running


def targets(attacker: str) -> list[str]:
    """Where a hostile reply subject points: nowhere the attacker may publish itself."""
    return [
        f"{STREAM}.events.forged-{attacker}",
        f"{STREAM}.checkpoints",
        f"{STREAM}.audit.{VICTIM}.refused",
        subjects.feed_outcome(VICTIM),
        f"$KV.{STREAM}_COMMANDS.{VICTIM}.{uuid4().hex}",
        subjects.intake(VICTIM, "enterprise.register"),
        f"{inbox_prefix(VICTIM)}.stolen",
    ]


def requests(attacker: str, kind: str) -> list[tuple[str, bytes]]:
    """Ordinary requests the attacker may send: to the service, and to the JetStream API."""
    sent = [
        (subjects.command(attacker, "enterprise.register"), b"{}"),  # refused: invalid
        (subjects.query(attacker, "case.get"), b"{}"),  # refused: invalid
        (subjects.HEALTH, b""),
        (subjects.intake(attacker, "enterprise.register"), b"{}"),  # its ack is the reply
        ("$JS.API.INFO", b""),
    ]
    if kind != "auditor":
        sent.append((f"$JS.API.STREAM.INFO.{feed_stream(attacker)}", b""))
    if kind in ("lead", "auditor"):
        sent += [(f"$JS.API.STREAM.INFO.{STREAM}", b""),
                 (f"$JS.API.DIRECT.GET.{STREAM}", b'{"seq":1}')]
    return sent


def stream_states(service: Service) -> dict[str, int]:
    async def states():
        return {info.config.name: info.state.last_seq
                async for info in _streams(service.client.jetstream())}
    return service.runner.run(states())


async def _streams(js):
    for info in await js.streams_info():
        yield info


_logs: dict[tuple[int, str], StreamLog] = {}


def new_subjects(service: Service, stream: str, after: int) -> list[str]:
    """The subjects of what `stream` holds past `after`, read as the operator."""
    async def read():
        log = _logs.get((id(service), stream))
        if log is None:
            log = _logs[id(service), stream] = StreamLog(service.client, stream,
                                                         request_timeout=10)
            await log.start()
        return [stored.subject async for stored in log.read(">", after + 1)]
    return service.runner.run(read())


def audit_records_of(service: Service, principal: str) -> int:
    prefix = f"{STREAM}.audit.{principal}."
    return sum(subject.startswith(prefix)
               for subject in new_subjects(service, f"{STREAM}_AUDIT", 0))


@pytest.mark.parametrize("attacker", sorted(ATTACKERS))
def test_no_reply_subject_makes_the_service_or_the_server_write_for_a_principal(service,
                                                                                 attacker):
    kind = ATTACKERS[attacker]
    victim_inbox: list[str] = []
    victim = service.client_for(VICTIM)

    async def listen():
        async def heard(message):
            victim_inbox.append(message.subject)
        subscription = await victim.subscribe(f"{inbox_prefix(VICTIM)}.>", cb=heard)
        await subscriptions_in_effect(victim)  # hearing from the first message sent
        return subscription
    listening = service.runner.run(listen())
    before = stream_states(service)
    refusals_before = audit_records_of(service, attacker)
    client = service.client_for(attacker)

    async def attack():
        for subject, body in requests(attacker, kind):
            for reply in targets(attacker):
                await client.publish(subject, body, reply=reply)
        await client.flush()
    service.runner.run(attack())

    # Each command and query it sent was refused (invalid) in its own name: once all are
    # recorded, the service has handled them; a health request answered after them closes.
    expected = 2 * len(targets(attacker))
    wait_until(lambda: audit_records_of(service, attacker) >= refusals_before + expected, 20,
               "every command and query it sent is recorded as refused")
    health = service.runner.run(client.request(subjects.HEALTH, b"", timeout=10))
    assert orjson.loads(health.data)["status"] == "ok"
    service.runner.run(victim.flush())
    service.runner.run(listening.unsubscribe())

    after = stream_states(service)
    own = (f"{STREAM}.audit.{attacker}.", subjects.feed_outcome(attacker),
           f"{subjects.INTAKE}.{attacker}.", f"{subjects.DEAD_LETTERS}.{attacker}.",
           f"{STREAM}.audit.checkpoints")  # the last: the service signing those records
    changed = {stream: new_subjects(service, stream, before.get(stream, 0))
               for stream in after if after[stream] != before.get(stream, 0)}
    foreign = {stream: [s for s in written if not s.startswith(own)]
               for stream, written in changed.items()}
    assert {stream: written for stream, written in foreign.items() if written} == {}
    assert STREAM not in changed and f"KV_{STREAM}_COMMANDS" not in changed
    assert victim_inbox == []


@pytest.mark.parametrize("attacker", sorted(ATTACKERS))
def test_no_principal_reaches_the_services_consumers(service, attacker):
    client = service.client_for(attacker)
    violations: list[str] = []

    def consumers():
        async def read():
            js = service.client.jetstream()
            consumers = {(stream, name): (await js.consumer_info(stream, name)).config
                         for stream, name in ((subjects.INTAKE_STREAM,
                                               subjects.INTAKE_CONSUMER),)}
            # The feeds' cursor too (bus/service/feed_cursor.py): no principal reads or moves it.
            cursor = await (await js.key_value(f"{STREAM}_FEEDS")).get("position")
            return {**consumers, "feeds": cursor.value}
        return service.runner.run(read())

    before = consumers()

    async def attempt(subject: str, body: bytes = b"") -> str:
        try:
            reply = await client.request(subject, body, timeout=0.5)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as error:
            return type(error).__name__
        violations.append(f"{subject}: {reply.data[:200]!r}")
        return "answered"

    async def attack():
        hostile = {"stream_name": STREAM, "config": {
            "durable_name": subjects.INTAKE_CONSUMER, "ack_policy": "none", "max_deliver": 1}}
        attempts = [attempt(f"$KV.{STREAM}_FEEDS.position", b'{"position": 0}'),
                    attempt(f"$JS.API.DIRECT.GET.KV_{STREAM}_FEEDS",
                            b'{"last_by_subj": "$KV.ONESTOP_FEEDS.position"}')]
        for stream, name in ((subjects.INTAKE_STREAM, subjects.INTAKE_CONSUMER),):
            attempts += [
                attempt(f"$JS.API.CONSUMER.INFO.{stream}.{name}"),
                attempt(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}", b'{"batch":1}'),
                attempt(f"$JS.API.CONSUMER.CREATE.{stream}.{name}",
                        orjson.dumps({**hostile, "stream_name": stream})),
                attempt(f"$JS.API.CONSUMER.CREATE.{stream}", orjson.dumps({
                    "stream_name": stream, "config": {"name": name, "ack_policy": "none"}})),
                attempt(f"$JS.API.CONSUMER.DELETE.{stream}.{name}"),
                attempt(f"$JS.API.CONSUMER.LIST.{stream}"),
            ]
        return await asyncio.gather(*attempts)

    outcomes = service.runner.run(attack())
    assert violations == []
    assert "answered" not in outcomes
    assert consumers() == before


def test_a_department_still_reads_its_own_feed_with_a_durable_consumer(service):
    """What the README's example does, across the account boundary."""
    client = service.client_for("jxw")
    reply = service.request("jxw", "expert.register", {
        "command_id": uuid4().hex, "person": "陈干事", "name": "李教授",
        "affiliation": "重庆文理学院", "specialties": ["building_materials"]})
    assert reply["ok"], reply

    command_id = uuid4().hex

    async def drop_and_read():
        await client.jetstream().publish(subjects.intake("jxw", "expert.register"), orjson.dumps({
            "command_id": command_id, "person": "陈干事", "name": "王工",
            "affiliation": "永川检测所", "specialties": ["building_materials"]}))
        feed = await client.jetstream().pull_subscribe(
            subjects.feed_outcome("jxw"), durable="jxw-system", stream=feed_stream("jxw"))
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            try:
                [message] = await feed.fetch(1, timeout=1)
            except nats.errors.TimeoutError:
                continue
            await message.ack_sync()
            outcome = orjson.loads(message.data)
            if outcome["command_id"] == command_id:
                return outcome
        raise AssertionError("no outcome on the feed")
    outcome = service.runner.run(drop_and_read())
    assert outcome["ok"], outcome


def test_the_service_answers_a_request_from_its_own_account_only_on_the_senders_inbox(service):
    """The second line: should a request reach the service with a reply subject of the
    requester's choosing (from inside the service's account, or a server set up without
    the district's accounts), a foreign one gets no answer and nothing is done."""
    operator = service.client  # in the service's account, where no reply is mapped
    before = stream_states(service)
    refusals_before = audit_records_of(service, "jxw")
    command = orjson.dumps({"command_id": uuid4().hex, "person": "p", "name": "张三",
                            "affiliation": "x", "specialties": ["building_materials"]})

    async def send():
        await operator.publish(subjects.command("jxw", "expert.register"), command,
                               reply=f"{STREAM}.events.forged")
        await operator.publish(subjects.query("jxw", "views.status"), b"{}",
                               reply=f"{STREAM}.audit.{VICTIM}.refused")
        await operator.publish(subjects.HEALTH, b"", reply=subjects.feed_outcome(VICTIM))
        await operator.flush()
    service.runner.run(send())

    wait_until(lambda: audit_records_of(service, "jxw") >= refusals_before + 2, 20,
               "both requests are recorded as refused")
    records = [subject for subject in new_subjects(service, f"{STREAM}_AUDIT",
                                                   before[f"{STREAM}_AUDIT"])
               if subject != f"{STREAM}.audit.checkpoints"]  # the trail's own signatures
    assert records == [f"{STREAM}.audit.jxw.refused"] * 2
    assert stream_states(service)[STREAM] == before[STREAM]  # the command was not executed
    assert stream_states(service)[feed_stream(VICTIM)] == before[feed_stream(VICTIM)]


def test_which_reply_subjects_the_service_answers_on():
    assert foreign_reply("_R_.Xy12ab.Cd34", "jxw") is None  # mapped by the server
    assert foreign_reply(f"{inbox_prefix('jxw')}.abc.1", "jxw") is None
    assert foreign_reply("", "jxw") is None  # no reply wanted: nothing is sent
    assert foreign_reply(f"{inbox_prefix('zjw')}.abc", "jxw")
    assert foreign_reply("_INBOX.abc", "jxw")
    assert foreign_reply("ONESTOP.events.x", "jxw")
    assert foreign_reply("$KV.ONESTOP_COMMANDS.jxw.1", "jxw")
    assert foreign_reply("_INBOX.abc") is None  # health asks for no principal's inbox
    assert foreign_reply("onestop.feed.zjw.outcome")
    assert FOREIGN_REPLY == "reply.foreign"


def test_an_outcome_bucket_entry_the_service_did_not_write_leaves_no_command_unanswered(
        service):
    # Only the service's account can write there now; should anything else ever be found
    # under a command's key, that command is still decided and answered.
    command_id = uuid4().hex
    forged = f"$KV.{STREAM}_COMMANDS.jxw.{command_id}"
    service.runner.run(service.client.jetstream().publish(forged, b'{"paid": 50000}'))
    reply = service.request("jxw", "expert.register", {
        "command_id": command_id, "person": "陈干事", "name": "赵工",
        "affiliation": "永川检测所", "specialties": ["building_materials"]})
    assert reply["ok"] and reply["command_id"] == command_id


def test_the_views_pass_over_a_message_in_the_log_that_is_no_event_of_the_services(service):
    # Only the service's account can write the log now; should anything else ever be found
    # there, the views go on past it instead of stopping on it for good.
    service.runner.run(service.client.jetstream().publish(f"{STREAM}.events.forged", b"{}"))
    reply = service.request("jxw", "expert.register", {
        "command_id": uuid4().hex, "person": "陈干事", "name": "钱工",
        "affiliation": "永川检测所", "specialties": ["building_materials"]})
    assert reply["ok"], reply
    status = service.query("jxw", "views.status", {})
    assert status["ok"], status

    def caught_up() -> bool:
        answer = service.query("jxw", "views.status", {})["result"]
        return all(view["position"] >= reply["position"] and view["state"] == "running"
                   for view in answer["views"])
    wait_until(caught_up, 20, "every view has passed the message and applied the command")
