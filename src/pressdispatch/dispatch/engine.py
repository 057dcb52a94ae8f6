"""The engine: claim due deliveries, send them, record each outcome as the server answers.

Three kinds of task share one queue:

- the claimer takes batches from the ledger (committed, leased) when the queue runs low;
- ``concurrency`` senders render, send and then wait until their outcome is committed
  before taking the next message, so at most ``concurrency`` accepted messages are
  ever unrecorded (the most a crash can duplicate);
- the recorder commits outcomes in small groups, one transaction each.

The engine knows no SQL and renders nothing itself: it calls the Ledger, the
renderer and the Transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pressdispatch.dispatch.policy import decide
from pressdispatch.dispatch.transport import Envelope, Outcome, Status, Transport
from pressdispatch.errors import PressDispatchError
from pressdispatch.model import Release, Variant
from pressdispatch.render.email import EmailRenderer, Recipient
from pressdispatch.store.ledger import Claim, Update

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LedgerPort(Protocol):
    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[Claim]: ...
    async def record(self, updates: list[Update]) -> None: ...
    async def unclaim(self, ids: list[int]) -> None: ...
    async def next_due(self) -> datetime | None: ...


class Snapshots(Protocol):
    async def snapshot(self, release_id: str) -> Release: ...


@dataclass(frozen=True, slots=True)
class EngineSettings:
    sender: str
    concurrency: int
    batch_size: int
    lease: timedelta
    retry_initial: timedelta
    retry_max: timedelta
    max_retry_age: timedelta
    rate: float = 0  # messages per second the transport allows; 0 = unlimited


@dataclass
class RunStats:
    outcomes: Counter[str] = field(default_factory=Counter)
    by_release: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, release_id: str, status: str) -> None:
        self.outcomes[status] += 1
        self.by_release[(release_id, status)] += 1


class Engine:
    def __init__(
        self,
        ledger: LedgerPort,
        snapshots: Snapshots,
        transport: Transport,
        renderer: EmailRenderer,
        settings: EngineSettings,
        *,
        clock: Clock = utc_now,
        on_result: Callable[[str, str], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.snapshots = snapshots
        self.transport = transport
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.on_result = on_result
        self.wakeup = asyncio.Event()
        self._low = asyncio.Event()
        self.stats = RunStats()
        self._releases: dict[str, Release] = {}
        self._queue: asyncio.Queue[Claim] = asyncio.Queue()
        self._results: asyncio.Queue[tuple[Update, asyncio.Future[None]]] = asyncio.Queue()
        self._busy = 0

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> RunStats:
        """Send until ``stop`` is set (or, with ``until_idle``, until nothing is due now)."""
        recorder = asyncio.create_task(self._recorder())
        senders = [asyncio.create_task(self._sender()) for _ in range(self.settings.concurrency)]
        try:
            await self._claimer(stop, until_idle)
        finally:
            # Stop claiming; give back what was never tried; let in-flight messages finish
            # and be recorded before the senders and the recorder go.
            leftovers = []
            while not self._queue.empty():
                leftovers.append(self._queue.get_nowait().id)
                self._queue.task_done()
            await self.ledger.unclaim(leftovers)
            while self._busy:
                await asyncio.sleep(0.01)
            for task in senders:
                task.cancel()  # each is now waiting for work, holding nothing
            await asyncio.gather(*senders, return_exceptions=True)
            await self._results.join()
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
        return self.stats

    def _claim_size(self) -> int:
        """A batch the senders can finish well within the lease, even when rate-limited."""
        size = self.settings.batch_size
        if self.settings.rate > 0:
            size = min(size, int(self.settings.rate * self.settings.lease.total_seconds() / 2))
        return max(size, 1)

    async def _claimer(self, stop: asyncio.Event, until_idle: bool) -> None:
        low_water = max(self.settings.concurrency, 1)
        while not stop.is_set():
            if self._queue.qsize() < low_water:
                now = self.clock()
                claims = await self.ledger.claim(now, self._claim_size(), now + self.settings.lease)
                for claim in claims:
                    self._queue.put_nowait(claim)
                if claims:
                    continue
            if not self._queue.empty() or self._busy:
                # Work in flight: the senders wake us when the queue runs low.
                await _wait_any(stop, self._low, 1.0)
                self._low.clear()
                continue
            next_due = await self.ledger.next_due()
            now = self.clock()
            if until_idle and (next_due is None or next_due > now):
                return
            wait = (
                1.0 if next_due is None else min(max((next_due - now).total_seconds(), 0.05), 1.0)
            )
            await _wait_any(stop, self.wakeup, wait)
            self.wakeup.clear()

    async def _sender(self) -> None:
        while True:
            claim = await self._queue.get()
            self._busy += 1
            if self._queue.qsize() < self.settings.concurrency:
                self._low.set()
            try:
                await self._deliver(claim)
            finally:
                self._busy -= 1
                if self._busy == 0 or self._queue.qsize() < self.settings.concurrency:
                    self._low.set()  # the claimer may refill, or notice that all is done
                self._queue.task_done()

    async def _deliver(self, claim: Claim) -> None:
        outcome = await self._attempt(claim)
        now = self.clock()
        update = decide(
            claim,
            outcome,
            now,
            retry_initial=self.settings.retry_initial,
            retry_max=self.settings.retry_max,
            max_retry_age=self.settings.max_retry_age,
        )
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._results.put((update, done))
        await done
        self.stats.add(claim.release_id, update.status)
        if self.on_result is not None:
            self.on_result(claim.release_id, update.status)

    async def _attempt(self, claim: Claim) -> Outcome:
        try:
            release = self._releases.get(claim.release_id)
            if release is None:
                release = self._releases[claim.release_id] = await self.snapshots.snapshot(
                    claim.release_id
                )
            prepared = self.renderer.prepare(release, Variant(claim.language, claim.tier))
            message = prepared.personalise(Recipient(claim.address, claim.name), date=self.clock())
        except PressDispatchError as exc:
            log.error("cannot render %s for %s: %s", claim.release_id, claim.address, exc)
            return Outcome(Status.DEFERRED, reply=f"not rendered: {exc}")
        envelope = Envelope(
            self.settings.sender, claim.address, message, claim.message_id, claim.release_id
        )
        try:
            return await self.transport.send(envelope)
        except Exception as exc:  # a transport bug must not lose the row: retry later
            log.exception("transport error for %s", claim.address)
            return Outcome(Status.DEFERRED, reply=f"transport error: {exc!r}")

    async def _recorder(self) -> None:
        while True:
            batch = [await self._results.get()]
            while not self._results.empty() and len(batch) < 200:
                batch.append(self._results.get_nowait())
            for attempt in range(5):
                try:
                    await self.ledger.record([update for update, _ in batch])
                    break
                except Exception:
                    # The rows stay "sending" and are retried after their lease: at-least-once.
                    log.exception("could not record %d outcomes (try %d)", len(batch), attempt + 1)
                    await asyncio.sleep(0.2 * 2**attempt)
            for _, done in batch:
                done.set_result(None)
                self._results.task_done()


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
