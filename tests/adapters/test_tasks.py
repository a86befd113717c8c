"""Stopping a background task whose loop loses a cancellation, as a loop around a timed wait
does on Python 3.11 when the cancel lands just as the wait completes."""

from __future__ import annotations

import asyncio

from adapters.tasks import stopped


def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends():
    async def run() -> tuple[int, bool]:
        cancels, waiting = 0, asyncio.Event()

        async def loses_the_first_cancel() -> None:
            nonlocal cancels
            while True:
                try:
                    waiting.set()
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    cancels += 1
                    if cancels > 1:
                        raise  # the first was lost, as in the race; the next one ends it

        task = asyncio.get_running_loop().create_task(loses_the_first_cancel())
        await waiting.wait()
        # One cancel and an await would wait forever here: `stopped` must not.
        await asyncio.wait_for(stopped(task), timeout=30)
        return cancels, task.cancelled()

    assert asyncio.run(run()) == (2, True)


def test_a_task_that_ended_with_an_error_or_none_at_all_stops_quietly():
    async def run() -> None:
        async def fails() -> None:
            raise ValueError("it ended so")

        task = asyncio.get_running_loop().create_task(fails())
        await asyncio.wait({task})
        await stopped(task)
        await stopped(None)

    asyncio.run(run())
