"""A child started with `die_with_parent` ends when its parent is killed outright."""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

from tests.processes import process_is_gone, wait_until

PARENT = """
import subprocess, sys, time
from adapters.children import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(600)
"""


def test_a_child_ends_with_a_parent_killed_outright():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        child = int(parent.stdout.readline())
        assert not process_is_gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        wait_until(lambda: process_is_gone(child), 10, "the child has ended with its parent")
    finally:
        parent.kill()
        parent.wait()
