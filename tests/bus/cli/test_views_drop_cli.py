"""`onestop views drop NAME GENERATION` as an operator runs it: what a killed rebuild left
behind is dropped; the active generation, or one that is not there, is refused."""

from __future__ import annotations

import os
import subprocess
import sys

from adapters.views import open_view_store
from projections import ALL_PROJECTIONS


def onestop(data_dir, *arguments: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ONESTOP_") and name != "VIEWS_DSN"}
    return subprocess.run([sys.executable, "-m", "bus.cli", "views", *arguments, "--data-dir",
                           str(data_dir)], env=env, capture_output=True, text=True, timeout=60)


def generations(data_dir) -> list[tuple[int, bool]]:
    with open_view_store("", data_dir) as store:
        store.open(ALL_PROJECTIONS)
        return [(s.generation, s.active) for s in store.status() if s.name == "intake"]


def test_a_generation_a_killed_rebuild_left_behind_is_dropped_and_no_other(tmp_path):
    with open_view_store("", tmp_path) as store:
        store.open(ALL_PROJECTIONS)
        store.start_generation("intake")  # a rebuild's, killed before it could switch
    assert generations(tmp_path) == [(1, True), (2, False)]

    dropped = onestop(tmp_path, "drop", "intake", "g2")  # as `views status` spells it
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped generation 2 of intake" in dropped.stdout
    assert generations(tmp_path) == [(1, True)]

    active = onestop(tmp_path, "drop", "intake", "1")
    assert active.returncode == 1 and "active" in active.stderr
    missing = onestop(tmp_path, "drop", "intake", "7")  # also written without its g
    assert missing.returncode == 1 and "no generation 7" in missing.stderr
    unknown = onestop(tmp_path, "drop", "nope", "1")
    assert unknown.returncode == 2 and "no view 'nope'" in unknown.stderr
    assert generations(tmp_path) == [(1, True)]
