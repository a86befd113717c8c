"""`onestop bench store`: the JetStream recorder beside raw nats-py and the library's own
SQLite and PostgreSQL recorders, measured in one run on one machine.

Every write workload uses the same number of writers in flight (16 by default); the raw
reference publishes messages with exactly the headers our recorder sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse
from uuid import UUID, uuid4

import nats
import orjson
from nats.aio.client import Client
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent

from adapters.arguments import OneLineParser
from adapters.jetstream import cloudevents as ce
from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerConfig, free_port

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Result:
    name: str
    saves: int
    events: int
    seconds: float

    @property
    def saves_per_second(self) -> float:
        return self.saves / self.seconds

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def sample_state(version: int) -> bytes:
    return orjson.dumps({
        "timestamp": "2026-11-24T08:00:00+00:00", "enterprise": "91500118MA5U7K9X2N",
        "service": "metrology", "channel": "online", "description": "校准需求 " * 8,
        "version": version,
    })


def stored_events(count: int) -> list[StoredEvent]:
    originator_id = uuid4()
    return [StoredEvent(originator_id=originator_id, originator_version=v,
                        topic="domain.cases:ServiceCase.Submitted", state=sample_state(v))
            for v in range(1, count + 1)]


# The reference: raw nats-py, the same headers, the same number in flight.

async def raw_publishes(url: str, stream: str, total: int, in_flight: int) -> Result:
    connection = await nats.connect(url)
    js = connection.jetstream()
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    work = iter(range(total))

    async def writer() -> None:
        for _ in work:
            [one] = stored_events(1)
            message_id = ce.event_id(one)
            headers = ce.event_headers(one, source=f"/onestop/{stream}", message_id=message_id)
            headers[ce.EXPECTED_LAST_SUBJECT_SEQUENCE] = "0"
            await js.publish(f"{stream}.events.{one.originator_id}", one.state, headers=headers)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(in_flight)))
    seconds = time.perf_counter() - started
    await connection.close()
    return Result(f"raw nats-py js.publish ({in_flight} in flight)", total, total, seconds)


def recorder_saves(name: str, recorder: ApplicationRecorder, saves: int, events_per_save: int,
                   threads: int) -> Result:
    batches = [stored_events(events_per_save) for _ in range(saves)]
    recorder.insert_events(stored_events(events_per_save))  # warm up connections and tables
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(recorder.insert_events, batches))
    seconds = time.perf_counter() - started
    return Result(name, saves, saves * events_per_save, seconds)


# Loading aggregates.

class Counter(Aggregate):
    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


def load_times(env: dict[str, str], sizes: tuple[int, ...], repeats: int,
               built: dict[int, UUID] | None = None) -> dict[tuple[int, bool], float]:
    """Median milliseconds to load an aggregate of each size, without and with a snapshot
    taken 5 events before its end. Other aggregates' events are written in between, so each
    aggregate is spread through the log as in real use."""
    app = Application(env={**env, "IS_SNAPSHOTTING_ENABLED": "y"})
    plain, snapshotted = {}, {}
    for size in sizes:
        for target, snapshot in ((plain, False), (snapshotted, True)):
            counter, noise = Counter(), Counter()
            for number in range(size - 1):
                counter.increment()
                if number % 10 == 0:
                    noise.increment()
                    app.save(counter, noise)
                if snapshot and number == size - 7:
                    app.save(counter)
                    app.take_snapshot(counter.id)
            app.save(counter, noise)
            target[size] = counter.id
    app.close()
    if built is not None:  # the aggregates loaded without a snapshot, by size
        built.update(plain)
    timings: dict[tuple[int, bool], float] = {}
    for size in sizes:
        for target, snapshot in ((plain, False), (snapshotted, True)):
            samples = []
            for _ in range(repeats):
                fresh = Application(env={**env, "IS_SNAPSHOTTING_ENABLED": "y"})
                started = time.perf_counter()
                loaded = fresh.repository.get(target[size])
                samples.append((time.perf_counter() - started) * 1000)
                assert loaded.version == size
                fresh.close()
            timings[(size, snapshot)] = statistics.median(samples)
    return timings


async def raw_direct_get_times(nats_url: str, stream: str, aggregates: dict[int, UUID],
                               repeats: int) -> dict[int, float]:
    """Median milliseconds for nats-py merely to read each aggregate's events by one batched
    direct get, as the recorder does, making nothing of them: the floor under a load."""
    connection = await nats.connect(nats_url, name="bench-store-direct-get")
    try:
        timings = {}
        for size, aggregate_id in aggregates.items():
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                found = await _direct_get_all(connection, stream, f"{stream}.events.{aggregate_id}",
                                              size)
                samples.append((time.perf_counter() - started) * 1000)
                assert found == size, (found, size)
            timings[size] = statistics.median(samples)
        return timings
    finally:
        await connection.close()


async def _direct_get_all(connection: Client, stream: str, subject: str, batch: int) -> int:
    done = asyncio.get_running_loop().create_future()
    found = 0

    async def on_message(message) -> None:
        nonlocal found
        status = (message.headers or {}).get("Status")
        if status and not done.done():
            done.set_result(None)
        elif not status:
            found += 1

    inbox = connection.new_inbox()
    subscription = await connection.subscribe(inbox, cb=on_message)
    try:
        await connection.publish(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(
            {"seq": 1, "next_by_subj": subject, "batch": batch}), reply=inbox)
        await asyncio.wait_for(done, 30)
    finally:
        await subscription.unsubscribe()
    return found


def server_send_times(nats_url: str, stream: str, aggregates: dict[int, UUID],
                      repeats: int) -> dict[int, float] | None:
    """Median milliseconds for nats-server to send each aggregate's events, as one batched
    direct get, to a plain socket that makes nothing of the bytes: no client can read them
    faster. None where there is no plain connection to it (TLS, credentials files, the
    server gone or not answering)."""
    address = urlparse(nats_url)
    connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True}
    if address.username:
        connect.update(user=unquote(address.username), **{"pass": unquote(address.password or "")})
    try:
        with socket.create_connection((address.hostname, address.port or 4222),
                                      timeout=30) as link:
            return _send_times(link, connect, stream, aggregates, repeats)
    except OSError:  # no server there, or it went away, or stopped answering (30 s)
        return None


def _send_times(link: socket.socket, connect: dict, stream: str, aggregates: dict[int, UUID],
                repeats: int) -> dict[int, float] | None:
    link.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    link.sendall(b"CONNECT " + orjson.dumps(connect) + b"\r\nSUB _BENCH.sent 1\r\nPING\r\n")
    if not _received_until(link, b"PONG\r\n", b"-ERR"):
        return None
    timings = {}
    for size, aggregate_id in aggregates.items():
        request = orjson.dumps({"seq": 1, "next_by_subj": f"{stream}.events.{aggregate_id}",
                                "batch": size})
        publish = (f"PUB $JS.API.DIRECT.GET.{stream} _BENCH.sent {len(request)}\r\n"
                   .encode() + request + b"\r\n")
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            link.sendall(publish)
            # The end of a batch is a message of status 204, after the last event.
            if not _received_until(link, b"NATS/1.0 204", b"-ERR"):
                return None
            samples.append((time.perf_counter() - started) * 1000)
        timings[size] = statistics.median(samples)
    return timings


def _received_until(link: socket.socket, end: bytes, failure: bytes) -> bool:
    tail = b""
    while True:
        chunk = link.recv(1 << 20)
        if not chunk:
            return False
        tail = tail[-len(end):] + chunk  # the marker may straddle two reads
        if failure in tail:
            return False
        if end in tail:
            return True


def select_times(env: dict[str, str], aggregates: dict[int, UUID],
                 repeats: int) -> dict[int, float]:
    """Median milliseconds for a recorder merely to select each aggregate's stored events,
    from a new application as `load_times` loads them: a load without the library's
    mapping of each stored event to a domain event and its mutation of the aggregate."""
    timings = {}
    for size, aggregate_id in aggregates.items():
        samples = []
        for _ in range(repeats):
            app = Application(env=env)
            started = time.perf_counter()
            found = app.recorder.select_events(aggregate_id)
            samples.append((time.perf_counter() - started) * 1000)
            assert len(found) == size, (len(found), size)
            app.close()
        timings[size] = statistics.median(samples)
    return timings


# Running it.

@contextlib.contextmanager
def nats_server(url: str | None) -> Iterator[str]:
    with nats_server_process(url) as (nats_url, _pid):
        yield nats_url


@contextlib.contextmanager
def nats_server_process(url: str | None) -> Iterator[tuple[str, int | None]]:
    """The server at `url`, or an embedded one started for the benchmark; with the embedded
    server's process id, so a benchmark can say how much CPU the server spent."""
    if url:
        yield url, None
        return
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as data_dir:
        config = EmbeddedServerConfig(data_dir=Path(data_dir), port=free_port(),
                                      server_name="onestop-bench")
        with EmbeddedNatsServer(config) as server:
            yield server.url, server.process.pid


def postgres_env(dsn: str, name: str) -> dict[str, str] | None:
    """The library's PostgreSQL recorder's settings, or None where it cannot run here."""
    from urllib.parse import urlparse

    try:
        import psycopg
    except ImportError:  # the `postgres` extra is not installed
        return None
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception:
        return None
    parts = urlparse(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"), "POSTGRES_HOST": parts.hostname or "",
        "POSTGRES_PORT": str(parts.port or 5432), "POSTGRES_USER": parts.username or "",
        "POSTGRES_PASSWORD": parts.password or "", "POSTGRES_POOL_SIZE": "20",
        "POSTGRES_MAX_OVERFLOW": "10", "CREATE_TABLE": "y", "POSTGRES_SCHEMA": "public",
        "_name": name,
    }


def recorder_from(env: dict[str, str]) -> tuple[InfrastructureFactory, ApplicationRecorder]:
    from eventsourcing.utils import Environment

    settings = dict(env)
    name = settings.pop("_name", "")
    factory = InfrastructureFactory.construct(Environment(name, settings))
    return factory, factory.application_recorder()


def print_table(rows: list[Result], reference: Result) -> None:
    print(f"\n{'write workload':58} {'saves/s':>9} {'events/s':>10} {'vs raw':>8}")
    for row in rows:
        ratio = row.events_per_second / reference.events_per_second
        print(f"{row.name:58} {row.saves_per_second:9,.0f} {row.events_per_second:10,.0f} "
              f"{ratio:8.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="onestop bench store", description=__doc__)
    parser.add_argument("--saves", type=int, default=4000, help="1-event saves per workload")
    parser.add_argument("--threads", type=int, default=16, help="writers in flight")
    parser.add_argument("--repeats", type=int, default=7, help="loads per aggregate size")
    parser.add_argument("--postgres-dsn", default=os.environ.get("ONESTOP_BENCH_POSTGRES_DSN",
                                                                DEFAULT_POSTGRES_DSN))
    args = parser.parse_args(argv)
    url = os.environ.get("NATS_URL")
    with nats_server(url) as nats_url:
        print(f"nats-server: {nats_url}{'' if url else ' (embedded, sync_interval: always)'}; "
              f"{args.threads} writers in flight")
        reference = asyncio.run(raw_publishes(nats_url, f"BENCH_RAW_{uuid4().hex[:6]}",
                                              args.saves, args.threads))
        rows = [reference]
        tenth = max(args.saves // 10, 50)
        jetstream_env = {"PERSISTENCE_MODULE": "adapters.jetstream", "NATS_URL": nats_url,
                         "NATS_STREAM": f"BENCH_{uuid4().hex[:6]}"}
        stores: list[tuple[str, Callable[[], dict[str, str] | None]]] = [
            ("onestop JetStream recorder", lambda: jetstream_env),
            ("library SQLite recorder (file, WAL)", lambda: {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(Path(tempfile.mkdtemp()) / "bench.db")}),
            ("library PostgreSQL recorder", lambda: postgres_env(
                args.postgres_dsn, f"bench{uuid4().hex[:6]}")),
        ]
        for label, make_env in stores:
            env = make_env()
            if env is None:
                print(f"{label}: skipped (not reachable, or psycopg not installed: "
                      "pip install -e '.[postgres]')")
                continue
            factory, recorder = recorder_from(env)
            try:
                rows.append(recorder_saves(f"{label}, 1-event saves", recorder,
                                           args.saves, 1, args.threads))
                rows.append(recorder_saves(f"{label}, 10-event saves", recorder,
                                           tenth, 10, args.threads))
            finally:
                factory.close()
        print_table(rows, reference)

        sizes = (10, 100, 1000)
        print(f"\n{'load one aggregate (median ms)':40}" + "".join(f"{s:>10}" for s in sizes))
        load_stream = f"BENCHLOAD_{uuid4().hex[:6]}"
        built: dict[str, dict[int, UUID]] = {}  # by store: the aggregates loaded, by size
        envs: dict[str, dict[str, str]] = {}
        for label, env in (("onestop JetStream", {**jetstream_env, "NATS_STREAM": load_stream}),
                           ("library PostgreSQL", postgres_env(args.postgres_dsn,
                                                               f"load{uuid4().hex[:6]}"))):
            if env is None:
                continue
            env = envs[label] = {k: v for k, v in env.items() if k != "_name"}
            timings = load_times(env, sizes, args.repeats, built.setdefault(label, {}))
            for snapshot in (False, True):
                name = f"{label}, {'from a snapshot' if snapshot else 'all events'}"
                print(f"{name:40}" + "".join(f"{timings[(s, snapshot)]:10.2f}" for s in sizes))
        # What each store's load costs apart from the library's mapping, which is the same
        # for both: for JetStream, the server's sending alone sets a floor no client beats.
        references = [
            ("reference: nats-py reads them, no more", asyncio.run(raw_direct_get_times(
                nats_url, load_stream, built["onestop JetStream"], args.repeats))),
            ("reference: nats-server sends, bytes only", server_send_times(
                nats_url, load_stream, built["onestop JetStream"], args.repeats)),
        ]
        if "library PostgreSQL" in envs:
            references.append(("reference: PostgreSQL select, no more", select_times(
                envs["library PostgreSQL"], built["library PostgreSQL"], args.repeats)))
        for name, timings in references:
            print(f"{name:40}" + ("".join(f"{timings[s]:10.2f}" for s in sizes) if timings
                                  else "   skipped (no plain connection to the server)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
