"""Waiting on conditions with a deadline, and finding nats-server processes by their config file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting until {what}")
        time.sleep(0.02)


def running_with_argument(argument: str) -> list[int]:
    """Pids of live processes with this exact command-line argument (zombies have none)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended while we looked
            continue
        if argument.encode() in arguments:
            pids.append(int(entry.name))
    return pids


def process_is_gone(pid: int) -> bool:
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except FileNotFoundError:
        return True
    return "(zombie)" in status
