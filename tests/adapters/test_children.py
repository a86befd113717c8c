"""Child processes (adapters/children.py): a worker talks over its socket pair, a program is
stopped in order or, if it will not, killed, and both end when their parent is killed
outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from adapters.children import start_program, start_worker
from tests.processes import process_is_gone, wait_until

REPOSITORY = Path(__file__).resolve().parents[2]
PARENT = """
import sys, time
from adapters.children import start_program, start_worker
worker, _ = start_worker("worker", "tests.adapters.echo_worker")
program = start_program("program", [sys.executable, "-c", "import time; time.sleep(600)"])
print(worker.pid, program.pid, flush=True)
time.sleep(600)
"""
STUBBORN = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(600)")


def test_a_worker_answers_over_its_socket_pair_and_stops_when_told():
    worker, connection = start_worker("echo", "tests.adapters.echo_worker")
    try:
        connection.send({"batch": [1, 2]})
        assert connection.recv() == ("echo", {"batch": [1, 2]})
        connection.send("")
        assert worker.wait(10) == 0 and not worker.running
    finally:
        worker.kill()
        connection.close()


def test_a_program_that_ignores_sigterm_is_killed_after_its_grace():
    reading, writing = _pipe()
    program = start_program("stubborn", [sys.executable, "-c", STUBBORN], output=writing)
    writing.close()
    try:
        assert reading.readline() == b"ready\n"
        program.stop(grace=0.5)
        assert program.exit_code == -signal.SIGKILL
    finally:
        program.kill()
        reading.close()


def test_a_program_stops_in_order_on_sigterm():
    program = start_program("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
    program.stop(grace=10)

    assert program.exit_code == -signal.SIGTERM


def test_children_end_with_a_parent_killed_outright():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                              text=True, cwd=REPOSITORY)
    try:
        children = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(children) == 2 and not any(map(process_is_gone, children))
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        wait_until(lambda: all(map(process_is_gone, children)), 10,
                   "the worker and the program have ended with their parent")
    finally:
        parent.kill()
        parent.wait()


def _pipe():
    read_end, write_end = os.pipe()
    return os.fdopen(read_end, "rb"), os.fdopen(write_end, "wb")
