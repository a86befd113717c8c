"""Child processes, one way: the embedded nats-server, the followers' process and the
rebuild workers are each started here, die with their parent, and are stopped here.

- `start_program`: a program of its own (nats-server), which stops in order on SIGTERM.
- `start_worker`: a Python module run as `python -m <module> <fd>` in a new interpreter,
  talked to over a socket pair (`multiprocessing.connection`), the worker's end of which is
  the file descriptor `fd` (`worker_connection` in the worker). A new interpreter rather than
  `multiprocessing.Process`: a spawned child imports its parent's main module again (the
  whole command line, half a second each, for `onestop`), and a forked one inherits the
  parent's threads' locks.

If onestop is killed outright (kill -9, the OOM killer), the kernel ends each child too,
rather than leaving an orphan that holds a port, a data directory's lock or a half-written
view: the child asks for it before it runs a line of its own (`PR_SET_PDEATHSIG`, kept
across exec). Linux only; elsewhere a child may outlive a parent killed outright. The signal
is sent when the *thread* that started the child ends, not the whole process: start children
from a thread that lives as long as they should (measured: a nats-server started from a
thread pool's worker was sent it about five seconds later).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import IO

PR_SET_PDEATHSIG = 1


def die_with_parent(signal_number: int = signal.SIGKILL) -> None:
    """Asks the kernel to send this process `signal_number` when its parent ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal_number)
    except (OSError, AttributeError):
        pass


def _stop_with_parent() -> None:
    die_with_parent(signal.SIGTERM)  # a program that stops in order: nats-server flushes


class Child:
    """A child process of ours: whether it runs, and stopping it."""

    def __init__(self, name: str, process: subprocess.Popen) -> None:
        self.name = name
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit code once it ended, or None if it still runs after `timeout`."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float) -> None:
        """SIGTERM, so that it stops in order; SIGKILL if it has not within `grace` seconds."""
        if not self.running:
            return
        self.process.send_signal(signal.SIGTERM)
        if self.wait(grace) is None:
            self.kill()

    def kill(self) -> None:
        """At once, as a crash would."""
        if self.running:
            self.process.kill()
        self.process.wait()


def start_program(name: str, arguments: Sequence[str], *, output: IO[bytes] | None = None,
                  pass_fds: Sequence[int] = ()) -> Child:
    """A program that stops in order on SIGTERM, and is sent it when onestop ends. It runs in
    a process group of its own: Ctrl-C in a terminal reaches onestop alone, which stops it
    after draining its own connections."""
    return Child(name, subprocess.Popen(
        list(arguments), stdout=output, stderr=subprocess.STDOUT if output else None,
        stdin=subprocess.DEVNULL, pass_fds=tuple(pass_fds), preexec_fn=_stop_with_parent,
        process_group=0))


def start_worker(name: str, module: str) -> tuple[Child, Connection]:
    """`python -m <module> <fd>`, killed when onestop ends, and our end of its socket pair."""
    ours, theirs = multiprocessing.Pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=_worker_env(),
            preexec_fn=die_with_parent)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return Child(name, process), ours


def worker_connection(arguments: Sequence[str] = ()) -> Connection:
    """In a worker: its end of the socket pair, from its command line's last argument."""
    return Connection(int((arguments or sys.argv)[-1]))


def _worker_env() -> dict[str, str]:
    """This process's environment, with its import path: a worker imports what it does
    (the projections, a test's own) from where this process did."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
