"""A case as it stood, from the first of its events: when `fold_ends_within` says the events
at hand hold where the fold ends, no later event changes the answer (the queries then do not
ask the log for more, bus/service/answers.py)."""

from __future__ import annotations

from datetime import timedelta

from domain.commands import TransferCase
from projections.timetravel import case_as_of, fold_ends_within
from tests.projections.support import logged_since


def test_the_events_at_hand_decide_the_fold_exactly_when_they_say_so(world):
    case_id = world.case()
    for days, to in ((1, "jtj"), (2, "zjw"), (3, "jxw")):
        world.now += timedelta(days=days)
        world.app.transfer_case(world.ctx(), TransferCase(case_id=case_id, to=to,
                                                          reason="another department"))
    events = [e for e in logged_since(world) if e.originator_id == str(case_id)
              and e.topic.startswith("case.")]
    stamps = [e.data["timestamp"] for e in events]
    assert len(events) >= 5

    decided = 0
    for version in (None, 1, 2, 3, len(events), len(events) + 1):
        for at in (None, stamps[0], stamps[2], stamps[-1]):
            if version is None and at is None:
                continue
            whole = case_as_of(events, version, at)
            for kept in range(1, len(events) + 1):
                if fold_ends_within(events[:kept], version, at):
                    decided += 1
                    assert case_as_of(events[:kept], version, at) == whole, (version, at, kept)
            # With every event at hand, it is decided only if the fold stops within them.
            assert fold_ends_within(events, version, at) == (
                (version is not None and version <= len(events)) or
                (at is not None and at < stamps[-1]))
    assert decided > 20
