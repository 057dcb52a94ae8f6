"""One scheduler among several `run` processes: who scans, keeps the timers and polls.

Every `run` process serves the newsroom and sends; only the one that holds the
scheduler's lock (store/leader.py) scans the files, plans what is due, keeps the
embargo and publication timers, polls the press office's sources and mailbox,
pings the WebSub hub and sends the distribution reports. The others try to take the
lock every ``every`` (the scheduler's heartbeat), so one takes over:

- within ``every`` when the leader stops cleanly, or dies on PostgreSQL (its session
  ends with it and frees the lock);
- within ``DEAD_AFTER`` heartbeats plus ``every`` when it dies on SQLite or hangs,
  once its lease runs out (20 s with the default heartbeat of 5 s).

`worker` processes never lead: the scan reads the release folders and the
subscriber lists, which a machine running only workers need not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from pressdispatch.dispatch.holdings import DEAD_AFTER
from pressdispatch.store.db import Database
from pressdispatch.store.leader import SchedulerLock

__all__ = ["Leadership"]

log = logging.getLogger("pressdispatch")


class Leadership:
    """Whether this process leads (``leading``), kept up to date by ``keep``."""

    def __init__(
        self, db: Database, *, every: timedelta, on_lead: Callable[[], None] = lambda: None
    ) -> None:
        self.lock = SchedulerLock(db)
        self.every = every.total_seconds()
        self.ttl = every * DEAD_AFTER  # as a process is taken for dead: its lease renewed
        self.on_lead = on_lead  # called as this process takes the lead: scan now
        self._leading = False
        self._confirmed = 0.0  # monotonic: when the lock was last taken or renewed

    @property
    def leading(self) -> bool:
        """Whether this process leads, as last confirmed within a lease: one that was
        frozen longer (others took the lead meanwhile) does not scan before it checks."""
        fresh = time.monotonic() - self._confirmed < self.ttl.total_seconds()
        return self._leading and fresh

    async def keep(self, owner: str, stop: asyncio.Event) -> None:
        """Until ``stop``: lead as ``owner`` (a worker id) when the lock is free, and
        give it up on the way out."""
        try:
            while not stop.is_set():
                await self._step(owner)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)
        finally:
            await self._step_down(owner)

    async def _step_down(self, owner: str) -> None:
        if not self._leading:
            await self.lock.close()
            return
        self._leading = False
        try:
            await self.lock.give_up(owner)
            log.info("this process no longer leads the scheduler (stopping)")
        except Exception:  # its lease runs out instead
            log.exception("could not hand over the scheduler's lock")

    async def _step(self, owner: str) -> None:
        # Before the call: the lease runs from a moment before the database wrote it.
        asked = time.monotonic()
        try:
            if self._leading:
                if await self.lock.keep(owner, self.ttl):
                    self._confirmed = asked
                else:
                    self._leading = False
                    log.warning(
                        "this process lost the lead of the scheduler (taken for hung, or "
                        "the database out of reach): it no longer scans"
                    )
                return
            if await self.lock.take(owner, self.ttl):
                self._leading, self._confirmed = True, asked
                log.info(
                    "this process now leads the scheduler: it scans, keeps the timers "
                    "and polls the sources"
                )
                self.on_lead()
        except Exception:
            if self._leading:
                self._leading = False
                log.exception("lost the lead of the scheduler: the database failed")
                with contextlib.suppress(Exception):
                    await self.lock.give_up(owner)
            else:
                log.exception("could not try for the lead of the scheduler")
