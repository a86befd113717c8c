"""The log bell: one ring per interval at most, and at stop a ring that was due goes out at
once, with none after it (a ring left for a closed loop was a coroutine never awaited)."""

from __future__ import annotations

import asyncio

import nats

from bus.contract import subjects
from bus.service.bell import LogBell


async def rings_until_marker(subscription) -> int:
    rings = 0
    while (await subscription.next_msg(timeout=10)).data != b"marker":
        rings += 1
    return rings


def test_many_writes_ring_once_and_stop_sends_the_ring_that_was_due(nats_url):
    async def run() -> int:
        connection = await nats.connect(nats_url)
        try:
            subscription = await connection.subscribe(subjects.LOG_ADVANCED)
            bell = LogBell(connection, asyncio.get_running_loop())
            for _ in range(100):
                bell.ring()
            await bell.stop()  # before the interval is up
            bell.ring()  # after the stop: nothing, not even later
            assert bell._timer is None
            await connection.publish(subjects.LOG_ADVANCED, b"marker")
            return await rings_until_marker(subscription)
        finally:
            await connection.close()

    assert asyncio.run(run()) == 1


def test_rings_spaced_by_the_interval_each_go_out(nats_url):
    async def run() -> int:
        connection = await nats.connect(nats_url)
        try:
            subscription = await connection.subscribe(subjects.LOG_ADVANCED)
            bell = LogBell(connection, asyncio.get_running_loop())
            for _ in range(3):
                bell.ring()
                await subscription.next_msg(timeout=10)  # this ring went out
            await bell.stop()
            await connection.publish(subjects.LOG_ADVANCED, b"marker")
            return await rings_until_marker(subscription)
        finally:
            await connection.close()

    assert asyncio.run(run()) == 0  # nothing was due at the stop
