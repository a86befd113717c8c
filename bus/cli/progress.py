"""A progress line for long operator commands: rewritten in place on a terminal, printed as
plain lines (at most one every few seconds) when stderr goes to a file or a pipe, so a log
keeps a readable trace instead of a wall of carriage returns."""

from __future__ import annotations

import time
from typing import TextIO

from adapters.views.rebuild import Progress

TERMINAL_EVERY_SECONDS = 0.1
LOG_EVERY_SECONDS = 2.0
BAR_WIDTH = 24


def describe(progress: Progress) -> str:
    share = progress.position / progress.head if progress.head else 1.0
    share = min(max(share, 0.0), 1.0)
    remaining = progress.remaining_seconds
    left = "--" if remaining is None else duration(remaining)
    return (f"{share:4.0%}  {progress.position:,}/{progress.head:,}  "
            f"{progress.rate:,.0f} events/s  {left} left")


def duration(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class ProgressLine:
    def __init__(self, out: TextIO, label: str, clock=time.monotonic) -> None:
        self.out, self.label, self.clock = out, label, clock
        self.terminal = out.isatty()
        self._shown_at: float | None = None
        self._drawn = False  # a line is on the terminal without its newline yet

    def update(self, progress: Progress) -> None:
        now = self.clock()
        every = TERMINAL_EVERY_SECONDS if self.terminal else LOG_EVERY_SECONDS
        if self._shown_at is not None and now - self._shown_at < every:
            return
        self._shown_at = now
        text = f"{self.label}  {self._bar(progress) if self.terminal else ''}{describe(progress)}"
        if self.terminal:
            self.out.write(f"\r{text}\x1b[K")  # erase what a longer earlier line left
            self._drawn = True
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def finish(self, summary: str) -> None:
        if self._drawn:
            self.out.write("\r\x1b[K")
        self.out.write(summary + "\n")
        self.out.flush()
        self._drawn = False

    @staticmethod
    def _bar(progress: Progress) -> str:
        share = min(progress.position / progress.head, 1.0) if progress.head else 1.0
        filled = int(share * BAR_WIDTH)
        return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]  "
