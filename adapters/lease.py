"""One holder at a time for work that several services could each do, through a key-value entry
that lives only as long as its holder renews it.

The bucket keeps each entry for `seconds` after its last write (its stream's max age): a
holder rewrites its entry every third of that, each time only if nobody wrote it in between
(the key's revision). A holder that dies stops renewing, its entry expires, and the next to
ask creates it anew: the work is taken over within `seconds` and a renewal interval. Two
holders at once are possible only for a holder paused for longer than `seconds` (it finds its
entry gone or another's at its next renewal, and stops); the work guarded here stays correct
even then (each piece has exactly-once writes of its own), a lease only keeps it from being
done twice over.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from adapters.jetstream.streams import configured_replicas
from adapters.tasks import stopped

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0  # ONESTOP_LEASE_SECONDS: tests take over sooner


def lease_seconds() -> float:
    return float(os.environ.get("ONESTOP_LEASE_SECONDS") or LEASE_SECONDS)


class Lease:
    def __init__(self, connection: Client, bucket: str, key: str, holder: str,
                 seconds: float | None = None) -> None:
        self.connection, self.bucket, self.key = connection, bucket, key
        self.holder, self.seconds = holder, seconds or lease_seconds()
        self._kv = None
        self._revision: int | None = None  # of our entry, while we hold it

    async def open(self) -> None:
        js = self.connection.jetstream()
        try:
            self._kv = await js.key_value(self.bucket)
        except BucketNotFoundError:
            self._kv = await js.create_key_value(KeyValueConfig(
                bucket=self.bucket, history=1, ttl=self.seconds, storage=StorageType.FILE,
                replicas=configured_replicas(),
                description="who does which onestop work: one service at a time"))

    async def take_or_renew(self) -> bool:
        """Whether this holder holds the lease now (taken, or renewed)."""
        try:
            if self._revision is not None:
                self._revision = await self._kv.update(self.key, self.holder.encode(),
                                                       last=self._revision)
                return True
            self._revision = await self._kv.create(self.key, self.holder.encode())
            return True
        except KeyWrongLastSequenceError:  # another holds it, or took it over from us
            self._revision = None
        # Ours from before a restart (the same holder name): held again at once, not after
        # it expires.
        try:
            entry = await self._kv.get(self.key)
        except KeyNotFoundError:
            return False  # expired just now: taken at the next try
        if entry.value != self.holder.encode():
            return False
        try:
            self._revision = await self._kv.update(self.key, self.holder.encode(),
                                                   last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def release(self) -> None:
        """Lets the next holder take over at once rather than after `seconds`."""
        if self._revision is None:
            return
        revision, self._revision = self._revision, None
        try:
            await self._kv.delete(self.key, last=revision)
        except Exception:  # noqa: BLE001 - it expires anyway
            pass


class LeasedWork:
    """Runs `start` while this holder holds the lease and `stop` when it does not: the work is
    started at most in one place, and taken over when its holder goes."""

    def __init__(self, lease: Lease, start: Callable[[], Awaitable[None]],
                 stop: Callable[[], Awaitable[None]], what: str) -> None:
        self.lease, self._start, self._stop, self.what = lease, start, stop, what
        self.running = False
        self._keeping: asyncio.Task | None = None

    async def begin(self) -> None:
        await self.lease.open()
        await self._step()  # started at once when nobody else does it
        self._keeping = asyncio.get_running_loop().create_task(self._keep())

    async def end(self) -> None:
        await stopped(self._keeping)
        if self.running:
            self.running = False
            await self._stop()
        await self.lease.release()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.lease.seconds / 3)
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server away: renewed, or lost, next time
                log.warning("lease of %s: %s", self.what, error)

    async def _step(self) -> None:
        holds = await self.lease.take_or_renew()
        if holds and not self.running:
            log.info("%s: taken on by %s", self.what, self.lease.holder)
            await self._start()
            self.running = True
        elif not holds and self.running:
            log.warning("%s: another service holds it now; stopped here", self.what)
            self.running = False
            await self._stop()
