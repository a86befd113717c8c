"""The overdue watch of a real `onestop up`, killed outright half-way through a round of
escalations and started again: every overdue case ends escalated exactly once. The watch keeps
no checkpoint of its own; the log is its memory (an escalation ends a due date) and each
escalation's command id names the case and the due date it missed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import nats
import orjson

from adapters.jetstream.log import StreamLog
from adapters.nats_address import connect_options
from bus.contract import subjects
from bus.contract.identity import inbox_prefix
from bus.service.security import OPERATOR
from tests.bus.cli.test_cli import (  # noqa: F401 - a fixture
    START_TIMEOUT,
    environment,
    onestop_processes,
    start_onestop,
    stop,
)
from tests.bus_support import District, district_server
from tests.domain.support import credit_code
from tests.processes import wait_until

STREAM = "ONESTOP"
OVERDUE_CASES = 300  # enough that a round takes a second or more to write
STATION = "post_laisu"


async def _load_overdue_cases(district: District, count: int) -> list[str]:
    """`count` metrology cases accepted seventy days ago, a second apart: each long past its
    ten days, and each with a due date of its own, so that every round takes them in one
    order."""
    connection = await nats.connect(**connect_options(district.url(STATION)),
                                    inbox_prefix=inbox_prefix(STATION))
    bureau = await nats.connect(**connect_options(district.url("samr")),
                                inbox_prefix=inbox_prefix("samr"))
    long_ago = datetime.now(timezone.utc) - timedelta(days=70)

    async def applied(client, principal: str, command: str, when: datetime, /,
                      **fields) -> str:
        reply = orjson.loads((await client.request(
            subjects.command(principal, command),
            orjson.dumps({"command_id": uuid4().hex, "person": "p",
                          "occurred_at": when.isoformat(), **fields}),
            timeout=10)).data)
        assert reply["ok"], reply
        return reply["id"]

    try:
        enterprise = await applied(connection, STATION, "enterprise.register", long_ago,
                                   credit_code=credit_code(), name="厂", scale="small_micro",
                                   industry="building_bricks", town="laisu")
        cases = []
        for n in range(count):
            when = long_ago + timedelta(seconds=n)
            case = await applied(connection, STATION, "case.submit", when,
                                 enterprise_id=enterprise, service_type="metrology",
                                 description="检定", channel="town_post", station=STATION)
            await applied(bureau, "samr", "case.accept", when, case_id=case)
            cases.append(case)
        return cases
    finally:
        await connection.close()
        await bureau.close()


async def _escalations(district: District) -> Counter[str]:
    """How many `case.escalated` events the log holds for each case."""
    connection = await nats.connect(**connect_options(district.url(OPERATOR)))
    log = StreamLog(connection, STREAM, request_timeout=10)
    await log.start()
    try:
        return Counter([stored.subject.rsplit(".", 1)[1]
                        async for stored in log.read(f"{STREAM}.events.>")
                        if stored.headers.get("Onestop-Topic") == "case.escalated"])
    finally:
        await log.close()
        await connection.close()


def test_a_watch_killed_half_way_through_its_round_escalates_each_case_once(
        tmp_path, onestop_processes):
    data_dir = tmp_path / "data"  # start_onestop's: the server's passwords are onestop's
    with district_server(data_dir, "overdue") as district:
        # Rounds an hour apart: each process escalates in its first round, at start-up, only.
        # (The cases are loaded as from a ledger: judged at once, with no settling.)
        env = environment(NATS_URL=district.server.url, NATS_STREAM=STREAM,
                          ONESTOP_OVERDUE_SECONDS="3600", ONESTOP_OVERDUE_SETTLING_SECONDS="0")

        def started():
            onestop = start_onestop(tmp_path, env=env)
            onestop_processes.append(onestop)
            onestop.wait_for_line("onestop is up")
            return onestop

        loading = started()  # its round came before the cases: it escalates none
        cases = asyncio.run(_load_overdue_cases(district, OVERDUE_CASES))
        assert stop(loading, "SIGTERM") == 0
        assert asyncio.run(_escalations(district)) == Counter()

        killed = started()
        wait_until(lambda: sum(asyncio.run(_escalations(district)).values()) >= 10,
                   START_TIMEOUT, "the watch has escalated some of the cases")
        killed.process.kill()  # in the middle of its round
        killed.process.wait()
        half_way = asyncio.run(_escalations(district))
        assert 0 < len(half_way) < OVERDUE_CASES, "the kill did not land inside the round"

        started()
        # A round takes the cases in due order, as the killed one did: once the last is
        # escalated, any case the killed process escalated has been passed again.
        wait_until(lambda: asyncio.run(_escalations(district))[cases[-1]] > 0,
                   START_TIMEOUT, "the restarted watch has escalated the last case")
        escalated = asyncio.run(_escalations(district))
        assert set(escalated) == set(cases)
        assert set(escalated.values()) == {1}, [case for case, n in escalated.items() if n > 1]
