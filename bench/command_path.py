"""`onestop bench bus`: commands end to end over NATS request/reply, beside raw JetStream
publishes with the same number in flight, measured in one run against one server.

The service is `onestop up` itself, in processes of its own (`--services`, one by default)
pointed at the benchmark's server with NATS_URL, exactly as it is deployed; the clients send
from this process. Service, clients and nats-server share this machine's CPUs, as a service
and its department systems on one machine would. Every reply is checked. The CPU columns
say where the time goes: milliseconds of CPU per operation in this (client) process,
summed over the service processes and their child processes (the followers), and in the
embedded nats-server.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import uuid4

import nats
import orjson
from nats.aio.client import Client

from adapters.arguments import OneLineParser
from adapters.jetstream import cloudevents as ce
from bench.event_store import nats_server_process, stored_events
from bus.contract import subjects
from bus.contract.identity import inbox_prefix
from domain.credit_code import ALPHABET, check_character

PRINCIPAL = "portal"
RAW = "raw nats-py js.publish"  # the reference's name
CONNECTIONS = 4  # client connections the clients share, as a few department systems would


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float]  # seconds, one per successful operation
    failures: list[str] = field(default_factory=list)
    # CPU seconds of this process (the clients) and of the service processes during the
    # workload: tells a CPU-bound Python side from waiting on the server.
    cpu_seconds: float = 0.0
    service_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0  # the embedded nats-server's
    views_behind_ms: float | None = None  # after the last reply, until the views had it all
    # The share of the machine's CPU time nobody used (idle or waiting for the disk): what a
    # second service on this machine could have had. None where /proc/stat is not there.
    machine_idle: float | None = None

    @property
    def operations(self) -> int:
        return max(len(self.latencies) + len(self.failures), 1)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_ms_per_op(self) -> float:
        return self.cpu_seconds * 1000 / self.operations

    @property
    def service_cpu_ms_per_op(self) -> float:
        return self.service_cpu_seconds * 1000 / self.operations

    @property
    def server_cpu_ms_per_op(self) -> float:
        return self.server_cpu_seconds * 1000 / self.operations

    def percentile_ms(self, p: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


def cpu_seconds_of(pids: list[int]) -> float:
    """User and system CPU of these processes so far, their threads and child processes (the
    service's followers) included."""
    ticks = 0
    for pid in _with_children(pids):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_times() -> tuple[int, int] | None:
    """(idle, all) ticks of every CPU of the machine so far; idle counts waiting for I/O."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(tick) for tick in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return ticks[3] + ticks[4], sum(ticks[:8])  # idle, iowait; guest time is in user


def idle_share(started: tuple[int, int] | None, ended: tuple[int, int] | None) -> float | None:
    if started is None or ended is None or ended[1] == started[1]:
        return None
    return (ended[0] - started[0]) / (ended[1] - started[1])


def _with_children(pids: list[int]) -> list[int]:
    found, pending = [], list(pids)
    while pending:
        pid = pending.pop()
        found.append(pid)
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                pending += [int(child) for child in children.read().split()]
        except FileNotFoundError:
            pass
    return found


async def measure(name: str, total: int, clients: int,
                  operation: Callable[[int], Awaitable[str | None]],
                  service_pids: list[int] = (), server_pid: int | None = None) -> Result:
    """`clients` tasks share `total` operations; an operation returns None or what failed."""
    work = iter(range(total))
    latencies: list[float] = []
    failures: list[str] = []

    async def client() -> None:
        for number in work:
            started = time.perf_counter()
            try:
                failure = await operation(number)
            except Exception as error:  # a timeout is a failure to count, not a crash
                failure = f"{type(error).__name__}: {error}"
            if failure is None:
                latencies.append(time.perf_counter() - started)
            else:
                failures.append(failure)

    server = [server_pid] if server_pid else []
    started, cpu_started = time.perf_counter(), time.process_time()
    service_started, server_started = cpu_seconds_of(service_pids), cpu_seconds_of(server)
    machine_started = machine_cpu_times()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Result(name, time.perf_counter() - started, latencies, failures,
                  time.process_time() - cpu_started,
                  cpu_seconds_of(service_pids) - service_started,
                  cpu_seconds_of(server) - server_started,
                  machine_idle=idle_share(machine_started, machine_cpu_times()))


# The reference: raw nats-py, a message of an event's size with the log's CloudEvents headers.

async def raw_publishes(connection: Client, total: int, clients: int,
                        server_pid: int | None = None) -> Result:
    js = connection.jetstream()
    stream = f"BENCH_RAW_{uuid4().hex[:6]}"
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    source = f"/onestop/{stream}"

    async def publish(_number: int) -> None:
        [event] = stored_events(1)
        message_id = ce.event_id(event)
        headers = ce.event_headers(event, source=source, message_id=message_id)
        headers[ce.EXPECTED_LAST_SUBJECT_SEQUENCE] = "0"  # a new aggregate, as a registration
        await js.publish(f"{stream}.events.{event.originator_id}", event.state, headers=headers)

    await measure("warm-up", 100, clients, publish)
    return await measure(f"{RAW} ({clients} in flight)", total, clients, publish,
                         server_pid=server_pid)


# The end-to-end workloads: a new enterprise each, then a case for one of them each.

def fresh_credit_code(rng: random.Random) -> str:
    body = "91500118" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def registration(rng: random.Random) -> dict:
    return {"command_id": uuid4().hex, "person": "厂长", "credit_code": fresh_credit_code(rng),
            "name": "永川页岩砖厂", "scale": "small_micro", "industry": "building_bricks",
            "town": "laisu"}


def submission(enterprise_id: str) -> dict:
    return {"command_id": uuid4().hex, "person": "厂长", "enterprise_id": enterprise_id,
            "service_type": "quality_management", "description": "页岩砖强度不足，需要质量诊断",
            "channel": "online_platform"}


class Commands:
    """Sends commands by request/reply over a few connections, round robin."""

    def __init__(self, connections: list[Client], timeout: float = 30.0) -> None:
        self._connections = itertools.cycle(connections)
        self.timeout = timeout

    async def send(self, name: str, body: dict) -> dict:
        reply = await next(self._connections).request(
            subjects.command(PRINCIPAL, name), orjson.dumps(body), timeout=self.timeout)
        return orjson.loads(reply.data)

    async def query(self, name: str, body: dict | None = None) -> dict:
        reply = await next(self._connections).request(
            subjects.query(PRINCIPAL, name), orjson.dumps(body or {}), timeout=self.timeout)
        return orjson.loads(reply.data)


async def command_workload(commands: Commands, name: str, total: int, clients: int,
                           make: Callable[[int], dict], ids: list[str] | None = None,
                           service_pids: list[int] = (), server_pid: int | None = None
                           ) -> Result:
    last = 0  # the highest log position a reply gave

    async def send(number: int) -> str | None:
        nonlocal last
        reply = await commands.send(name, make(number))
        if not reply.get("ok"):
            return orjson.dumps(reply.get("error")).decode()
        if ids is not None:
            ids.append(reply["id"])
        last = max(last, reply["position"] or 0)
        return None

    result = await measure(f"{name} end to end ({clients} clients)", total, clients, send,
                           service_pids, server_pid)
    result.views_behind_ms = await views_behind(commands, last)
    return result


async def views_behind(commands: Commands, position: int) -> float:
    """How long after the last reply every view had applied the log up to `position`: the
    followers kept up with the commands, or that much is still to do."""
    started = time.perf_counter()
    while True:
        reply = await commands.query("views.status")
        views = reply["result"]["views"] if reply.get("ok") else []
        if views and all(view["position"] >= position for view in views if view["active"]):
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.005)


async def run_all(nats_url: str, total: int, clients: int,
                  service_pids: list[int] = (), server_pid: int | None = None) -> list[Result]:
    """Each workload right after raw publishes of its own: the disk's fsyncs take more or less
    time from one minute to the next (raw rates a quarter apart in one session), and a
    reference measured beside the workload it is compared with carries that along."""
    connections = [await nats.connect(nats_url, name=f"bench-client-{n}",
                                      inbox_prefix=inbox_prefix(PRINCIPAL))
                   for n in range(CONNECTIONS)]
    try:
        commands = Commands(connections)
        rng = random.Random()
        await command_workload(commands, "enterprise.register", 100, clients,
                               lambda _: registration(rng))  # warm-up
        results = [await raw_publishes(connections[0], total, clients, server_pid)]
        enterprises: list[str] = []
        results.append(await command_workload(
            commands, "enterprise.register", total, clients, lambda _: registration(rng),
            enterprises, service_pids, server_pid))
        if enterprises:
            results.append(await raw_publishes(connections[0], total, clients, server_pid))
            results.append(await command_workload(
                commands, "case.submit", total, clients,
                lambda number: submission(enterprises[number % len(enterprises)]), None,
                service_pids, server_pid))
        return results
    finally:
        for connection in connections:
            await connection.close()


class ServiceProcesses:
    """`onestop up` in `count` processes on the benchmark's server, stopped with SIGTERM; each
    with a data directory of its own under `scratch`, as each would have on its machine."""

    def __init__(self, nats_url: str, stream: str, count: int, scratch: str) -> None:
        self.env = {**os.environ, "NATS_URL": nats_url, "NATS_STREAM": stream,
                    "ONESTOP_SCREEN_PORT": "0"}
        self.count = count
        self.scratch = scratch
        self.log_path = os.path.join(scratch, "service.log")
        self.processes: list[subprocess.Popen] = []

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def __enter__(self) -> ServiceProcesses:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the processes keep writing to it
        try:
            for number in range(1, self.count + 1):
                data_dir = os.path.join(self.scratch, f"service-{number}")
                if number > 1:  # the keys that seal and sign are the log's: all share them
                    shutil.copytree(os.path.join(self.scratch, "service-1", "audit"),
                                    os.path.join(data_dir, "audit"))
                process = subprocess.Popen(
                    [sys.executable, "-m", "bus.cli", "up"],
                    env={**self.env, "ONESTOP_DATA_DIR": data_dir},
                    stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
                self.processes.append(process)
                for line in process.stdout:
                    if b"onestop is up" in line:
                        break
                else:
                    raise RuntimeError(f"the service did not start; see {self.log_path}")
        except BaseException:
            self.__exit__()
            raise
        finally:
            log.close()
        return self

    def __exit__(self, *_exc: object) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def print_table(results: list[Result]) -> None:
    """Each workload beside the raw publishes measured just before it (`vs raw`)."""
    print(f"\n{'workload':52} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs raw':>7} "
          f"{'failed':>7} {'CPU ms/op: clients':>19} {'service':>8} {'server':>8} "
          f"{'idle':>5} {'views +ms':>10}")
    reference = results[0]
    for row in results:
        if row.name.startswith(RAW):
            reference = row
        service = f"{row.service_cpu_ms_per_op:8.2f}" if row.service_cpu_seconds else f"{'':8}"
        server = f"{row.server_cpu_ms_per_op:8.2f}" if row.server_cpu_seconds else f"{'':8}"
        behind = f"{row.views_behind_ms:10.0f}" if row.views_behind_ms is not None else ""
        idle = f"{row.machine_idle:5.0%}" if row.machine_idle is not None else f"{'-':>5}"
        print(f"{row.name:52} {row.rate:8,.0f} {row.percentile_ms(50):8.2f} "
              f"{row.percentile_ms(99):8.2f} {row.rate / reference.rate:7.0%} "
              f"{len(row.failures):7} {row.cpu_ms_per_op:19.2f} {service} {server} {idle} "
              f"{behind}")
    print("idle: the machine's CPU time nobody used during the workload, waiting for the disk "
          "included (what a second service here could have)")
    print("views +ms: after the last reply, until every view had applied all the commands "
          "wrote (the followers kept up, or had that much left)")
    for row in results:
        for failure in sorted(set(row.failures))[:10]:
            print(f"  {row.name}: {row.failures.count(failure)} x {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="onestop bench bus", description=__doc__)
    parser.add_argument("--commands", type=int, default=3000, help="commands per workload")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--services", type=int, default=1,
                        help="service processes in the command queue group")
    args = parser.parse_args(argv)
    url = os.environ.get("NATS_URL")
    stream = f"BENCH_BUS_{uuid4().hex[:6].upper()}"
    with tempfile.TemporaryDirectory(prefix="onestop-bench-bus-") as scratch, \
            nats_server_process(url) as (nats_url, server_pid), \
            ServiceProcesses(nats_url, stream, args.services, scratch) as services:
        print(f"nats-server: {nats_url}{'' if url else ' (embedded, sync_interval: always)'}; "
              f"{args.clients} clients on {CONNECTIONS} connections; {args.services} service "
              f"process(es) (`onestop up`); {os.cpu_count()} CPUs")
        results = asyncio.run(run_all(nats_url, args.commands, args.clients, services.pids,
                                      server_pid))
    print_table(results)
    print(f"\nreproduce: {'NATS_URL=' + url + ' ' if url else ''}onestop bench bus "
          f"--commands {args.commands} --clients {args.clients} --services {args.services}")
    return 1 if any(row.failures for row in results) else 0


if __name__ == "__main__":
    sys.exit(main())
