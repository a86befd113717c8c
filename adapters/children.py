"""Child processes that die with their parent: the embedded nats-server, the followers'
process, the rebuild workers. If onestop is killed outright (kill -9, the OOM killer), the
kernel ends each of them too, rather than leaving an orphan that holds a port, a data
directory's lock or a half-written view.

Linux only (`PR_SET_PDEATHSIG`); elsewhere a child may outlive a parent killed outright. The
signal is sent when the *thread* that started the child ends, not the whole process: start
children from a thread that lives as long as they should (measured: a nats-server started
from a thread pool's worker was sent it about five seconds later).
"""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(signal_number: int = signal.SIGKILL) -> None:
    """Asks the kernel to send this process `signal_number` when its parent ends: called in
    the child (first thing in a worker, or as a `preexec_fn`)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal_number)
    except (OSError, AttributeError):
        pass


def stop_with_parent() -> None:
    """`die_with_parent` with SIGTERM, for a child that stops in order (nats-server flushes
    its stores on SIGTERM); a `preexec_fn` takes no arguments."""
    die_with_parent(signal.SIGTERM)
