"""The delivery ledger: one row per journalist per release, the truth about what was sent.

A row is claimed (``sending`` with a lease) in a short transaction that is
committed before any message leaves; its outcome is written as soon as the
server answers. A row left ``sending`` past its lease (a killed process) is
claimed again: at-least-once, never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from pressdispatch.model import Tier
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.directory import ACTIVE, BOUNCED, set_status
from pressdispatch.store.schema import (
    STATUSES,
    WAITING,
    UtcDateTime,
    deliveries,
    releases,
    subscribers,
)

__all__ = ["STATUSES", "Claim", "Ledger", "Planned", "Update"]


@dataclass(frozen=True, slots=True)
class Planned:
    subscriber_id: int
    language: str
    tier: Tier
    message_id: str


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    release_id: str
    language: str
    tier: Tier
    message_id: str
    attempts: int  # including this one
    first_attempt_at: datetime
    address: str
    name: str


@dataclass(frozen=True, slots=True)
class Update:
    """What the engine decided after one attempt."""

    id: int
    status: str  # sent, deferred, failed
    code: int | None
    reply: str
    at: datetime
    due_at: datetime | None = None  # for deferred
    bounce: bool = False


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def plan(self, release_id: str, rows: Sequence[Planned], now: datetime) -> int:
        """Queue deliveries; a journalist who already has one for this release is skipped."""
        if not rows:
            return 0
        values = [
            {
                "release_id": release_id,
                "subscriber_id": p.subscriber_id,
                "language": p.language,
                "tier": p.tier.value,
                "message_id": p.message_id,
                "status": "queued",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
                "last_reply": "",
            }
            for p in rows
        ]
        # One multi-row INSERT with RETURNING: drivers disagree on executemany's rowcount.
        statement = (
            insert(deliveries, self.db.dialect)
            .values(values)
            .on_conflict_do_nothing(index_elements=["release_id", "subscriber_id"])
            .returning(deliveries.c.id)
        )
        async with self.db.engine.begin() as conn:
            result = await conn.execute(statement)
            return len(result.all())

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[Claim]:
        """Take up to ``limit`` due deliveries for this worker, committed before returning."""
        d = deliveries.c
        due = or_(
            and_(d.status.in_(WAITING), d.due_at <= now),
            and_(d.status == "sending", d.lease_until < now),
        )
        pick = (
            select(d.id)
            .join(releases, releases.c.id == d.release_id)
            .join(subscribers, subscribers.c.id == d.subscriber_id)
            .where(due, releases.c.cancelled_at.is_(None), subscribers.c.status == ACTIVE)
            .order_by(d.due_at, d.id)
            .limit(limit)
        )
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(of=deliveries, skip_locked=True)
        async with self.db.engine.begin() as conn:
            ids = list((await conn.scalars(pick)).all())
            if not ids:
                return []
            await conn.execute(
                update(deliveries)
                .where(d.id.in_(ids))
                .values(
                    status="sending",
                    lease_until=lease_until,
                    attempts=d.attempts + 1,
                    last_attempt_at=now,
                    first_attempt_at=func.coalesce(d.first_attempt_at, now),
                )
            )
            rows = await conn.execute(
                select(
                    d.id,
                    d.release_id,
                    d.language,
                    d.tier,
                    d.message_id,
                    d.attempts,
                    d.first_attempt_at,
                    subscribers.c.address,
                    subscribers.c.name,
                )
                .join(subscribers, subscribers.c.id == d.subscriber_id)
                .where(d.id.in_(ids))
                .order_by(d.id)
            )
            return [
                Claim(
                    row.id,
                    row.release_id,
                    row.language,
                    Tier(row.tier),
                    row.message_id,
                    row.attempts,
                    row.first_attempt_at,
                    row.address,
                    row.name,
                )
                for row in rows
            ]

    async def record(self, updates: Sequence[Update]) -> None:
        """Write outcomes in one transaction. A row already ``sent`` is never downgraded."""
        if not updates:
            return
        d = deliveries.c
        statement = (
            update(deliveries)
            .where(d.id == bindparam("u_id"), d.status != "sent")
            .values(
                status=bindparam("u_status"),
                last_code=bindparam("u_code"),
                last_reply=bindparam("u_reply"),
                lease_until=None,
                sent_at=func.coalesce(bindparam("u_sent_at", type_=UtcDateTime), d.sent_at),
                due_at=func.coalesce(bindparam("u_due_at", type_=UtcDateTime), d.due_at),
            )
        )
        rows = [
            {
                "u_id": u.id,
                "u_status": u.status,
                "u_code": u.code,
                "u_reply": u.reply[:1000],
                "u_sent_at": u.at if u.status == "sent" else None,
                "u_due_at": u.due_at,
            }
            for u in updates
        ]
        async with self.db.engine.begin() as conn:
            await conn.execute(statement, rows)  # one statement, run for every outcome
            for u in updates:
                if u.bounce:
                    email = (
                        select(subscribers.c.email)
                        .join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
                        .where(d.id == u.id)
                    )
                    address = await conn.scalar(email)
                    if address is not None:
                        await set_status(conn, address, BOUNCED, u.reply[:500], u.at)

    async def unclaim(self, ids: Sequence[int]) -> None:
        """Give back claimed rows that were never tried (shutting down)."""
        if not ids:
            return
        d = deliveries.c
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(d.id.in_(ids), d.status == "sending")
                .values(
                    status=case((d.attempts > 1, "deferred"), else_="queued"),
                    attempts=d.attempts - 1,
                    lease_until=None,
                )
            )

    async def retry(self, release_id: str, now: datetime) -> int:
        """Failed and deferred deliveries of a release back to the queue, due now."""
        d = deliveries.c
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    d.release_id == release_id,
                    d.status.in_(("failed", "deferred")),
                    # a bounced or unsubscribed address is never mailed again, retry or not
                    d.subscriber_id.in_(
                        select(subscribers.c.id).where(subscribers.c.status == ACTIVE)
                    ),
                )
                .values(status="queued", due_at=now, first_attempt_at=None)
            )
        return int(result.rowcount)

    async def next_due(self) -> datetime | None:
        """When the earliest queued/deferred delivery or expiring lease comes due."""
        d = deliveries.c
        async with self.db.engine.connect() as conn:
            pending = await conn.scalar(select(func.min(d.due_at)).where(d.status.in_(WAITING)))
            leased = await conn.scalar(select(func.min(d.lease_until)).where(d.status == "sending"))
        found = [t for t in (pending, leased) if t is not None]
        return min(found) if found else None

    async def last_errors(self, release_id: str, limit: int = 5) -> list[dict[str, Any]]:
        """The latest failed or deferred deliveries of a release, newest first."""
        d = deliveries.c
        query = (
            select(
                subscribers.c.address,
                d.status,
                d.attempts,
                d.last_code,
                d.last_reply,
                d.last_attempt_at,
            )
            .join(subscribers, subscribers.c.id == d.subscriber_id)
            .where(d.release_id == release_id, d.status.in_(("failed", "deferred")))
            .order_by(d.last_attempt_at.desc(), d.id.desc())
            .limit(limit)
        )
        async with self.db.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def counts(self, release_id: str | None = None) -> dict[tuple[str, str, str, str], int]:
        """(release, status, language, tier) → count."""
        d = deliveries.c
        query = select(d.release_id, d.status, d.language, d.tier, func.count()).group_by(
            d.release_id, d.status, d.language, d.tier
        )
        if release_id is not None:
            query = query.where(d.release_id == release_id)
        async with self.db.engine.connect() as conn:
            return {(r[0], r[1], r[2], r[3]): int(r[4]) for r in await conn.execute(query)}
