"""The overdue watch: every minute, what is past its due date is escalated — a case not
resolved in its service's days, a bad rating's follow-up not rectified in its working days
(domain/escalation.py decides which).

Each service runs it: the command that escalates names the record and the due date it
missed, so two services escalating the same record write it once (the second gets the first
outcome). It runs on a worker thread, as the library's reads are synchronous.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta, timezone

from adapters.logs import Throttled
from adapters.tasks import stopped
from domain.escalation import SETTLING, OverdueEscalation
from domain.service import Service

log = logging.getLogger(__name__)

DEFAULT_EVERY_SECONDS = 60.0


class OverdueWatch:
    def __init__(self, app: Service, every: float | None = None) -> None:
        self.every = every if every is not None else float(
            os.environ.get("ONESTOP_OVERDUE_SECONDS", DEFAULT_EVERY_SECONDS))
        # How long a ledger's loading must pause before what it loaded is judged.
        settling = timedelta(seconds=float(os.environ.get("ONESTOP_OVERDUE_SETTLING_SECONDS")
                                           or SETTLING.total_seconds()))
        self.escalation = OverdueEscalation(app, clock=lambda: datetime.now(timezone.utc),
                                            settling=settling)
        self._task: asyncio.Task | None = None
        self._failing = Throttled(log, 60)
        self.escalated = 0
        self.rounds = 0
        # As the last round found them; read by the health check on the loop while the next
        # round runs on its worker thread, so made whole before it is put here.
        self.follow_ups_due: tuple[datetime, ...] = ()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        await stopped(self._task)

    async def _watch(self) -> None:
        while True:
            try:
                escalated = await asyncio.to_thread(self._round)
            except Exception as error:  # noqa: BLE001 - the store away: the next round
                self._failing.warning("round", "overdue watch: %r; trying again", error)
            else:
                self._failing.clear()
                self.escalated += len(escalated)
                if escalated:
                    log.info("escalated %d overdue case(s) and follow-up(s)", len(escalated))
            self.rounds += 1
            await asyncio.sleep(self.every)

    def _round(self) -> list:
        escalated = self.escalation.run()
        self.follow_ups_due = tuple(self.escalation.follow_ups_due())
        return escalated
