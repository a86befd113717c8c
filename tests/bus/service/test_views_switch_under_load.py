"""A rebuild switches over while commands flow and clients read: no answer ever goes back in
the log, and no client ever misses its own write."""

from __future__ import annotations

import threading

import pytest

from bus.service.security import OPERATOR
from tests.bus_support import Service
from tests.domain.support import credit_code
from tests.processes import wait_until
from tests.views_support import (
    OnPostgres,
    OnSqlite,
    open_views,
    rebuild_all,
    run_stories,
    sent,
    wait_for_views,
)

AFTER_THE_SWITCH = 15  # cases still submitted once every view has switched


class Load:
    """A portal submitting cases and reading each back at its reply's position, and a bureau
    client reading case lists and intake counts all the time; every mistake is kept."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.enterprise = sent(service.request, "portal", "enterprise.register",
                               credit_code=credit_code(), name="双石陶瓷", scale="small_micro",
                               industry="ceramics", town="shuangshi")["id"]
        self.before = service.query("samr", "case.list", {"limit": 1})["result"]["total"]
        self.submitted: list[int] = []  # the position of every submission answered so far
        self.last_position: dict[str, int] = {}
        self.mistakes: list[str] = []
        self.answers = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._guard, args=(work,), daemon=True)
                        for work in (self._write_and_read_back, self._read)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _guard(self, work) -> None:
        try:
            while not self.stopping.is_set():
                work()
        except Exception as error:  # a timeout or a crash is a mistake too
            self.mistakes.append(f"{type(error).__name__}: {error}")

    def _write_and_read_back(self) -> None:
        reply = sent(self.service.request, "portal", "case.submit",
                     enterprise_id=self.enterprise, service_type="quality_management",
                     description="glaze cracks", channel="online_platform")
        answer = self.service.query("samr", "case.get", {
            "case_id": reply["id"], "min_position": reply["position"], "wait_ms": 10_000})
        if not answer["ok"] or answer["result"]["case"]["case_id"] != reply["id"]:
            self.mistakes.append(f"missed its own write at {reply['position']}: {answer}")
        self.submitted.append(reply["position"])

    def _read(self) -> None:
        # Both count every case: the portal's, and the stories' before the load began.
        for name, body in (("case.list", {"limit": 1}), ("intake.counts", {"group_by": []})):
            known = list(self.submitted)  # answered before the query was sent
            answer = self.service.query("samr", name, body)
            self.answers += 1
            if not answer["ok"]:
                self.mistakes.append(f"{name}: {answer}")
                continue
            position, total = answer["position"], answer["result"]["total"]
            if position < self.last_position.get(name, 0):
                self.mistakes.append(f"{name} went back from {self.last_position[name]} "
                                     f"to {position}")
            self.last_position[name] = position
            # Every case submitted at or before the answer's position is in it.
            owed = self.before + sum(1 for at in known if at <= position)
            if total < owed:
                self.mistakes.append(f"{name} at {position} counts {total}, not {owed}")


class RebuildUnderLoad:
    @pytest.fixture
    def service(self, district, unique_name, views_dsn):
        running = Service(district, unique_name())
        yield running
        running.close()

    def test_a_rebuild_switches_over_with_no_wrong_answer_in_between(self, service):
        # A log with some history, so the rebuild has something to chase.
        wait_for_views(service.query, max(run_stories(service.request, 4)))
        with Load(service) as load, open_views(service.bus.services.data_dir) as store:
            wait_until(lambda: len(load.submitted) >= 5 and load.answers >= 5, 30,
                       "the load is flowing")
            # Small batches: the rebuild takes many steps while the log keeps growing.
            generations = rebuild_all(service.district.url(OPERATOR), service.stream, store,
                                      batch_size=25)
            switched_at = len(load.submitted)
            wait_until(lambda: len(load.submitted) >= switched_at + AFTER_THE_SWITCH
                       or load.mistakes, 60, "cases are submitted after the switch")
            statuses = {status.name: status for status in store.status()}

        assert load.mistakes == []
        assert all(statuses[name].generation == generation and statuses[name].active
                   for name, generation in generations.items())
        assert generations["cases"] == 2 and load.answers > 10


class TestOnSqlite(OnSqlite, RebuildUnderLoad):
    pass


class TestOnPostgres(OnPostgres, RebuildUnderLoad):
    pass


del RebuildUnderLoad
