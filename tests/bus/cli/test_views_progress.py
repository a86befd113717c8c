"""The replay's progress line: rewritten in place on a terminal, plain lines in a log."""

from __future__ import annotations

import io

from adapters.views.rebuild import Progress
from bus.cli.progress import ProgressLine, describe, duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_says_how_far_how_fast_and_how_long_is_left():
    # 3,000 of 12,000 events in 2 seconds: 1,500 events/s, 6 seconds to go.
    assert describe(Progress(position=3_000, head=12_000, events=3_000, seconds=2.0)) == \
        " 25%  3,000/12,000  1,500 events/s  6s left"
    assert describe(Progress(position=0, head=0, events=0, seconds=0.0)) == \
        "100%  0/0  0 events/s  -- left"
    assert [duration(s) for s in (0.4, 59, 61, 3_700)] == ["0s", "59s", "1m01s", "1h01m"]


def test_on_a_terminal_the_line_is_rewritten_in_place_then_replaced_by_the_summary():
    out, clock = Terminal(), Clock()
    line = ProgressLine(out, "replay", clock)

    line.update(Progress(10, 100, 10, 1.0))
    clock.now = 0.01
    line.update(Progress(20, 100, 20, 1.0))  # too soon after the last one: not drawn
    clock.now = 0.5
    line.update(Progress(50, 100, 50, 1.0))
    line.finish("replayed 100 events")

    drawn = out.getvalue().split("\r")
    assert drawn[0] == "" and len(drawn) == 4
    assert drawn[1].startswith("replay  [##....") and " 10%" in drawn[1]
    assert drawn[1].endswith("\x1b[K") and "\n" not in drawn[1]
    assert " 50%" in drawn[2] and "20/100" not in out.getvalue()
    assert drawn[3] == "\x1b[Kreplayed 100 events\n"


def test_in_a_log_each_update_is_a_plain_line_a_few_seconds_apart():
    out, clock = io.StringIO(), Clock()
    line = ProgressLine(out, "replay", clock)

    for second in range(5):
        clock.now = float(second)
        line.update(Progress(second * 10, 100, second * 10, second or 1.0))
    line.finish("replayed 100 events")

    assert out.getvalue().splitlines() == [
        "replay    0%  0/100  0 events/s  -- left",
        "replay   20%  20/100  10 events/s  8s left",
        "replay   40%  40/100  10 events/s  6s left",
        "replayed 100 events",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
