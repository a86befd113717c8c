"""How each part of the service stands, for the health check and `onestop status`: the store
reachable or not; the views, the feeds and the signed checkpoints, each as far behind the
log as it is, and whether it is stuck (and why).

Everything is read from where the parts leave it — the log's head, the views store, the
feeds' cursor, the last checkpoint in the log — so the answer is the same whichever process
runs a part. A part is stuck when it is behind and has not moved for `STUCK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timezone

import orjson
from nats.aio.client import Client

from adapters.audit.checkpointer import INTERVAL_SECONDS
from adapters.jetstream.log import StreamLog
from adapters.logs import Throttled
from adapters.views import ViewStore
from bus.contract.messages import Part

STUCK_SECONDS = 60.0
ASK_SECONDS = 2.0  # for each answer a part gives, at most: the health check must answer


class Parts:
    def __init__(self, connection: Client, log: StreamLog, views: ViewStore | None,
                 stream: str, logger,
                 checkpoint_trouble: Callable[[], str | None] = lambda: None) -> None:
        self.connection, self.log, self.views, self.stream = connection, log, views, stream
        self.checkpoint_trouble = checkpoint_trouble  # why the checkpointer fails, if it does
        self._moved: dict[str, tuple[int, float]] = {}  # part -> (position, when it moved)
        self._throttled = Throttled(logger)

    async def check(self) -> list[Part]:
        try:
            async with asyncio.timeout(ASK_SECONDS):
                last = await self.log.last(f"{self.stream}.>")
                last_event = await self.log.last(f"{self.stream}.events.>")
        except Exception as error:  # noqa: BLE001 - the store away is what this reports
            return [Part(name="store", status="unreachable",
                         detail=f"the log did not answer: {error!r}")] + [
                Part(name=name, status="unknown") for name in ("views", "feeds",
                                                                "checkpoints")]
        head = 0 if last_event is None else last_event.sequence
        parts = [Part(name="store", detail=f"log head at {head}"),
                 await self._views(head), await self._feeds(head),
                 await self._checkpoints(0 if last is None else last.sequence)]
        for part in parts:
            if part.status not in ("ok", "unknown"):
                self._throttled.warning(part.name, "%s %s: %s", part.name, part.status,
                                        part.detail)
            else:
                self._throttled.clear(part.name)
        return parts

    async def _missing_positions(self) -> list[int]:
        """Positions the event log has lost: it denies deletes and purges, so only a store
        changed behind the server's back has any (cut at the front, or holed)."""
        reply = await self.connection.request(f"$JS.API.STREAM.INFO.{self.stream}",
                                              b'{"deleted_details":true}', timeout=ASK_SECONDS)
        state = orjson.loads(reply.data).get("state", {})
        first, last = state.get("first_seq", 0), state.get("last_seq", 0)
        if last == 0:
            return []  # empty (the server then counts a deleted position 0)
        holes = [position for position in state.get("deleted") or () if first <= position <= last]
        return list(range(1, first)) + sorted(holes)

    def _stuck(self, name: str, position: int, behind: int) -> bool:
        now = time.monotonic()
        before = self._moved.get(name)
        if before is None or before[0] != position or behind <= 0:
            self._moved[name] = (position, now)
            return False
        return now - before[1] >= STUCK_SECONDS

    async def _views(self, head: int) -> Part:
        if self.views is None:
            return Part(name="views", status="unknown")
        statuses = [status for status in await asyncio.to_thread(self.views.status)
                    if status.active]
        failed = [status.name for status in statuses if status.failure is not None]
        position = min((status.position for status in statuses), default=head)
        behind = max(head - position, 0)
        if failed:
            return Part(name="views", status="failed", behind=behind,
                        detail=f"stopped: {', '.join(failed)} (see the warnings)")
        if self._stuck("views", position, behind):
            return Part(name="views", status="stuck", behind=behind,
                        detail=f"no view has moved from position {position} for "
                               f"{STUCK_SECONDS:.0f} s")
        return Part(name="views", behind=behind, detail=f"at position {position}")

    async def _feeds(self, head: int) -> Part:
        try:
            async with asyncio.timeout(ASK_SECONDS):
                kv = await self.connection.jetstream().key_value(f"{self.stream}_FEEDS")
                cursor = orjson.loads((await kv.get("position")).value)
        except Exception:  # noqa: BLE001 - no cursor yet: nothing published so far
            return Part(name="feeds", behind=head, detail="not started yet")
        position = int(cursor["position"])
        behind = max(head - position, 0)
        if self._stuck("feeds", position, behind):
            claim = (f"; a batch to {cursor['until']} claimed by {cursor['holder']}"
                     if cursor["until"] > position else "")
            return Part(name="feeds", status="stuck", behind=behind,
                        detail=f"at position {position} for {STUCK_SECONDS:.0f} s{claim}")
        return Part(name="feeds", behind=behind, detail=f"at position {position}")

    async def _checkpoints(self, last: int) -> Part:
        try:
            async with asyncio.timeout(ASK_SECONDS):
                stored = await self.log.last(f"{self.stream}.checkpoints")
                missing = await self._missing_positions()
        except Exception as error:  # noqa: BLE001
            return Part(name="checkpoints", status="unknown", detail=repr(error))
        if missing:
            # The chain links every position to the one before: past a hole it cannot be
            # signed at all, so waiting a minute to call it stuck would only hide why.
            return Part(name="checkpoints", status="failed", behind=max(last - missing[0] + 1, 0),
                        detail=f"position {missing[0]} is missing from the log "
                               f"({len(missing)} missing in all): nothing after it can be "
                               "signed; restore the log from a backup or a replica "
                               "(`onestop audit verify` names what else changed)")
        if stored is None:
            covered, signed_at, at = 0, None, 0
        else:
            fields = orjson.loads(stored.body)
            covered, signed_at, at = int(fields["last"]), fields["signed_at"], stored.sequence
        # The last checkpoint itself waits for the next activity to be covered.
        behind = max(last - max(covered, at), 0)
        if behind and signed_at is not None:
            age = (datetime.now(timezone.utc) - datetime.fromisoformat(signed_at)).total_seconds()
            if age > INTERVAL_SECONDS + STUCK_SECONDS and self._stuck("checkpoints", covered,
                                                                     behind):
                trouble = self.checkpoint_trouble()
                why = f": {trouble}" if trouble else " (the checkpointer's log may say why)"
                return Part(name="checkpoints", status="stuck", behind=behind,
                            detail=f"nothing signed after position {covered} for "
                                   f"{age:.0f} s{why}")
        return Part(name="checkpoints", behind=behind, detail=f"signed up to {covered}")
