"""The engine: claim due deliveries, send them, record each outcome as the server answers.

Four kinds of task share one queue:

- the claimer takes small batches from the ledger (committed, leased) when the
  queue runs low, sized to what the senders can start within a few seconds at
  their recent pace;
- ``concurrency`` senders render and send; a sender hands its outcome to the
  recorder and starts its next message at once, but the transport lets that
  message's data go only once the previous outcome is committed (``ready``), so
  at most ``concurrency`` accepted messages are ever unrecorded (the most a crash
  can duplicate) while the commit overlaps rendering and MAIL, RCPT and DATA;
- the recorder commits outcomes in small groups, one transaction each, each
  outcome fenced by its claim's token;
- the heartbeat (holdings.py) renews the leases of every row still held in
  memory, so a lease never runs out while this process lives, and takes back the
  leases of processes that stopped beating. A queued row another process took
  over is dropped here, never sent.

The engine knows no SQL and renders nothing itself: it calls the store's ports
(store/ports.py: the ledger, the workers registry, the release snapshots), the
renderer and the Transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from pressdispatch.clock import Clock, utc_now
from pressdispatch.dispatch.holdings import Holdings
from pressdispatch.dispatch.policy import decide
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status, Transport
from pressdispatch.errors import PressDispatchError, TransportStopped
from pressdispatch.model import DeliveryStatus, Release, Variant
from pressdispatch.render.email import EmailRenderer, PreparedMessage, Recipient
from pressdispatch.store.ports import (
    Claim,
    Kind,
    LedgerPort,
    Snapshots,
    Update,
    Withdrawal,
    WorkersPort,
)
from pressdispatch.verp import ReturnPath, delivery_token

log = logging.getLogger(__name__)

HORIZON = 5.0  # seconds of work the claimer holds in memory, at the senders' recent pace
_PLANNING_POLL = 0.05  # seconds between looks for work while a plan is under way


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
    heartbeat: timedelta = timedelta(seconds=5)
    kind: str = "service"  # how this process shows among the workers: service, worker, once
    return_path: ReturnPath | None = None  # [bounces]: each delivery's own envelope sender


@dataclass
class RunStats:
    """What a run did, one count per delivery: a deferral tried again within the run
    counts once, as its latest outcome."""

    outcomes: Counter[DeliveryStatus] = field(default_factory=Counter)
    by_release: Counter[tuple[str, DeliveryStatus]] = field(default_factory=Counter)
    _deferred: set[int] = field(default_factory=set, repr=False)  # counted as deferred

    def add(self, delivery_id: int, release_id: str, status: DeliveryStatus) -> bool:
        """Count an outcome; True when it is the delivery's first in this run."""
        tried_before = delivery_id in self._deferred
        if tried_before:
            self._deferred.discard(delivery_id)
            self._count(release_id, DeliveryStatus.DEFERRED, -1)
        if status is DeliveryStatus.DEFERRED:
            self._deferred.add(delivery_id)
        self._count(release_id, status, 1)
        return not tried_before

    def _count(self, release_id: str, status: DeliveryStatus, n: int) -> None:
        # A count back at zero is dropped: a summary lists only what there is.
        self.outcomes[status] += n
        if not self.outcomes[status]:
            del self.outcomes[status]
        key = (release_id, status)
        self.by_release[key] += n
        if not self.by_release[key]:
            del self.by_release[key]


class Engine:
    def __init__(
        self,
        ledger: LedgerPort,
        workers: WorkersPort,
        snapshots: Snapshots,
        transport: Transport,
        renderer: EmailRenderer,
        settings: EngineSettings,
        *,
        clock: Clock = utc_now,
        on_result: Callable[[str, DeliveryStatus], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.workers = workers
        self.snapshots = snapshots
        self.transport = transport
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.on_result = on_result
        self.wakeup = asyncio.Event()
        self.stats = RunStats()
        self.problem: str | None = None  # why the transport is stopped, while it is
        self.holdings = Holdings(
            workers,
            kind=settings.kind,
            lease=settings.lease,
            heartbeat=settings.heartbeat,
            clock=clock,
        )
        self._low = asyncio.Event()
        self._releases: dict[str, Release] = {}
        self._withdrawals: dict[str, Withdrawal] = {}
        self._queue: asyncio.Queue[Claim] = asyncio.Queue()
        self._results: asyncio.Queue[tuple[Update, asyncio.Future[bool]]] = asyncio.Queue()
        self._busy = 0  # claims taken by senders and not yet done with (recorded, given back)
        self._settling: set[asyncio.Task[None]] = set()
        self._pace = _Pace(max(settings.batch_size, settings.concurrency))
        self._low_water = max(settings.concurrency, 1)  # queued claims: below, claim more
        self._stopped_until = 0.0  # monotonic: the transport is stopped until then
        self._unproven = True  # no message has gone through since the start or a stoppage

    async def run(
        self,
        stop: asyncio.Event,
        *,
        until_idle: bool = False,
        planning: asyncio.Event | None = None,
    ) -> RunStats:
        """Send until ``stop`` is set (or, with ``until_idle``, until nothing is due now).

        ``planning``: deliveries are still being queued until it is set, so running out
        of work before then is not idle (``wakeup`` says that more was queued).
        """
        await self.holdings.join()
        heartbeat = asyncio.create_task(self.holdings.keep_alive())
        recorder = asyncio.create_task(self._recorder())
        senders = [asyncio.create_task(self._sender()) for _ in range(self.settings.concurrency)]
        try:
            await self._claimer(stop, until_idle, planning)
        finally:
            # Stop claiming; give back what was never tried; let in-flight messages finish
            # and be recorded (their leases still renewed) before the tasks go.
            await self._give_back(self._drain())
            while self._busy:
                await asyncio.sleep(0.01)
            for task in senders:
                task.cancel()  # each is now waiting for work, holding nothing
            await asyncio.gather(*senders, return_exceptions=True)
            await self._results.join()
            for task in (recorder, heartbeat):
                task.cancel()
            await asyncio.gather(recorder, heartbeat, return_exceptions=True)
            await self.holdings.leave()
        return self.stats

    def _claim_size(self) -> int:
        """What the senders can start soon: a few seconds' worth at their recent pace."""
        s = self.settings
        horizon = min(HORIZON, s.lease.total_seconds() / 3)
        pace = self._pace.per_second()
        soon = 4 * s.concurrency if pace is None else math.ceil(pace * horizon)
        if s.rate > 0:
            soon = min(soon, math.ceil(s.rate * horizon))
        return max(1, min(s.batch_size, max(soon, s.concurrency)))

    def _refill_ahead(self, took: float) -> None:
        """Claim again while the queue still holds twice what the senders finish during
        a claim that takes as long as the last one: a claim on a server across the
        network, or busy, takes tens of milliseconds, and senders must not wait for it."""
        s = self.settings
        pace = self._pace.per_second() or 0.0
        ahead = math.ceil(2 * pace * took)
        self._low_water = max(s.concurrency, 1, min(ahead, self._claim_size() // 2))

    async def _claimer(
        self, stop: asyncio.Event, until_idle: bool, planning: asyncio.Event | None
    ) -> None:
        while not stop.is_set():
            stopped_for = self._stopped_until - time.monotonic()
            if stopped_for > 0:
                if until_idle:
                    return
                await _wait_any(stop, self.wakeup, min(stopped_for, 1.0))
                continue
            if self._queue.qsize() < self._low_water:
                now, started = self.clock(), time.monotonic()
                claims = await self.ledger.claim(
                    self.holdings.worker_id, now, self._claim_size(), now + self.settings.lease
                )
                self._refill_ahead(time.monotonic() - started)
                self.holdings.hold(claims)
                for claim in claims:
                    self._queue.put_nowait(claim)
                if claims:
                    continue
            if not self._queue.empty() or self._busy:
                # Work in flight: the senders wake us when the queue runs low.
                await _wait_any(stop, self._low, 1.0)
                self._low.clear()
                continue
            if planning is not None and not planning.is_set():
                await _wait_any(stop, self.wakeup, _PLANNING_POLL)
                self.wakeup.clear()
                continue
            next_due = await self.ledger.next_due()
            now = self.clock()
            if until_idle and (next_due is None or next_due > now):
                # Not done while a process that died still holds deliveries: they are
                # taken back once it has been silent long enough.
                next_due = await self.holdings.takeover_at()
                if next_due is None:
                    return
                if next_due <= now:
                    await self.holdings.beat()
                    continue
            wait = (
                1.0 if next_due is None else min(max((next_due - now).total_seconds(), 0.05), 1.0)
            )
            await _wait_any(stop, self.wakeup, wait)
            self.wakeup.clear()

    async def _sender(self) -> None:
        previous: asyncio.Task[None] | None = None  # this sender's last outcome, settling
        while True:
            claim = await self._queue.get()
            self._busy += 1
            if self._queue.qsize() < self._low_water:
                self._low.set()
            settling = None
            try:
                if self.holdings.start(claim):  # not taken over while it waited here
                    settling = await self._deliver(claim, previous)
            except Exception:  # the store failing, say: this sender must live on
                log.exception("delivery %d of %s", claim.id, claim.release_id)
                if self.holdings.holds(claim):  # not recorded: give it back for a later try
                    await self._give_back([claim])
            finally:
                self._queue.task_done()
                if settling is None:
                    self._done()
                else:
                    previous = settling

    def _done(self) -> None:
        """A claim taken by a sender is done with: recorded, given back or dropped."""
        self._busy -= 1
        if self._busy == 0 or self._queue.qsize() < self._low_water:
            self._low.set()  # the claimer may refill, or notice that all is done

    async def _deliver(
        self, claim: Claim, previous: asyncio.Task[None] | None
    ) -> asyncio.Task[None] | None:
        """Send the claim's message once ``previous`` is recorded; returns its own
        outcome's settling (recorded, counted), or None when there is nothing to record."""
        try:
            outcome = await self._attempt(claim, _after(previous))
        except TransportStopped as exc:
            if previous is not None:
                await asyncio.shield(previous)  # in order: what went out is recorded first
            await self._transport_stopped(exc, claim)
            return None
        now = self.clock()
        update = decide(
            claim,
            outcome,
            now,
            retry_initial=self.settings.retry_initial,
            retry_max=self.settings.retry_max,
            max_retry_age=self.settings.max_retry_age,
        )
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._results.put_nowait((update, done))
        task = asyncio.create_task(self._settle(claim, outcome, update, done))
        self._settling.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._settling.discard)
        return task

    async def _settle(
        self, claim: Claim, outcome: Outcome, update: Update, done: asyncio.Future[bool]
    ) -> None:
        """Once the outcome is recorded (or found taken over): count it, let the claim go."""
        try:
            await self._settled(claim, outcome, update, await done)
        except Exception:  # a count or a callback failing must not keep the claim busy
            log.exception("after delivery %d of %s", claim.id, claim.release_id)
        finally:
            self._done()

    async def _settled(
        self, claim: Claim, outcome: Outcome, update: Update, recorded: bool
    ) -> None:
        self.holdings.release([claim])
        self._pace.tick()
        if not recorded:
            log.warning(
                "delivery %d of %s was taken over by another process: its outcome (%s) "
                "is not recorded here",
                claim.id,
                claim.release_id,
                update.status,
            )
            return
        first = self.stats.add(claim.id, claim.release_id, update.status)
        if first and self.on_result is not None:
            self.on_result(claim.release_id, update.status)
        if outcome.status is Status.SENT and self._unproven:
            # The first message through proves the transport works: whatever stoppage
            # this process or an earlier one noted is over.
            self._unproven = False
            if self.problem is not None:
                log.info("the transport works again")
            self.problem = None
            await self._note_stoppage(None)

    async def _attempt(self, claim: Claim, ready: Ready | None) -> Outcome:
        sender, token = self.settings.sender, ""
        if self.settings.return_path is not None:
            # What comes back names the delivery (verp.py): in the envelope, and in a header.
            token = delivery_token(self.renderer.signer, claim.id)
            sender = self.settings.return_path.sender(token)
        try:
            prepared = await self._prepared(claim)
            message = prepared.personalise(
                Recipient(claim.address, claim.name),
                date=self.clock(),
                message_id=claim.message_id,
                delivery=token,
            )
        except PressDispatchError as exc:
            log.error("cannot render delivery %d of %s: %s", claim.id, claim.release_id, exc)
            return Outcome(Status.DEFERRED, reply=f"not rendered: {exc}")
        envelope = Envelope(sender, claim.address, message, claim.message_id, claim.release_id)
        try:
            return await self.transport.send(envelope, ready=ready)
        except TransportStopped:
            raise
        except Exception as exc:  # a transport bug must not lose the row: retry later
            log.exception("transport error for delivery %d of %s", claim.id, claim.release_id)
            return Outcome(Status.DEFERRED, reply=f"transport error: {exc!r}")

    async def _prepared(self, claim: Claim) -> PreparedMessage:
        """The claim's variant, rendered once: the release, or the notice of its withdrawal."""
        release = self._releases.get(claim.release_id)
        if release is None:
            release = self._releases[claim.release_id] = await self.snapshots.snapshot(
                claim.release_id
            )
        variant = Variant(claim.language, claim.tier)
        if claim.kind is Kind.RELEASE:
            return self.renderer.prepare(release, variant)
        withdrawal = self._withdrawals.get(claim.release_id)
        if withdrawal is None:
            found = await self.snapshots.withdrawal(claim.release_id)
            if found is None:  # a notice is queued only with its withdrawal: never here
                raise PressDispatchError(f"{claim.release_id} is not withdrawn")
            withdrawal = self._withdrawals[claim.release_id] = found
        return self.renderer.prepare_withdrawal(release, variant, withdrawal.at, withdrawal.reason)

    async def _transport_stopped(self, exc: TransportStopped, claim: Claim) -> None:
        """Nothing can go until the configuration is fixed: give everything back untried."""
        self._stopped_until = time.monotonic() + exc.retry_after
        self._unproven = True
        await self._give_back([claim, *self._drain()])
        self._low.set()
        if self.problem != str(exc):
            self.problem = str(exc)
            log.error("transport stopped: %s", exc)
            await self._note_stoppage(self.problem)

    async def _note_stoppage(self, message: str | None) -> None:
        try:
            await self.workers.note_stoppage(message, self.clock())
        except Exception:  # only status and the console miss it
            log.exception(
                "could not note that sending %s", "resumed" if message is None else "stopped"
            )

    def _drain(self) -> list[Claim]:
        """Take every claim still waiting in the queue out of it."""
        claims = []
        while not self._queue.empty():
            claim = self._queue.get_nowait()
            self._queue.task_done()
            if self.holdings.lost(claim):
                self.holdings.release([claim])
            else:
                claims.append(claim)
        return claims

    async def _give_back(self, claims: list[Claim]) -> None:
        try:
            await self.ledger.unclaim(claims)
        except Exception:  # they are sent again once their lease runs out
            log.exception("could not give back %d deliveries", len(claims))
        self.holdings.release(claims)

    async def _recorder(self) -> None:
        while True:
            batch = [await self._results.get()]
            while not self._results.empty() and len(batch) < 200:
                batch.append(self._results.get_nowait())
            lost: set[int] = set()
            for attempt in range(5):
                try:
                    lost = await self.ledger.record([update for update, _ in batch])
                    break
                except Exception:
                    # The rows stay "sending" and are retried after their lease: at-least-once.
                    log.exception("could not record %d outcomes (try %d)", len(batch), attempt + 1)
                    await asyncio.sleep(0.2 * 2**attempt)
            for update, done in batch:
                done.set_result(update.id not in lost)
                self._results.task_done()


class _Pace:
    """Messages finished per second, over the last ``span`` of them (None: too few yet)."""

    def __init__(self, span: int) -> None:
        self._times: deque[float] = deque(maxlen=max(span, 2))

    def tick(self) -> None:
        self._times.append(time.monotonic())

    def per_second(self) -> float | None:
        times = self._times
        if len(times) < 2 or time.monotonic() - times[-1] > HORIZON:
            return None
        elapsed = times[-1] - times[0]
        return (len(times) - 1) / elapsed if elapsed > 0 else None


def _after(previous: asyncio.Task[None] | None) -> Ready | None:
    """What the transport awaits before the message's data: ``previous`` settled. Shielded,
    so that a transport giving up (a timeout) never cancels the previous one's count."""
    if previous is None or previous.done():
        return None
    task = previous

    async def ready() -> None:
        await asyncio.shield(task)

    return ready


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
