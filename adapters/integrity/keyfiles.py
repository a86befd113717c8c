"""Key files in `<data dir>/audit/`: created once, atomically, readable by their owner only.

Several services sharing a data directory share its keys: the first to start creates a key,
and one that starts at the same moment finds it there, never a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def create_once(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Writes `path` unless it exists; a concurrent writer's file wins over this one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    # Written aside, then linked into place: the one that links second keeps the first
    # one's key instead of replacing it.
    def link(aside: str) -> None:
        try:
            os.link(aside, path)
        except FileExistsError:
            pass

    write_aside(path.parent, data, mode, link)


def replace_with(path: Path, data: bytes, mode: int) -> None:
    write_aside(path.parent, data, mode, lambda aside: os.replace(aside, path))


def write_aside(directory: Path, data: bytes, mode: int, place: Callable[[str], None]) -> None:
    handle, aside = tempfile.mkstemp(dir=directory, prefix=".key-")
    try:
        os.fchmod(handle, mode)
        os.write(handle, data)
        os.fsync(handle)
        os.close(handle)
        place(aside)
    finally:
        if os.path.exists(aside):
            os.unlink(aside)
