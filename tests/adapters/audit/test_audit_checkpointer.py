"""The checkpointer: every message covered once, in order, across restarts and rivals."""

from __future__ import annotations

import asyncio

import nats

from adapters.audit.checkpointer import Checkpointer
from adapters.audit.checkpoints import Checkpoint
from adapters.audit.signing import SigningKey
from adapters.audit.verify import verify_stream
from tests.audit_support import log_head, read_all, write_cases


async def checkpoints_of(connection, stream: str) -> list[Checkpoint]:
    return [Checkpoint.parse(message.body) for message in await read_all(connection, stream)
            if message.subject == f"{stream}.checkpoints"]


def assert_contiguous(checkpoints: list[Checkpoint], every: int) -> None:
    assert checkpoints[0].first == 1
    for before, after in zip(checkpoints, checkpoints[1:]):
        assert after.first == before.last + 1
    assert all(len(checkpoint.hashes) <= every for checkpoint in checkpoints)


def test_resumes_after_a_restart_without_a_gap(nats_url, unique_name, tmp_path):
    stream = unique_name("AUDIT")
    key = SigningKey.load_or_create(tmp_path)
    write_cases(nats_url, stream)

    async def run() -> None:
        connection = await nats.connect(nats_url)
        try:
            # A service checkpoints the log, then more is written and it is killed before it
            # covers that.
            first = Checkpointer(connection, stream, key, every=8)
            await first.start()
            assert await first.wait_covered(await log_head(connection, stream), timeout=10)
            await asyncio.to_thread(write_cases, nats_url, stream)
            await first.stop(final=False)
            # More is written while no service runs.
            await asyncio.to_thread(write_cases, nats_url, stream)
            # The next start goes on from the last checkpoint in the log.
            second = Checkpointer(connection, stream, key, every=8)
            await second.start()
            assert second.position == first.position
            head = await log_head(connection, stream)
            assert await second.wait_covered(head, timeout=10)
            await second.stop(final=False)

            assert_contiguous(await checkpoints_of(connection, stream), every=8)
            report = await verify_stream(connection, stream, key.public_key)
            assert report.intact and report.intact_to >= head
        finally:
            await connection.close()

    asyncio.run(run())


def test_two_services_never_checkpoint_the_same_range(nats_url, unique_name, tmp_path):
    stream = unique_name("AUDIT")
    key = SigningKey.load_or_create(tmp_path)
    write_cases(nats_url, stream, rounds=3)

    async def run() -> None:
        connection = await nats.connect(nats_url)
        try:
            rivals = [Checkpointer(connection, stream, key, every=5) for _ in range(2)]
            for rival in rivals:
                await rival.start()
            head = await log_head(connection, stream)
            # Both race over the same messages; the loser of each write resumes from the
            # winner's checkpoint.
            assert all(await asyncio.gather(*(rival.wait_covered(head, timeout=20)
                                              for rival in rivals)))
            for rival in rivals:
                await rival.stop(final=False)
            assert_contiguous(await checkpoints_of(connection, stream), every=5)
            assert (await verify_stream(connection, stream, key.public_key)).intact
        finally:
            await connection.close()

    asyncio.run(run())


def test_an_idle_log_gets_no_checkpoint_of_its_own_checkpoints(nats_url, unique_name, tmp_path):
    stream = unique_name("AUDIT")
    key = SigningKey.load_or_create(tmp_path)
    write_cases(nats_url, stream)

    async def run() -> None:
        connection = await nats.connect(nats_url)
        try:
            checkpointer = Checkpointer(connection, stream, key, interval=0.0)
            await checkpointer.start()
            assert await checkpointer.wait_covered(await log_head(connection, stream), 10)
            written = len(await checkpoints_of(connection, stream))
            # Due at once (interval 0), yet only the checkpoint itself is new: nothing to do.
            await checkpointer.stop(final=True)
            await checkpointer.catch_up()
            assert len(await checkpoints_of(connection, stream)) == written
        finally:
            await connection.close()

    asyncio.run(run())
