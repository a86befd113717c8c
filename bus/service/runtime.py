"""What a data directory says about the service that runs on it.

`onestop up` holds a lock on its data directory for as long as it and its embedded nats-server
live, so a second `up` on the same directory (the same JetStream store: the log of record) is
refused instead of starting a second server on it. Beside the lock it writes `runtime.json`
(where its NATS server listens, its PID and version), so that every operator command needs
only `--data-dir` to find it, whatever port `up` was given.

The lock is an flock(2) on `onestop.lock`: the kernel releases it when the last process holding
the open file ends, kill -9 included, so a crash never leaves a directory locked for good. The
embedded server inherits the descriptor, so the lock lasts until the server has stopped too.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from adapters.nats_address import NatsAddress

LOCK_FILE = "onestop.lock"
RUNTIME_FILE = "runtime.json"


class DataDirError(Exception):
    """The data directory cannot be used; the message, one line, says why and what to do."""


class DataDirInUse(DataDirError):
    """Another `onestop up` holds the data directory."""


@dataclass(frozen=True)
class Runtime:
    """What `up` tells the operator commands about itself. No secret: the URL carries no
    password (they take theirs from the data directory's credentials)."""

    url: str
    pid: int
    version: str
    event_stream: str
    embedded: bool
    started: str


class DataDirLock:
    """The lock `up` holds on its data directory; see the module's docstring."""

    def __init__(self, data_dir: Path, descriptor: int) -> None:
        self.data_dir = data_dir
        self.descriptor = descriptor

    @classmethod
    def take(cls, data_dir: Path) -> DataDirLock:
        """The lock, or DataDirInUse naming the PID that holds it. Creates the data directory
        (this is where `up` first touches it), or says in one line why it cannot."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise DataDirError(
                f"cannot use the data directory {data_dir} ({error.strerror}); choose another "
                "with --data-dir or ONESTOP_DATA_DIR, or fix its permissions") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _pid_in(descriptor)
            os.close(descriptor)
            raise DataDirInUse(
                f"the data directory {data_dir} is in use by another onestop up "
                f"(PID {holder or 'unknown'}); stop it first, or give this one another "
                "--data-dir") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        return cls(data_dir, descriptor)

    def publish(self, runtime: Runtime) -> None:
        """Writes runtime.json; renamed into place, so a reader never sees half of it."""
        path = self.data_dir / RUNTIME_FILE
        partial = path.with_name(f".{RUNTIME_FILE}.partial")
        partial.write_text(json.dumps(asdict(runtime), indent=2) + "\n")
        os.replace(partial, path)

    def release(self) -> None:
        """At a clean stop: runtime.json goes first, so no reader finds it without the lock."""
        (self.data_dir / RUNTIME_FILE).unlink(missing_ok=True)
        os.close(self.descriptor)


def runtime_of(data_dir: Path, *, url: str, version: str, event_stream: str,
               embedded: bool) -> Runtime:
    return Runtime(url=without_userinfo(url), pid=os.getpid(), version=version,
                   event_stream=event_stream, embedded=embedded,
                   started=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def read_runtime(data_dir: Path) -> Runtime | None:
    """What the last `up` on this directory wrote; None if it never ran here or stopped
    cleanly. (After kill -9 it stays: `holder` tells whether it is still true.)"""
    try:
        fields = json.loads((data_dir / RUNTIME_FILE).read_text())
        return Runtime(**fields)
    except (OSError, ValueError, TypeError):
        return None


def holder(data_dir: Path) -> int | None:
    """The PID of the `up` that holds the data directory, or None if none does."""
    try:
        descriptor = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(descriptor) or -1
    finally:
        os.close(descriptor)  # also releases our shared lock, if we got it
    return None


def without_userinfo(url: str) -> str:
    return NatsAddress.parse(url).without_user().text()


def _pid_in(descriptor: int) -> int | None:
    text = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
