"""What this process holds: claimed deliveries in memory, their leases kept alive.

A claimed delivery is held from its claim until its outcome is recorded or it is
given back. While the process lives, its heartbeat renews the leases of all it
holds, so a lease never runs out under a slow relay; and it takes back the
leases of processes that stopped beating. A delivery still waiting in the
queue that another process took over (this one was thought dead) is marked
lost: the engine drops it instead of sending it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from pressdispatch.clock import Clock
from pressdispatch.store.ports import Claim, WorkersPort

log = logging.getLogger(__name__)

DEAD_AFTER = 3  # heartbeats: a process silent for this many intervals is dead


class Holdings:
    def __init__(
        self,
        workers: WorkersPort,
        *,
        kind: str,
        lease: timedelta,
        heartbeat: timedelta,
        clock: Clock,
    ) -> None:
        self.workers = workers
        self.kind = kind
        self.lease = lease
        self.dead_after = heartbeat * DEAD_AFTER
        # Often enough that no lease runs out between two beats.
        self.beat_every = min(heartbeat, lease / 3).total_seconds()
        self.clock = clock
        self.worker_id = ""
        self.joined = asyncio.Event()  # set once ``worker_id`` names this process
        self._held: dict[int, Claim] = {}  # claimed, not yet recorded or given back
        self._waiting: set[int] = set()  # held and in the queue, not started
        self._lost: set[int] = set()  # waiting, but taken over by another process

    async def join(self) -> None:
        self.worker_id = await self.workers.join(self.kind, self.clock())
        self.joined.set()

    async def leave(self) -> None:
        try:
            await self.workers.leave(self.worker_id)
        except Exception:  # its row goes when the others see it silent
            log.exception("could not sign off as a worker")

    def hold(self, claims: list[Claim]) -> None:
        for claim in claims:
            self._held[claim.id] = claim
            self._waiting.add(claim.id)

    def start(self, claim: Claim) -> bool:
        """A sender takes ``claim`` from the queue: False if it must not be sent from here."""
        self._waiting.discard(claim.id)
        if claim.id in self._lost:
            self._lost.discard(claim.id)
            self._held.pop(claim.id, None)
            return False
        return True

    def holds(self, claim: Claim) -> bool:
        return claim.id in self._held

    def release(self, claims: list[Claim]) -> None:
        """Recorded or given back: no longer held."""
        for claim in claims:
            self._held.pop(claim.id, None)
            self._waiting.discard(claim.id)
            self._lost.discard(claim.id)

    def lost(self, claim: Claim) -> bool:
        return claim.id in self._lost

    async def keep_alive(self) -> None:
        """Beat every ``beat_every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.beat_every)
            try:
                await self.beat()
            except Exception:
                log.exception("heartbeat failed")

    async def beat(self) -> None:
        now = self.clock()
        beat = await self.workers.beat(
            self.worker_id, self.kind, now, now + self.lease, now - self.dead_after
        )
        if beat.revived:
            log.warning(
                "this process was taken for dead (no heartbeat for %s): its event loop "
                "was blocked, or the database out of reach",
                self.dead_after,
            )
        if beat.held >= len(self._held):
            return
        # Fewer renewed than held: some were recorded meanwhile (or locked, being
        # recorded), or taken over. Those still waiting must not be sent from here.
        mine = await self.workers.held(self.worker_id)
        taken = self._waiting - mine
        if taken:
            self._lost |= taken
            log.warning("%d queued deliveries were taken over by another process", len(taken))

    async def takeover_at(self) -> datetime | None:
        """When the deliveries of processes that stopped beating can be taken back."""
        silent = self.clock() - timedelta(seconds=1.5 * self.beat_every)
        return await self.workers.takeover_at(self.worker_id, silent, self.dead_after)
