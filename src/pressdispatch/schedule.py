"""The clock of the service: a scan every ``scheduler.scan_interval``, plus a one-off
job at the next embargo or publication time so a send starts within a second of it.

Schedules are derived from the store at every tick, never from pickled job state:
after a restart, whatever came due while the process was down is found by the
first tick (which runs at once). APScheduler 3's defaults would drop a job that
misfired by more than a second, so every job here has no misfire limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[datetime | None]]  # runs a scan; returns the next send time
_NEXT = "next-send"


class Scheduler:
    def __init__(self, tick: Tick, interval: timedelta, clock: Callable[[], datetime]) -> None:
        self._tick = tick
        self._interval = interval
        self._clock = clock
        self._lock = asyncio.Lock()
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.add_job(
            self.run_tick,
            "interval",
            seconds=self._interval.total_seconds(),
            next_run_time=self._clock(),
            id="scan",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()

    def scan_now(self) -> None:
        """A scan at once, besides the regular ones (this process just took the lead)."""
        if self._scheduler.running:
            self._scheduler.add_job(
                self.run_tick,
                "date",
                run_date=self._clock(),
                id="scan-now",
                replace_existing=True,
                misfire_grace_time=None,
            )

    async def run_tick(self) -> None:
        async with self._lock:  # the scan and the one-off job never overlap
            try:
                upcoming = await self._tick()
            except Exception:
                log.exception("scan failed; trying again at the next one")
                return
        self._schedule(upcoming)

    def _schedule(self, upcoming: datetime | None) -> None:
        if upcoming is None:
            if self._scheduler.get_job(_NEXT):
                self._scheduler.remove_job(_NEXT)
            return
        self._scheduler.add_job(
            self.run_tick,
            "date",
            run_date=upcoming,
            id=_NEXT,
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def shutdown(self) -> None:
        """No new scans; let a running one finish (never cancel it mid-transaction)."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        async with self._lock:
            self._scheduler.shutdown(wait=False)
