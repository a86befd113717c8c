"""Stopping a background task, surely.

A task is stopped by cancelling it, but on Python 3.11 a cancellation that arrives just as an
`asyncio.wait_for` inside the task completes is lost: the task goes on (a loop around a
timed `fetch` or `wait` simply waits again), and one cancel followed by an await of the task
hung a service's stop. `stopped` cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio

RECANCEL_SECONDS = 0.5  # a task still running this long after a cancel is cancelled again


async def stopped(task: asyncio.Task | None) -> None:
    """Cancels `task` and returns once it has ended, whatever it raised (nothing: None)."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    if not task.cancelled():
        task.exception()  # retrieved: it ended as it ended, the stop goes on
