"""`onestop audit-export` as an auditor's operator runs it: a real process against the log."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from uuid import uuid4

import orjson
import pytest

from bus.service.security import OPERATOR
from projections.audit import COMMON
from tests.audit_support import log_is_checkpointed, sent_is_recorded
from tests.bus_support import Service
from tests.processes import wait_until
from tests.views_support import run_stories, wait_for_views

STORIES = 12  # a long history: every command of the case story, a dozen times over


@pytest.fixture(scope="module")
def history(district):
    """A service with a long history, a refusal and a read; shared: the export only reads."""
    running = Service(district, f"EXPORT_{uuid4().hex[:12]}")
    try:
        positions = run_stories(running.request, STORIES)
        refused = running.request("kjj", "case.close", {"command_id": uuid4().hex,
                                                        "person": "赵干事",
                                                        "case_id": str(uuid4())})
        assert not refused["ok"]
        wait_for_views(running.query, max(positions), views=("cases", "audit"))
        closed = [headers["ce-subject"] for _, headers, _ in events_in_the_log(running)
                  if headers["Onestop-Topic"] == "case.closed"]
        assert running.query("samr", "case.get", {"case_id": closed[0]})["ok"]
        running.read_case = closed[0]
        # Two exports of it compared must not differ by what was recorded in between.
        wait_until(lambda: sent_is_recorded(running), 30, "what the feeds sent is recorded")
        wait_until(lambda: log_is_checkpointed(running), 30, "the log's head is checkpointed")
        yield running
    finally:
        running.close()


def export(service: Service, *arguments: str,
           command: tuple[str, ...] = ("audit-export",)) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ONESTOP_") and name != "VIEWS_DSN"}
    env |= {"NATS_URL": service.district.url(OPERATOR), "NATS_STREAM": service.stream}
    return subprocess.run([sys.executable, "-m", "bus.cli", *command, *arguments],
                          env=env, capture_output=True, text=True, timeout=120)


def entries_of(jsonl: str) -> list[dict]:
    """The entries of an export, without the checkpoints that end it (its proof, which CSV
    does not carry; tests/bus/cli/test_audit_cli.py checks it)."""
    lines = [json.loads(line) for line in jsonl.splitlines()]
    kinds = [line["kind"] for line in lines]
    proof = kinds.index("checkpoint") if "checkpoint" in kinds else len(lines)
    assert set(kinds[proof:]) <= {"checkpoint"}  # all at the end
    return lines[:proof]


def events_in_the_log(service: Service) -> list[tuple[int, dict, dict]]:
    """(position, headers, body) of every event, read straight from the stream."""
    async def read():
        js = service.client.jetstream()
        info = await js.stream_info(service.stream)
        messages = [await js.get_msg(service.stream, seq, direct=True)
                    for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        return [(m.seq, m.headers, orjson.loads(m.data)) for m in messages
                if m.subject.startswith(f"{service.stream}.events.")]

    return service.runner.run(read())


def test_an_export_of_a_long_history_matches_the_log(history):
    result = export(history, "--since", "2000-01-01T00:00:00+08:00")

    assert result.returncode == 0, result.stderr
    entries = entries_of(result.stdout)
    changes = [e for e in entries if e["kind"] == "change"]
    log = events_in_the_log(history)
    assert len(log) > 250 and len(changes) == len(log)
    for change, (position, headers, body) in zip(changes, log, strict=True):
        assert change["position"] == position
        assert change["topic"] == headers["Onestop-Topic"]
        assert change["aggregate_id"] == headers["ce-subject"]
        assert (change["principal"], change["person"]) == (body["actor"]["principal"],
                                                           body["actor"]["person"])
        assert (change["at"], change["command_id"]) == (body["timestamp"], body["command_id"])
        assert {field: values["after"] for field, values in change["changes"].items()} == {
            field: value for field, value in body.items()
            if field not in COMMON | {"class_version"} and value is not None}
    # Refusals and reads are in it too, with who.
    [refusal] = [e for e in entries if e["kind"] == "refused"]
    assert (refusal["principal"], refusal["person"], refusal["command"]) == (
        "kjj", "赵干事", "case.close")
    assert any(e["kind"] == "read" and e["principal"] == "samr" for e in entries)
    # Not a terminal: plain progress lines, then the summary.
    lines = result.stderr.strip().splitlines()
    assert "%" in lines[0] and "events/s" in lines[0]
    everything = len(result.stdout.splitlines())  # the entries and the checkpoints
    assert lines[-1].startswith(f"exported {everything:,} entries ({len(log):,} changes, 1 "
                                f"refusals, ") and "Traceback" not in result.stderr


def test_a_department_export_agrees_with_the_audit_view(history):
    result = export(history, "--department", "zjw")

    assert result.returncode == 0, result.stderr
    entries = entries_of(result.stdout)
    # zjw was never refused and read nothing; what its feed was sent may be recorded already.
    assert {entry["kind"] for entry in entries} <= {"change", "sent"}
    changes = [entry for entry in entries if entry["kind"] == "change"]
    view = history.query("auditor", "audit.changes", {"department": "zjw", "limit": 500})
    assert [c["position"] for c in changes] == [c["position"] for c in view["result"]["items"]]
    for exported, viewed in zip(changes, view["result"]["items"], strict=True):
        assert exported["changes"] == viewed["changes"]
        assert "zjw" in exported["departments"]


def test_a_case_exports_as_csv_with_the_same_rows_as_json_lines(history, tmp_path):
    case_id = history.read_case
    jsonl = export(history, "--case", case_id)
    result = export(history, "--case", case_id, "--output", str(tmp_path / "case.csv"))

    assert result.returncode == jsonl.returncode == 0, result.stderr
    entries = entries_of(jsonl.stdout)
    with open(tmp_path / "case.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(entries)
    # What the departments' feeds were sent of it may be recorded already.
    assert {"change", "read"} <= {e["kind"] for e in entries} <= {"change", "read", "sent"}
    for row, entry in zip(rows, entries, strict=True):
        assert row["kind"] == entry["kind"] and row["principal"] == entry["principal"]
        if entry["kind"] == "sent":
            assert json.loads(row["messages"]) == entry["messages"]
        if entry["kind"] == "change":
            assert int(row["position"]) == entry["position"]
            assert row["aggregate_id"] == case_id
            assert json.loads(row["changes"]) == entry["changes"]
            assert row["departments"].split() == entry["departments"]


def test_an_export_needs_a_scope_and_says_so_in_one_line(history):
    result = export(history)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "onestop: say what to export: --department, --case, or --since/--until")


def test_onestop_audit_export_is_the_same_command(history, tmp_path):
    spelled_apart = tmp_path / "apart.jsonl"
    as_one_word = tmp_path / "one.jsonl"
    first = export(history, "--department", "jxw", "--output", str(spelled_apart),
                   command=("audit", "export"))
    second = export(history, "--department", "jxw", "--output", str(as_one_word))

    assert first.returncode == second.returncode == 0, first.stderr
    assert spelled_apart.read_text() == as_one_word.read_text() != ""
