"""The engine's ports in memory: a ledger, a registry of workers and release snapshots,
for tests that run the real engine without a database.

``MemoryStore`` keeps the same contract as the SQL store (store/ledger.py,
store/workers.py), and tests/test_store_contract.py holds both to it:

- a claim takes due deliveries (queued or deferred and due, or ``sending`` with an
  expired lease) of releases not cancelled (a withdrawal notice: of any release), to
  active journalists, by due time; each
  becomes ``sending`` under the claimer's id, a new token and the lease;
- an outcome is written only with the token its row was claimed with; a claim given
  back likewise, and only while ``sending``;
- a beat renews the leases of what the process holds, and frees at once the leases of
  processes silent since ``dead_before``.

Nothing here is shared between processes, and nothing is durable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pressdispatch.model import (
    WAITING,
    DeliveryStatus,
    Release,
    Source,
    Subscriber,
    SubscriberStatus,
    Tier,
)
from pressdispatch.store.journalists.record import Journalist
from pressdispatch.store.ports import (
    Beat,
    Claim,
    Kind,
    LedgerPort,
    PlanLedger,
    Planned,
    Snapshots,
    Update,
    Withdrawal,
    WorkersPort,
)

__all__ = ["Delivery", "MemoryLedger", "MemoryStore", "MemoryWorkers"]


@dataclass
class Delivery:
    """One row of the ledger, as the SQL table has it."""

    id: int
    release_id: str
    subscriber_id: int
    language: str
    tier: Tier
    message_id: str
    due_at: datetime
    status: DeliveryStatus = DeliveryStatus.QUEUED
    attempts: int = 0
    lease_until: datetime | None = None
    worker_id: str | None = None
    lease_token: str | None = None
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_code: int | None = None
    last_reply: str = ""
    kind: Kind = Kind.RELEASE


@dataclass
class _Worker:
    kind: str
    heartbeat_at: datetime


class MemoryStore(Snapshots):
    """Releases, journalists, deliveries and workers in dicts.

    ``ledger`` and ``workers`` are the engine's ``LedgerPort`` and ``WorkersPort``;
    the store itself is its ``Snapshots``.
    """

    def __init__(self) -> None:
        self.releases: dict[str, Release] = {}
        self.cancelled: set[str] = set()  # releases cancelled
        self.withdrawals: dict[str, Withdrawal] = {}
        self.journalists: dict[int, Journalist] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.processes: dict[str, _Worker] = {}
        self.stoppage: str | None = None  # why sending stopped, as last noted
        self.ledger = MemoryLedger(self)
        self.workers = MemoryWorkers(self)

    def add_release(self, release: Release) -> None:
        self.releases[release.id] = release

    def add_journalist(self, subscriber: Subscriber) -> int:
        """An active journalist; their id."""
        key = len(self.journalists) + 1
        self.journalists[key] = Journalist(key, subscriber, SubscriberStatus.ACTIVE, "", Source.CSV)
        return key

    def set_status(self, subscriber_id: int, status: SubscriberStatus, reason: str) -> None:
        """As ``Journalists.set_status``: an address no longer active gets nothing pending."""
        person = self.journalists[subscriber_id]
        self.journalists[subscriber_id] = dataclasses.replace(
            person, status=status, status_reason=reason
        )
        if status != SubscriberStatus.ACTIVE:
            for row in self.deliveries.values():
                if row.subscriber_id == subscriber_id and row.status in WAITING:
                    row.status = DeliveryStatus.CANCELLED
                    row.last_reply = f"subscriber {status}"

    async def snapshot(self, release_id: str) -> Release:
        await asyncio.sleep(0)
        return self.releases[release_id]

    async def withdrawal(self, release_id: str) -> Withdrawal | None:
        await asyncio.sleep(0)
        return self.withdrawals.get(release_id)

    def withdraw(self, release_id: str, at: datetime, reason: str) -> None:
        """As ``Catalog.withdraw`` with notices: stop the rest, one notice per journalist
        the release was sent to."""
        release = self.releases[release_id]
        titles = {lang: t.title for lang, t in release.translations.items()}
        self.withdrawals[release_id] = Withdrawal(release_id, at, reason, titles)
        self.cancelled.add(release_id)
        rows = [d for d in self.deliveries.values() if d.release_id == release_id]
        for row in rows:
            if row.kind is Kind.RELEASE and row.status in WAITING:
                row.status = DeliveryStatus.CANCELLED
        noticed = {row.subscriber_id for row in rows if row.kind is Kind.WITHDRAWAL}
        for row in rows:
            if row.status is DeliveryStatus.SENT and row.subscriber_id not in noticed:
                key = len(self.deliveries) + 1
                self.deliveries[key] = Delivery(
                    key,
                    release_id,
                    row.subscriber_id,
                    row.language,
                    row.tier,
                    f"<withdrawn.{row.message_id.strip('<>')}>",
                    due_at=at,
                    kind=Kind.WITHDRAWAL,
                )


class MemoryLedger(LedgerPort, PlanLedger):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def plan(self, release_id: str, rows: Sequence[Planned], now: datetime) -> int:
        """Queue deliveries; a journalist who already has one for this release is skipped."""
        await asyncio.sleep(0)
        deliveries = self.store.deliveries
        taken = {
            (d.release_id, d.subscriber_id) for d in deliveries.values() if d.kind is Kind.RELEASE
        }
        queued = 0
        for p in rows:
            if (release_id, p.subscriber_id) in taken:
                continue
            taken.add((release_id, p.subscriber_id))
            key = len(deliveries) + 1
            deliveries[key] = Delivery(
                key, release_id, p.subscriber_id, p.language, p.tier, p.message_id, due_at=now
            )
            queued += 1
        return queued

    async def claim(
        self, worker_id: str, now: datetime, limit: int, lease_until: datetime
    ) -> list[Claim]:
        await asyncio.sleep(0)
        store = self.store
        due = sorted(
            (
                row
                for row in store.deliveries.values()
                if self._due(row, now)
                and (row.release_id not in store.cancelled or row.kind is Kind.WITHDRAWAL)
                and store.journalists[row.subscriber_id].status is SubscriberStatus.ACTIVE
            ),
            key=lambda row: (row.due_at, row.id),
        )[:limit]
        token = secrets.token_hex(8)
        claims = []
        for row in sorted(due, key=lambda row: row.id):
            row.status = DeliveryStatus.SENDING
            row.worker_id, row.lease_token, row.lease_until = worker_id, token, lease_until
            row.attempts += 1
            row.last_attempt_at = now
            row.first_attempt_at = row.first_attempt_at or now
            person = store.journalists[row.subscriber_id].subscriber
            claims.append(
                Claim(
                    row.id,
                    row.release_id,
                    row.language,
                    row.tier,
                    row.message_id,
                    row.attempts,
                    row.first_attempt_at,
                    person.email,
                    person.name,
                    token,
                    row.kind,
                )
            )
        return claims

    async def record(self, updates: Sequence[Update]) -> set[int]:
        await asyncio.sleep(0)
        lost: set[int] = set()
        for u in updates:
            row = self.store.deliveries.get(u.id)
            if row is None or row.lease_token != u.token:
                lost.add(u.id)
                continue
            row.status = u.status
            row.last_code, row.last_reply = u.code, u.reply[:1000]
            row.lease_until = None
            if u.status is DeliveryStatus.SENT:
                row.sent_at = u.at
            if u.due_at is not None:
                row.due_at = u.due_at
            if u.bounce:
                self.store.set_status(row.subscriber_id, SubscriberStatus.BOUNCED, u.reply[:500])
        return lost

    async def unclaim(self, claims: Sequence[Claim]) -> None:
        await asyncio.sleep(0)
        for claim in claims:
            row = self.store.deliveries.get(claim.id)
            if row is None or row.lease_token != claim.token:
                continue
            if row.status is not DeliveryStatus.SENDING:
                continue
            tried_before = row.attempts > 1
            row.status = DeliveryStatus.DEFERRED if tried_before else DeliveryStatus.QUEUED
            row.attempts -= 1
            # Never tried: the retry age has not started either.
            row.first_attempt_at = row.first_attempt_at if tried_before else None
            row.lease_until = None

    async def next_due(self) -> datetime | None:
        await asyncio.sleep(0)
        live = self.store.processes
        times = [
            row.due_at if row.status in WAITING else row.lease_until
            for row in self.store.deliveries.values()
            if row.status in WAITING
            or (row.status is DeliveryStatus.SENDING and row.worker_id not in live)
        ]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def _due(self, row: Delivery, now: datetime) -> bool:
        if row.status in WAITING:
            return row.due_at <= now
        return (
            row.status is DeliveryStatus.SENDING
            and row.lease_until is not None
            and row.lease_until < now
        )


class MemoryWorkers(WorkersPort):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def join(self, kind: str, now: datetime) -> str:
        await asyncio.sleep(0)
        worker_id = secrets.token_hex(8)
        self.store.processes[worker_id] = _Worker(kind, now)
        return worker_id

    async def beat(
        self,
        worker_id: str,
        kind: str,
        now: datetime,
        lease_until: datetime,
        dead_before: datetime,
    ) -> Beat:
        await asyncio.sleep(0)
        processes = self.store.processes
        revived = worker_id not in processes
        if revived:  # others took it for dead (it was silent too long): back in
            processes[worker_id] = _Worker(kind, now)
        processes[worker_id].heartbeat_at = now
        renewed = 0
        for row in self._sending(lambda owner: owner == worker_id):
            row.lease_until = lease_until
            renewed += 1
        dead = {key for key, process in processes.items() if process.heartbeat_at < dead_before}
        for row in self._sending(lambda owner: owner in dead):
            row.lease_until = now
        for key in dead:
            del processes[key]
        return Beat(renewed, revived=revived)

    async def held(self, worker_id: str) -> set[int]:
        await asyncio.sleep(0)
        return {row.id for row in self._sending(lambda owner: owner == worker_id)}

    async def takeover_at(
        self, worker_id: str, silent_before: datetime, dead_after: timedelta
    ) -> datetime | None:
        await asyncio.sleep(0)
        holding = {row.worker_id for row in self._sending(lambda owner: True)}
        silent = [
            process.heartbeat_at
            for key, process in self.store.processes.items()
            if key != worker_id and process.heartbeat_at < silent_before and key in holding
        ]
        return min(silent) + dead_after if silent else None

    async def leave(self, worker_id: str) -> None:
        await asyncio.sleep(0)
        self.store.processes.pop(worker_id, None)

    async def note_stoppage(self, message: str | None, now: datetime) -> None:
        await asyncio.sleep(0)
        self.store.stoppage = message

    def _sending(self, owner: Callable[[str | None], bool]) -> Iterable[Delivery]:
        return [
            row
            for row in self.store.deliveries.values()
            if row.status is DeliveryStatus.SENDING and owner(row.worker_id)
        ]
