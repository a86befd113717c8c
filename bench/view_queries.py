"""`onestop bench views`: rebuilding every view from the log, beside the raw rate at which
nats-py reads the same events from JetStream, and query latency over NATS, in one run.

The log is real: the narrated case scenario runs a few times through `OneStop` on JetStream,
then its stored messages are copied, with fresh ids and the same headers, until the stream
holds `--events` events. Copies are interleaved (a few thousand cases in flight at a time),
so a case's events are spread through the log as in real use.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import nats
import orjson
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.arguments import OneLineParser
from adapters.jetstream.log import Outgoing, StreamLog
from bench.event_store import DEFAULT_POSTGRES_DSN, nats_server
from bus.contract import subjects
from bus.contract.identity import inbox_prefix
from domain.application import OneStop
from domain.base import Actor, CommandContext
from domain.commands import (AcceptCase, AssignExpert, BookEquipment, CloseCase, PlanImprovement,
                             RateCase, RecordVisit, RegisterEnterprise, RegisterEquipment,
                             RegisterExpert, ReleaseEquipment, ResolveCase, ScheduleAppointment,
                             SubmitCase, VisitFinding)
from domain.credit_code import ALPHABET, check_character

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
LEADS = (("jxw", ("samr", "zjw")), ("zjw", ("samr",)), ("nyncw", ("jxw", "samr")),
         ("samr", ("jxw",)), (None, ()))
PRINCIPAL = "samr"  # who asks the queries
# The views issue #6 asked for; the audit trail (#7) and the KPIs (#8) came after.
ISSUE_6_VIEWS = ("cases", "worklists", "enterprises", "experts", "equipment", "intake")
IN_FLIGHT = 2000  # cases whose events are interleaved in the log
ATOMIC_BATCH = 1000  # the server's limit of messages in one atomic batch
UUID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


# Writing a realistic log.

def _ctx(now: datetime, principal: str, person: str) -> CommandContext:
    return CommandContext(actor=Actor(principal=principal, person=person), at=now)


def _credit_code() -> str:
    body = "91500118" + "".join(ALPHABET[b % len(ALPHABET)] for b in os.urandom(9))
    return body + check_character(body)


def run_scenario(app: OneStop, lead: str | None, collaborators: tuple[str, ...]) -> None:
    """A brick maker's case from the online order to closure, with an expert visit; without
    a lead, it stays submitted; led by the bureau itself, it stays open on its desk."""
    now = START
    enterprise_id = app.register_enterprise(_ctx(now, "portal", "厂长"), RegisterEnterprise(
        credit_code=_credit_code(), name="永川来苏页岩砖厂", scale="small_micro",
        industry="building_bricks", town="laisu")).id
    case_id = app.submit_case(_ctx(now, "portal", "厂长"), SubmitCase(
        enterprise_id=enterprise_id, service_type="quality_management",
        description="Bricks turn to powder since the coal-gangue supply stopped",
        channel="online_platform")).id
    if lead is None:
        return
    app.accept_case(_ctx(now, "samr", "王科长"), AcceptCase(case_id=case_id, lead=lead,
                                                           collaborators=collaborators))
    def officer() -> CommandContext:  # a fresh command id each: ids derive from it
        return _ctx(now + timedelta(days=1), lead, "陈干事")

    app.schedule_appointment(officer(), ScheduleAppointment(
        case_id=case_id, at=START + timedelta(days=7), place="factory yard"))
    if lead == PRINCIPAL:
        return
    expert_id = app.register_expert(_ctx(now, "samr", "王科长"), RegisterExpert(
        name="李教授", affiliation="重庆文理学院", specialties=("building_materials",))).id
    equipment_id = app.register_equipment(_ctx(now, "samr", "王科长"), RegisterEquipment(
        name="X-ray fluorescence spectrometer", owner_institution="永川区检验检测中心",
        capabilities=("chemical_composition",),
        calibration_valid_until=now + timedelta(days=365))).id
    start, end = START + timedelta(days=7), START + timedelta(days=7, hours=4)
    app.assign_expert(officer(), AssignExpert(case_id=case_id, expert_id=expert_id,
                                              start=start, end=end))
    booking = app.book_equipment(officer(), BookEquipment(
        case_id=case_id, equipment_id=equipment_id, start=start, end=end))
    app.record_visit(_ctx(end, lead, "李教授"), RecordVisit(
        case_id=case_id, visited_at=start, experts=(expert_id,), findings=(
            VisitFinding(stage="raw_materials",
                         finding="shale replaces coal gangue; no fuel value"),
            VisitFinding(stage="production", finding="firing curve unchanged, underfired cores"),
        ), recommendations=("add internal fuel to the mix", "raise firing temperature",
                            "test every batch")))
    app.plan_improvement(_ctx(end, lead, "陈干事"), PlanImprovement(
        case_id=case_id, actions=("adjust the formula", "retrain kiln operators"),
        target_date=date(2026, 4, 30)))
    app.release_equipment(_ctx(end, lead, "陈干事"), ReleaseEquipment(
        case_id=case_id, booking_id=booking.booking_id))
    later = START + timedelta(days=20)
    app.resolve_case(_ctx(later, lead, "陈干事"), ResolveCase(
        case_id=case_id, outcome="Formula adjusted, bricks pass",
        invested_yuan=Decimal("120000.00"), saved_per_year_yuan=Decimal("350000.50"),
        expected_benefit_yuan=Decimal("2000000")))
    app.rate_case(_ctx(later, "portal", "厂长"), RateCase(
        case_id=case_id, score=2, comment="still some powder in winter"))
    later = START + timedelta(days=35)
    app.resolve_case(_ctx(later, lead, "陈干事"), ResolveCase(
        case_id=case_id, outcome="Winter firing schedule added",
        invested_yuan=Decimal("150000.00"), saved_per_year_yuan=Decimal("400000.00"),
        expected_benefit_yuan=Decimal("2000000.00")))
    app.rate_case(_ctx(later, "portal", "厂长"), RateCase(case_id=case_id, score=5,
                                                         comment="满意"))
    app.close_case(_ctx(later, "samr", "王科长"), CloseCase(case_id=case_id))


async def read_all(connection: Client, stream: str) -> list[Outgoing]:
    log = StreamLog(connection, stream, request_timeout=10)
    await log.start()
    return [Outgoing(stored.subject, {k: v for k, v in stored.headers.items()
                                      if not k.startswith("Nats-") or k == "Nats-Msg-Id"},
                     stored.body)
            async for stored in log.read(f"{stream}.events.>", 1, page=1000)]


class Copier:
    """Copies of a template of messages, every UUID in them (subjects, headers, bodies)
    replaced by a fresh one, the same throughout one copy."""

    def __init__(self, template: list[Outgoing]) -> None:
        text = orjson.dumps([[m.subject, m.headers, m.body.decode()] for m in template]).decode()
        self.parts = UUID.split(text)  # text, uuid, text, uuid, ..., text
        self.ids = sorted(set(self.parts[1::2]))

    def copy(self) -> list[Outgoing]:
        fresh = {old: str(uuid.uuid4()) for old in self.ids}
        parts = self.parts[:]
        parts[1::2] = [fresh[old] for old in parts[1::2]]
        return [Outgoing(subject, headers, body.encode())
                for subject, headers, body in orjson.loads("".join(parts))]


async def publish_all(log: StreamLog, messages: list[Outgoing]) -> None:
    for start in range(0, len(messages), ATOMIC_BATCH):
        await log.publish_batch(messages[start:start + ATOMIC_BATCH])


def write_log(nats_url: str, stream: str, total: int) -> int:
    """Fills `stream` with about `total` events; returns how many it holds."""
    env = {"PERSISTENCE_MODULE": "adapters.jetstream", "NATS_URL": nats_url,
           "NATS_STREAM": stream, "TRANSCODER_TOPIC": "adapters.serialization:OrjsonTranscoder"}
    app = OneStop(env=env)
    try:
        for lead, collaborators in LEADS:
            run_scenario(app, lead, collaborators)
    finally:
        app.close()
    return asyncio.run(_write_copies(nats_url, stream, total))


async def _write_copies(nats_url: str, stream: str, total: int) -> int:
    connection = await nats.connect(nats_url, name="bench-views-writer")
    try:
        template = await read_all(connection, stream)
        copier = Copier(template)
        log = StreamLog(connection, stream, request_timeout=30)
        await log.start()
        written, copies = len(template), (total - len(template)) // len(template)
        for first in range(0, copies, IN_FLIGHT):
            group = [copier.copy() for _ in range(min(IN_FLIGHT, copies - first))]
            # Step by step across the group: each case's events are spread through the log.
            interleaved = [copy[step] for step in range(len(template)) for copy in group]
            await publish_all(log, interleaved)
            written += len(interleaved)
        return written
    finally:
        await connection.close()


# The reference: nats-py reading every event of the stream, three ways.

@dataclass
class Row:
    name: str
    events: int
    seconds: float
    note: str = ""
    latencies: list[float] = field(default_factory=list)
    concurrent_rate: float | None = None  # with QUERIERS askers at once

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


def _touch(message: nats.aio.msg.Msg) -> int:
    # What any reader does at least: its headers (parsed by nats-py) and its body.
    return len(message.headers or ()) + len(message.data)


async def raw_ordered_consumer(connection: Client, stream: str, total: int) -> int:
    js = connection.jetstream()
    done = asyncio.get_running_loop().create_future()
    seen = 0

    async def on_message(message: nats.aio.msg.Msg) -> None:
        nonlocal seen
        _touch(message)
        seen += 1
        if seen >= total and not done.done():
            done.set_result(None)

    subscription = await js.subscribe(f"{stream}.events.>", cb=on_message, ordered_consumer=True,
                                      pending_msgs_limit=-1, pending_bytes_limit=-1)
    await done
    await subscription.unsubscribe()
    return seen


async def raw_pull_consumer(connection: Client, stream: str, total: int,
                            batch: int = 5000) -> int:
    js = connection.jetstream()
    subscription = await js.pull_subscribe(
        f"{stream}.events.>", durable=None, stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
        pending_msgs_limit=-1, pending_bytes_limit=-1)
    seen = 0
    while seen < total:
        for message in await subscription.fetch(batch, timeout=10):
            _touch(message)
            seen += 1
    await subscription.unsubscribe()
    return seen


async def raw_direct_get(connection: Client, stream: str, total: int,
                         batch: int = 5000) -> int:
    """Batched direct gets, the next page asked for while this one arrives."""
    subject = f"{stream}.events.>"
    queue: asyncio.Queue = asyncio.Queue()

    async def on_reply(message: nats.aio.msg.Msg) -> None:
        queue.put_nowait(message)

    inbox = connection.new_inbox()
    subscription = await connection.subscribe(inbox, cb=on_reply, pending_msgs_limit=-1,
                                              pending_bytes_limit=-1)
    api = f"$JS.API.DIRECT.GET.{stream}"

    async def ask(sequence: int) -> None:
        await connection.publish(api, orjson.dumps(
            {"seq": sequence, "next_by_subj": subject, "batch": batch}), reply=inbox)

    seen, asked = 0, 1
    await ask(asked)
    while seen < total:
        message = await queue.get()
        headers = message.headers or {}
        status = headers.get("Status")
        if status == "204":
            continue  # the end of a page: the next was asked for already
        if status:
            raise RuntimeError(f"direct get: {status} {headers.get('Description')}")
        _touch(message)
        seen += 1
        sequence = int(headers["Nats-Sequence"])
        if sequence == asked and seen < total:
            # The first message of a page: ask for the one after it (the stream holds only
            # events, so a page of `batch` messages ends at sequence + batch - 1).
            asked = sequence + batch
            await ask(asked)
    await subscription.unsubscribe()
    return seen


async def measure_raw(nats_url: str, stream: str, total: int) -> list[Row]:
    rows = []
    readers: list[tuple[str, Callable[[Client, str, int], Awaitable[int]]]] = [
        ("ordered push consumer", raw_ordered_consumer),
        ("pull consumer, fetch 5000, no acks", raw_pull_consumer),
        ("batched direct get, 5000 a page, pipelined", raw_direct_get),
    ]
    for name, reader in readers:
        connection = await nats.connect(nats_url, name="bench-views-raw",
                                        pending_size=64 * 1024 * 1024)
        try:
            started = time.perf_counter()
            seen = await reader(connection, stream, total)
            rows.append(Row(f"raw nats-py read: {name}", seen, time.perf_counter() - started))
        finally:
            await connection.close()
    return rows


# Rebuilding the views.

def measure_rebuild(nats_url: str, stream: str, total: int, label: str, store_factory,
                    batch_size: int, names: tuple[str, ...] | None = None) -> Row:
    """Rebuilds the views named (all of them: None) into a fresh store."""
    from adapters.views.rebuild import rebuild
    from projections import ALL_PROJECTIONS

    projections = [p for p in ALL_PROJECTIONS if names is None or p.name in names]
    store = store_factory()

    async def run() -> float:
        connection = await nats.connect(nats_url, name="bench-views-rebuild",
                                        pending_size=64 * 1024 * 1024)
        try:
            await asyncio.to_thread(store.open, projections)
            started = time.perf_counter()
            await rebuild(connection, stream, store, projections, batch_size=batch_size)
            return time.perf_counter() - started
        finally:
            await connection.close()

    try:
        seconds = asyncio.run(run())
        positions = {p.name: store.position(p.name) for p in projections}
    finally:
        store.close()
    behind = {name: position for name, position in positions.items() if position < total}
    note = f"behind: {behind}" if behind else ""
    which = f"all {len(positions)} views" if names is None else f"{len(positions)} views"
    return Row(f"rebuild {which}: {label}", total, seconds, note)


def postgres_reachable(dsn: str) -> bool:
    """False where PostgreSQL is away, or psycopg (the `postgres` extra) is not installed."""
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=3).close()
        return True
    except Exception:  # ImportError included
        return False


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"drop schema if exists {schema} cascade")


# Queries over NATS against the rebuilt views.

class Service:
    """`onestop up` in a process of its own on the benchmark's server and views."""

    def __init__(self, nats_url: str, stream: str, data_dir: str, log_path: str) -> None:
        self.env = {**os.environ, "NATS_URL": nats_url, "NATS_STREAM": stream,
                    "ONESTOP_SCREEN_PORT": "0",
                    "ONESTOP_DATA_DIR": data_dir}
        self.env.pop("VIEWS_DSN", None)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Service:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bus.cli", "up"],
                                            env=self.env, stdout=subprocess.PIPE, stderr=log,
                                            stdin=subprocess.DEVNULL)
        for line in self.process.stdout:
            if b"onestop is up" in line:
                return self
        self.__exit__()
        raise RuntimeError(f"the service did not start; see {self.log_path}")

    def __exit__(self, *_exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


QUERIERS = 32  # concurrent askers for the throughput figure


@dataclass
class Floor:
    """What no query can beat: a request answered by a no-op responder, plus one durable
    append (a read of case data is recorded in the audit trail before it is answered)."""

    request_reply: Row
    durable_append: Row

    def ms(self, p: int) -> float:
        return self.request_reply.percentile_ms(p) + self.durable_append.percentile_ms(p)


async def measure_floor(connection: Client, nats_url: str, count: int) -> Floor:
    subject = f"bench.noop.{uuid.uuid4().hex[:8]}"
    responder = subprocess.Popen([sys.executable, "-m", "bench.noop_responder", nats_url,
                                  subject], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert responder.stdout.readline().strip() == b"ready", "the no-op responder"
        request_reply = await one_at_a_time(
            "reference: request/reply to a no-op responder", count,
            lambda _n: connection.request(subject, b"{}", timeout=10))
    finally:
        responder.stdin.close()
        responder.wait(timeout=10)
    js = connection.jetstream()
    stream = f"BENCH_FLOOR_{uuid.uuid4().hex[:6].upper()}"
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    record = orjson.dumps({"principal": PRINCIPAL, "query": "case.get", "cases": [
        str(uuid.uuid4())], "position": 123456, "parameters": {"case_id": str(uuid.uuid4())}})
    durable_append = await one_at_a_time(
        "reference: one durable append (js.publish)", count,
        lambda _n: js.publish(f"{stream}.reads", record))
    await js.delete_stream(stream)
    return Floor(request_reply, durable_append)


async def one_at_a_time(name: str, count: int, operation: Callable[[int], Awaitable]) -> Row:
    for number in range(20):  # warm-up
        await operation(number)
    latencies = []
    for number in range(count):
        started = time.perf_counter()
        await operation(number)
        latencies.append(time.perf_counter() - started)
    return Row(name, count, sum(latencies), latencies=latencies)


async def at_once(count: int, operation: Callable[[int], Awaitable]) -> float:
    """Operations a second with QUERIERS askers sharing `count` operations."""
    work = iter(range(count))

    async def querier() -> None:
        for number in work:
            await operation(number)

    started = time.perf_counter()
    await asyncio.gather(*(querier() for _ in range(QUERIERS)))
    return count / (time.perf_counter() - started)


async def measure_queries(nats_url: str, stream: str, head: int, count: int
                          ) -> tuple[Floor, list[Row]]:
    connection = await nats.connect(nats_url, name="bench-views-queries",
                                    inbox_prefix=inbox_prefix(PRINCIPAL))
    try:
        async def ask(name: str, body: dict) -> dict:
            reply = await connection.request(subjects.query(PRINCIPAL, name),
                                             orjson.dumps(body), timeout=30)
            answer = orjson.loads(reply.data)
            if not answer.get("ok"):
                raise RuntimeError(f"{name}: {answer}")
            return answer

        # Wait until the service's follower has seen the rebuilt views at the head of the log.
        await ask("worklist.list", {"min_position": head, "wait_ms": 30_000})
        floor = await measure_floor(connection, nats_url, count)
        cases = []
        async for stored in _case_subjects(connection, stream, count):
            cases.append(stored)
        rows = []
        for name, make in (("case.get", lambda n: {"case_id": cases[n % len(cases)]}),
                           ("worklist.list", lambda n: {"limit": 50}),
                           # Time travel: the case after its third event, from the log.
                           ("case.as_of", lambda n: {"case_id": cases[n % len(cases)],
                                                     "version": 3}),
                           # A page of the trail from here and there in the log: each change
                           # with what it did, read from the log.
                           ("audit.changes", lambda n: {"limit": 20,
                                                        "offset": n * 997 % (head - 20)})):
            row = await one_at_a_time(
                f"query {name} over NATS (as {PRINCIPAL}, one at a time)", count,
                lambda number: ask(name, make(number)))
            # The same questions again, 32 at once: audit pages then find the events of their
            # aggregates kept from the first pass (bus/service/histories.py), as a service
            # answering many auditors would.
            row.concurrent_rate = await at_once(count, lambda number: ask(name, make(number)))
            rows.append(row)
        return floor, rows
    finally:
        await connection.close()


async def _case_subjects(connection: Client, stream: str, count: int):
    """Ids of `count` cases, from their submissions in the log."""
    log = StreamLog(connection, stream, request_timeout=10)
    await log.start()
    found = 0
    async for stored in log.read(f"{stream}.events.>", 1, page=1000):
        if stored.headers.get("Onestop-Topic") == "case.submitted":
            yield stored.subject.rsplit(".", 1)[1]
            found += 1
            if found >= count:
                return


# Running it.

def print_table(raw: Row, rows: list[Row]) -> None:
    print(f"\n{'workload':62} {'events/s':>10} {'vs raw':>7}")
    for row in rows:
        print(f"{row.name:62} {row.rate:10,.0f} {row.rate / raw.rate:7.0%}"
              f"{'  (reference)' if row is raw else ''}{'  ' + row.note if row.note else ''}")


def print_queries(floor: Floor, rows: list[Row]) -> None:
    print(f"\n{'query, or its reference':62} {'p50 ms':>8} {'p99 ms':>8} {'p50/floor':>10} "
          f"{'p99/floor':>10} {f'q/s, {QUERIERS} at once':>18}")
    for reference in (floor.request_reply, floor.durable_append):
        print(f"{reference.name:62} {reference.percentile_ms(50):8.2f} "
              f"{reference.percentile_ms(99):8.2f}")
    print(f"{'floor: the two together':62} {floor.ms(50):8.2f} {floor.ms(99):8.2f}")
    for row in rows:
        p50, p99 = row.percentile_ms(50), row.percentile_ms(99)
        print(f"{row.name:62} {p50:8.2f} {p99:8.2f} {p50 / floor.ms(50):9.1f}x "
              f"{p99 / floor.ms(99):9.1f}x {row.concurrent_rate or 0:18,.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="onestop bench views", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events in the log")
    parser.add_argument("--batch", type=int, default=None,
                        help="events per rebuild transaction (default: the rebuild's own)")
    parser.add_argument("--queries", type=int, default=2000, help="requests per query")
    parser.add_argument("--views-dsn", default=os.environ.get(
        "ONESTOP_BENCH_POSTGRES_DSN", DEFAULT_POSTGRES_DSN),
        help="PostgreSQL for the second rebuild ('' to skip it)")
    args = parser.parse_args(argv)
    from adapters.views import SqliteViewFiles, open_view_store
    from adapters.views.rebuild import BATCH

    batch = args.batch or BATCH
    url = os.environ.get("NATS_URL")
    stream = f"BENCH_VIEWS_{uuid.uuid4().hex[:6].upper()}"
    with tempfile.TemporaryDirectory(prefix="onestop-bench-views-") as scratch, \
            nats_server(url) as nats_url:
        started = time.perf_counter()
        total = write_log(nats_url, stream, args.events)
        print(f"nats-server: {nats_url}{'' if url else ' (embedded, sync_interval: always)'}; "
              f"{total:,} events in {stream}, written in {time.perf_counter() - started:.1f} s; "
              f"rebuild batches of {batch:,}; {os.cpu_count()} CPUs (a rebuild worker process "
              f"each)", flush=True)
        raws = asyncio.run(measure_raw(nats_url, stream, total))
        raw = max(raws, key=lambda row: row.rate)
        rows = [*raws]
        # The service that answers the queries below starts on the first file, rebuilt.
        rows.append(measure_rebuild(nats_url, stream, total, "SQLite (a file a view, WAL)",
                                    lambda: open_view_store("", scratch), batch))
        rows.append(measure_rebuild(nats_url, stream, total, "SQLite, the six of #6",
                                    lambda: SqliteViewFiles(Path(scratch) / "six"),
                                    batch, names=ISSUE_6_VIEWS))
        if args.views_dsn and postgres_reachable(args.views_dsn):
            from adapters.views.postgres import PostgresViewStore

            schema = f"bench_views_{uuid.uuid4().hex[:8]}"
            try:
                rows.append(measure_rebuild(
                    nats_url, stream, total, "PostgreSQL",
                    lambda: PostgresViewStore(args.views_dsn, schema=schema), batch))
            finally:
                drop_schema(args.views_dsn, schema)
        else:
            print("PostgreSQL: skipped (not reachable)")
        with Service(nats_url, stream, scratch, os.path.join(scratch, "service.log")):
            floor, queries = asyncio.run(measure_queries(nats_url, stream, total,
                                                         args.queries))
    print_table(raw, rows)
    print_queries(floor, queries)
    print(f"\nreproduce: {'NATS_URL=' + url + ' ' if url else ''}onestop bench views "
          f"--events {args.events} --queries {args.queries}"
          f"{f' --batch {args.batch}' if args.batch else ''}"
          f"{'' if args.views_dsn else ' --views-dsn='}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
