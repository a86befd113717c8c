"""What the view tests share: the case story driven through the bus, waiting until every view
has reached a position, the views' documents side by side with a rebuild from the log, and
the two view stores a test class runs on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import nats
import orjson
import pytest

from adapters.views import ViewStore, open_view_store
from adapters.views.rebuild import rebuild
from bus.contract import subjects
from bus.contract.identity import inbox_prefix
from projections import ALL_PROJECTIONS
from tests.bus_support import District, LoopThread, when
from tests.bus_support import day as day_from_now
from tests.domain.support import credit_code

Send = Callable[[str, str, dict], dict]  # principal, command, body -> reply
Ask = Callable[[str, str, dict], dict]  # principal, query, body -> answer

PERIOD = {"since": when(-400), "until": when(400)}  # around every story's times
# One query per view, each waiting on that view alone.
PROBES = {
    "cases": ("case.list", {"limit": 1}),
    "worklists": ("worklist.list", {"department": "jxw", "limit": 1}),
    "enterprises": ("enterprise.by_credit_code", {"credit_code": "91500118MA5U000000"}),
    "experts": ("expert.workload", PERIOD),
    "equipment": ("equipment.utilisation", PERIOD),
    "intake": ("intake.counts", {}),
    "audit": ("audit.changes", {"limit": 1}),
    "kpis": ("kpi.summary", {}),
}


def sent(send: Send, principal: str, command: str, **fields) -> dict:
    reply = send(principal, command, {"command_id": uuid4().hex, "person": "经办人", **fields})
    assert reply["ok"], (command, reply)
    return reply


def run_story(send: Send, day: int = 9) -> list[int]:
    """The brick maker's case from order to closure, with a reopening, through the bus; and a
    case rejected and one withdrawn. Returns the position of every reply."""
    replies = []

    def do(principal: str, command: str, **fields) -> dict:
        replies.append(sent(send, principal, command, **fields))
        return replies[-1]

    # Times near now, as the service requires: the appointment `day` days ahead, the visit
    # reported as done a day ago.
    slot = {"start": when(day), "end": when(day + 4 / 24)}
    enterprise = do("portal", "enterprise.register", credit_code=credit_code(),
                    name="永川来苏页岩砖厂", scale="small_micro", industry="building_bricks",
                    town="laisu")["id"]
    expert = do("samr", "expert.register", name="李教授", affiliation="重庆文理学院",
                specialties=["building_materials"])["id"]
    instrument = do("samr", "equipment.register", name="XRF spectrometer",
                    owner_institution="永川区检验检测中心", capabilities=["xrf"],
                    calibration_valid_until=when(365))["id"]

    def order(station: str | None = None) -> str:
        return do("portal" if station is None else station, "case.submit",
                  enterprise_id=enterprise, service_type="quality_management",
                  description="Bricks turn to powder", station=station,
                  channel="online_platform" if station is None else "town_post")["id"]

    do("samr", "case.reject", case_id=order(), reason="not a quality question")
    do("portal", "case.withdraw", case_id=order(), reason="solved ourselves")
    case = order("post_laisu")
    do("samr", "case.accept", case_id=case, lead="jxw", collaborators=["samr", "zjw"])
    do("jxw", "case.schedule_appointment", case_id=case, at=slot["start"], place="factory")
    do("jxw", "case.assign_expert", case_id=case, expert_id=expert, **slot)
    booking = do("jxw", "case.book_equipment", case_id=case, equipment_id=instrument, **slot)
    do("jxw", "case.record_visit", case_id=case, visited_at=when(-1), experts=[expert],
       findings=[{"stage": "production", "finding": "underfired cores"}],
       recommendations=["raise firing temperature"])
    do("jxw", "case.plan_improvement", case_id=case, actions=["adjust the formula"],
       target_date=day_from_now(60))
    do("jxw", "case.release_equipment", case_id=case, booking_id=booking["booking_id"])
    do("jxw", "case.resolve", case_id=case, outcome="formula adjusted",
       invested_yuan="120000", saved_per_year_yuan="350000.50", expected_benefit_yuan="2000000")
    do("post_laisu", "case.rate", case_id=case, score=2, comment="still some powder")  # reopens
    do("jxw", "case.resolve", case_id=case, outcome="winter firing schedule",
       invested_yuan="150000", saved_per_year_yuan="400000", expected_benefit_yuan="2000000")
    do("post_laisu", "case.rate", case_id=case, score=5, comment="满意")
    do("jxw", "case.close", case_id=case)
    return [reply["position"] for reply in replies]


def run_stories(send: Send, count: int, threads: int = 4) -> list[int]:
    """`count` stories, several at a time, as many department systems would send them."""
    # The first alone: each principal's connection is made once, not raced by every thread.
    first = run_story(send, 1)
    with ThreadPoolExecutor(threads) as pool:
        runs = list(pool.map(lambda n: run_story(send, 1 + n % 28), range(1, count)))
    return first + [position for run in runs for position in run]


def wait_for_views(ask: Ask, position: int, views=tuple(PROBES), seconds: float = 20) -> None:
    """Until each view has applied the log up to `position`: a query that waits for it."""
    for view in views:
        name, body = PROBES[view]
        answer = ask("samr", name, {**body, "min_position": position,
                                    "wait_ms": int(seconds * 1000)})
        assert answer.get("error", {}).get("code") != "query.behind", (view, answer)


def documents(store: ViewStore) -> dict[str, list[str]]:
    """Every document of every view table, comparable across generations and stores."""
    return {table.name: sorted(json.dumps(doc, sort_keys=True, ensure_ascii=False)
                               for doc in store.find(table.name)[0])
            for projection in ALL_PROJECTIONS for table in projection.tables}


def open_views(data_dir: Path) -> ViewStore:
    """The store the service uses (VIEWS_DSN or the SQLite file), opened beside it."""
    store = open_view_store(None, data_dir)
    store.open(ALL_PROJECTIONS)
    return store


def rebuild_all(url: str, stream: str, store: ViewStore, batch_size: int = 10_000,
                on_progress=lambda _: None, worker: bool | None = None,
                inbox: str | None = None) -> dict[str, int]:
    async def run() -> dict[str, int]:
        connection = await nats.connect(url, **({"inbox_prefix": inbox} if inbox else {}))
        try:
            return await rebuild(connection, stream, store, ALL_PROJECTIONS,
                                 on_progress=on_progress, batch_size=batch_size,
                                 worker=worker)
        finally:
            await connection.close()

    return asyncio.run(run())


class Principals:
    """Department systems talking to a service that runs elsewhere (another process)."""

    def __init__(self, district: District, timeout: float = 30) -> None:
        self.district, self.timeout = district, timeout
        self.runner = LoopThread()
        self.clients: dict[str, nats.aio.client.Client] = {}

    def _client(self, principal: str):
        if principal not in self.clients:
            self.clients[principal] = self.runner.run(nats.connect(
                self.district.url(principal), inbox_prefix=inbox_prefix(principal)))
        return self.clients[principal]

    def _ask(self, subject: str, principal: str, body: dict) -> dict:
        reply = self.runner.run(self._client(principal).request(
            subject, orjson.dumps(body), timeout=self.timeout))
        return orjson.loads(reply.data)

    def request(self, principal: str, name: str, body: dict) -> dict:
        return self._ask(subjects.command(principal, name), principal, body)

    def query(self, principal: str, name: str, body: dict) -> dict:
        return self._ask(subjects.query(principal, name), principal, body)

    def close(self) -> None:
        for client in self.clients.values():
            self.runner.run(client.close())
        self.runner.close()


class OnSqlite:
    """Views in the SQLite file of the service's data directory (the default)."""

    @pytest.fixture
    def views_dsn(self, monkeypatch):
        monkeypatch.delenv("VIEWS_DSN", raising=False)
        return None


class OnPostgres:
    """Views in PostgreSQL (VIEWS_DSN), in a schema of the test's own."""

    @pytest.fixture
    def views_dsn(self, monkeypatch, postgres_dsn, unique_name):
        import psycopg

        schema = unique_name("views").lower()
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"create schema {schema}")
        separator = "&" if "?" in postgres_dsn else "?"
        dsn = f"{postgres_dsn}{separator}options=-csearch_path%3D{schema}"
        monkeypatch.setenv("VIEWS_DSN", dsn)
        yield dsn
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"drop schema if exists {schema} cascade")
