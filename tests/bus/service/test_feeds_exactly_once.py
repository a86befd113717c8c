"""Every event of a case, and of its ratings, reaches the feed of each department involved
exactly once, in log order, whatever crashes: the followers' process killed outright again
and again in the middle of its batches, under load; the server away for longer than the
feeds' duplicate window. What each feed was sent is recorded in the audit trail as exactly:
each feed message once, in feed order, through the same kills."""

from __future__ import annotations

import os
import signal
import threading
from collections import defaultdict

import orjson
import pytest

from adapters.audit.trail import SENT, audit_stream, audit_subject
from adapters.jetstream.log import Stored, StreamLog
from bus.contract import subjects
from bus.contract.identity import feed_stream
from bus.service.followers_process import NICENESS
from projections.involvement import Involvement
from tests.bus_support import Service, district_server, when
from tests.domain.support import credit_code
from tests.processes import wait_until

STREAM = "ONESTOP"
DEPARTMENTS = ("samr", "jxw", "zjw", "kjj", "jtj", "portal")
INVOLVED = ("jxw", "zjw", "kjj", "portal")  # in every case `a_case` makes


def a_case(service: Service, enterprise: str) -> None:
    """Ordered, routed, handed on: three departments see parts of it."""
    case = service.applied("portal", "case.submit", enterprise_id=enterprise,
                           service_type="quality_management", description="砖",
                           channel="online_platform")["id"]
    service.applied("samr", "case.accept", case_id=case, lead="jxw", collaborators=["zjw"])
    service.applied("jxw", "case.schedule_appointment", case_id=case, at=when(3), place="x")
    service.applied("jxw", "case.transfer", case_id=case, to="kjj", reason="technology")
    service.applied("kjj", "case.reschedule_appointment", case_id=case, at=when(4), place="y",
                    reason="z")
    # Resolved and badly rated (好差评): the rating and its follow-up go to the department
    # rated and to the portal that took the case, on the case's subject of their feeds.
    service.applied("kjj", "case.resolve", case_id=case, outcome="配方调整", invested_yuan="0",
                    saved_per_year_yuan="0", expected_benefit_yuan="0")
    rating = service.applied("portal", "case.evaluate", case_id=case, stage="resolved",
                             level="dissatisfied")["id"]
    service.applied("kjj", "evaluation.follow_up", evaluation_id=rating, contact="电话",
                    finding="冬季烧成温度不足")


def read(service: Service, stream: str, subject: str) -> list[Stored]:
    async def everything() -> list[Stored]:
        log = StreamLog(service.client, stream, request_timeout=10)
        await log.start()
        try:
            return [stored async for stored in log.read(subject)]
        finally:
            await log.close()
    return service.runner.run(everything())


def expected_feeds(events: list[Stored]) -> dict[str, list[int]]:
    """What each feed must hold, worked out from the log alone by the feeds' rule: the events
    of each case while involved, its earlier ones on becoming involved, each once; a rating's
    events to the department rated and to whoever took the case."""
    involvements: dict[str, Involvement] = {}
    ratings: dict[str, tuple[str, tuple[str, ...]]] = {}  # rating id -> case, told
    history: dict[str, list[Stored]] = defaultdict(list)
    held: dict[tuple[str, str], int] = defaultdict(int)
    feeds: dict[str, list[int]] = defaultdict(list)

    def give(department: str, case: str, event: Stored) -> None:
        if held[(department, case)] < event.sequence:
            feeds[department].append(event.sequence)
            held[(department, case)] = event.sequence

    for event in events:
        topic = event.headers.get("Onestop-Topic", "")
        record = event.subject.rsplit(".", 1)[1]
        if topic == "evaluation.rated":
            rated = orjson.loads(event.body)
            ratings[record] = (rated["case_id"], tuple(sorted(
                {rated["department"], rated.get("station") or "portal"})))
        if topic.startswith("evaluation."):
            case, told = ratings[record]
            for principal in told:
                give(principal, case, event)
            continue
        if not topic.startswith("case."):
            continue
        case = record
        delivery = involvements.setdefault(case, Involvement()).apply(
            topic, orjson.loads(event.body))
        for newcomer in sorted(delivery.newcomers):
            for earlier in history[case]:
                give(newcomer, case, earlier)
        for department in sorted(delivery.recipients):
            give(department, case, event)
        history[case].append(event)
    return feeds


def feeds_hold(service: Service) -> dict[str, list[int]]:
    return {department: [int(m.headers["Onestop-Log-Sequence"]) for m in read(
        service, feed_stream(department), f"onestop.feed.{department}.case.>")]
        for department in DEPARTMENTS}


def caught_up(service: Service) -> bool:
    async def cursor() -> dict:
        kv = await service.client.jetstream().key_value(f"{STREAM}_FEEDS")
        return orjson.loads((await kv.get("position")).value)
    head = service.log_length()
    position = service.runner.run(cursor())
    return position["position"] >= head and position["until"] <= position["position"]


def sent_records(service: Service, principal: str) -> list[dict]:
    """The `sent` records of a principal's feed in the audit trail, in order."""
    return [orjson.loads(stored.body) for stored in read(
        service, audit_stream(service.stream), audit_subject(service.stream, principal, SENT))]


def assert_sent_recorded_once_in_order(service: Service, principal: str) -> None:
    """Once the feed holds what it will: every message in it recorded as sent, once."""
    feed = [stored.sequence for stored in read(service, feed_stream(principal),
                                               subjects.all_feed(principal))]
    assert feed, f"{principal}'s feed holds nothing yet"

    def recorded() -> list[int]:
        return [message["feed_sequence"] for record in sent_records(service, principal)
                for message in record["messages"]]
    wait_until(lambda: recorded()[-1:] == feed[-1:], 30,
               f"what {principal}'s feed was sent is recorded")
    assert recorded() == feed


def assert_exactly_once_in_order(service: Service) -> None:
    wait_until(lambda: caught_up(service), 60, "the feeds have published the whole log")
    expected = expected_feeds(read(service, STREAM, f"{STREAM}.events.>"))
    held = feeds_hold(service)
    for department in DEPARTMENTS:
        assert held[department] == expected.get(department, []), department


@pytest.fixture
def service(tmp_path, monkeypatch):
    # The feed streams forget message ids after half a second: exactly-once must not rest on
    # the server's duplicate window.
    monkeypatch.setenv("ONESTOP_FEED_DUPLICATE_WINDOW", "0.5")
    # What the feeds sent is recorded all the time, so the kills land in its writes too.
    monkeypatch.setenv("ONESTOP_DELIVERIES_POLL_SECONDS", "0.02")
    with district_server(tmp_path, "feeds") as district:
        running = Service(district, STREAM, separate_followers=True)
        try:
            yield running
        finally:
            running.close()


def test_the_followers_process_yields_the_cpu_to_the_commands(service):
    followers = service.bus.services.follower_process
    # Niceness is per thread on Linux: the process's own thread and the views' worker
    # threads, started after it was set, alike.
    threads = os.listdir(f"/proc/{followers.pid}/task")
    assert len(threads) > 1
    for thread in threads:
        assert os.getpriority(os.PRIO_PROCESS, int(thread)) == min(
            os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19)


def test_killing_the_feed_publisher_again_and_again_loses_and_doubles_nothing(service):
    enterprise = service.applied("portal", "enterprise.register", credit_code=credit_code(),
                                 name="砖厂", scale="small_micro", industry="building_bricks",
                                 town="laisu")["id"]
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            a_case(service, enterprise)
            # Events no feed carries between them: whole batches of those are passed
            # with no claim (feeds.py), and the kills land in those rounds too.
            for _ in range(3):
                service.applied("portal", "enterprise.register", credit_code=credit_code(),
                                name="砖厂", scale="small_micro", industry="building_bricks",
                                town="laisu")

    loader = threading.Thread(target=load)
    loader.start()
    followers = service.bus.services.follower_process
    try:
        for _ in range(4):
            head = service.log_length()
            wait_until(lambda: service.log_length() >= head + 40, 30, "more cases written")
            restarts = followers.restarts
            os.kill(followers.pid, signal.SIGKILL)  # in the middle of whatever it publishes
            wait_until(lambda: followers.restarts > restarts, 30, "the followers restarted")
    finally:
        stop.set()
        loader.join()
    assert followers.restarts >= 4
    assert_exactly_once_in_order(service)
    for department in INVOLVED:
        assert_sent_recorded_once_in_order(service, department)


def test_a_server_away_longer_than_the_duplicate_window_doubles_nothing(service):
    enterprise = service.applied("portal", "enterprise.register", credit_code=credit_code(),
                                 name="砖厂", scale="small_micro", industry="building_bricks",
                                 town="laisu")["id"]
    for _ in range(5):
        a_case(service, enterprise)
    wait_until(lambda: caught_up(service), 60, "the feeds are up to date")
    # The followers are killed with a batch claimed and half published, and the server is
    # away for longer than the feed streams would remember a message id.
    followers = service.bus.services.follower_process
    restarts = followers.restarts
    for _ in range(5):
        a_case(service, enterprise)
    os.kill(followers.pid, signal.SIGKILL)
    server = service.district.server
    server.stop()
    server.start()
    wait_until(lambda: followers.restarts > restarts, 60, "the followers restarted")
    for _ in range(3):
        a_case(service, enterprise)
    assert_exactly_once_in_order(service)
    for department in INVOLVED:
        assert_sent_recorded_once_in_order(service, department)
