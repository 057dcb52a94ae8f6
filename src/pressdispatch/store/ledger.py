"""The delivery ledger: one row per journalist per release, the truth about what was sent.

A row is claimed (``sending``, with its owner, a lease and a token) in a short
transaction that is committed before any message leaves; its outcome is
written as soon as the server answers, and only with the token it was claimed
with: a sender whose row was taken over records nothing. The owner renews its
leases while it holds rows (store/workers.py); a row left ``sending`` past its
lease, or held by a process that stopped beating, is claimed again:
at-least-once, never lost.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select, update

from pressdispatch.model import WAITING, DeliveryStatus, SubscriberStatus, Tier
from pressdispatch.store import pgledger
from pressdispatch.store.codec import storable
from pressdispatch.store.db import Database
from pressdispatch.store.journalists.writes import set_status
from pressdispatch.store.ports import Claim, Kind, Planned, Update
from pressdispatch.store.schema import (
    UtcDateTime,
    deliveries,
    releases,
    sqlite_time,
    subscribers,
    workers,
)

__all__ = ["Delivery", "DeliveryGroup", "Entry", "Ledger"]


@dataclass(frozen=True, slots=True)
class DeliveryGroup:
    """The deliveries of one release in one status, language and tier: ``counts``' key."""

    release_id: str
    status: DeliveryStatus
    language: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery as `status` and the console show it: where it stands, its last attempt."""

    release_id: str
    address: str  # the journalist's, as written
    language: str
    tier: Tier
    status: DeliveryStatus
    attempts: int
    last_code: int | None
    last_reply: str
    last_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One journalist's line in a release's ledger, as `plan` lists it."""

    address: str  # as written
    name: str
    outlet: str
    language: str
    tier: Tier
    status: DeliveryStatus
    sent_at: datetime | None


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def plan(self, release_id: str, rows: Sequence[Planned], now: datetime) -> int:
        """Queue deliveries; a journalist who already has one for this release is skipped."""
        if not rows:
            return 0
        sqlite = self.db.dialect == "sqlite"
        if not sqlite:  # one round trip: store/pgledger.py
            params = pgledger.plan_params(release_id, rows, now)
            return int((await self.db.statement(pgledger.PLAN, params))[0][0])
        at: Any = sqlite_time(now) if sqlite else now.astimezone(UTC).replace(tzinfo=None)
        kind, queued = Kind.RELEASE.value, DeliveryStatus.QUEUED.value
        values = [
            (
                release_id,
                p.subscriber_id,
                p.language,
                p.tier.value,
                kind,
                p.message_id,
                queued,
                at,
                at,
            )
            for p in rows
        ]
        # Thousands of rows a call: straight to the driver's executemany, which sums the
        # rows inserted (a conflict inserts none). Through SQLAlchemy, binding each row's
        # times cost more than inserting it. On the worker thread (``long``): the planner
        # matches the next journalists meanwhile.
        return await self.db.transaction(
            lambda conn: int(conn.exec_driver_sql(_PLAN_SQLITE, values).rowcount), long=True
        )

    async def claim(
        self, worker_id: str, now: datetime, limit: int, lease_until: datetime
    ) -> list[Claim]:
        """Take up to ``limit`` due deliveries for ``worker_id``, committed before returning."""
        token = secrets.token_hex(8)
        if self.db.dialect == "postgresql":  # one round trip: store/pgledger.py
            params = pgledger.claim_params(worker_id, now, limit, lease_until, token)
            return pgledger.claims(await self.db.statement(pgledger.CLAIM, params), token)
        marks = {"now": now, "lease_until": lease_until, "worker_id": worker_id, "token": token}

        def work(conn: Connection) -> list[Claim]:
            ids = list(conn.scalars(_PICK, {"now": now, "limit": limit}).all())
            if not ids:
                return []
            conn.execute(_MARK_SENDING, {"ids": ids, **marks})
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
                    token,
                    Kind(row.kind),
                )
                for row in conn.execute(_CLAIMED, {"ids": ids})
            ]

        return await self.db.transaction(work)

    async def record(self, updates: Sequence[Update]) -> set[int]:
        """Write outcomes in one transaction; returns the ids *not* written.

        An outcome is written only while its row still carries the token it was
        claimed with. A row another process took over (this one was thought
        dead) keeps what that process records.
        """
        if not updates:
            return set()
        if self.db.dialect == "postgresql" and not any(u.bounce for u in updates):
            # The hottest statement (once per message): one round trip, see pgledger.py.
            rows = await self.db.statement(pgledger.RECORD, pgledger.record_params(updates))
            written = {row[0] for row in rows}
            return {u.id for u in updates if u.id not in written}
        if self.db.dialect == "sqlite" and not any(u.bounce for u in updates):
            # The hottest statement (once per message): straight to the driver.
            values = [_sqlite_record(u) for u in updates]

            def fast(raw: sqlite3.Connection) -> set[int]:
                written = raw.executemany(_RECORD_SQLITE, values).rowcount
                return set() if written == len(values) else _fenced(raw, updates)

            return await self.db.driver_transaction(fast)

        outcomes = [
            {
                "u_id": u.id,
                "u_token": u.token,
                "u_status": u.status,
                "u_code": u.code,
                "u_reply": u.reply[:1000],
                "u_sent_at": u.at if u.status is DeliveryStatus.SENT else None,
                "u_due_at": u.due_at,
            }
            for u in updates
        ]

        def work(conn: Connection) -> set[int]:
            written = conn.execute(_RECORD, outcomes).rowcount  # one statement for every outcome
            lost = set() if written == len(outcomes) else _fenced(conn, updates)
            for u in updates:
                if u.bounce and u.id not in lost:
                    address = conn.scalar(_EMAIL_OF, {"id": u.id})
                    if address is not None:
                        set_status(conn, address, SubscriberStatus.BOUNCED, u.reply[:500], u.at)
            return lost

        return await self.db.transaction(work)

    async def unclaim(self, claims: Sequence[Claim]) -> None:
        """Give back claimed rows that were never tried (shutting down, transport stopped)."""
        if not claims:
            return
        d = deliveries.c
        statement = (
            update(deliveries)
            .where(
                d.id == bindparam("c_id"),
                d.lease_token == bindparam("c_token"),
                d.status == DeliveryStatus.SENDING,
            )
            .values(
                status=case(
                    (d.attempts > 1, DeliveryStatus.DEFERRED.value),
                    else_=DeliveryStatus.QUEUED.value,
                ),
                attempts=d.attempts - 1,
                # Never tried: the retry age (smtp.max_retry_age) has not started either.
                first_attempt_at=case((d.attempts > 1, d.first_attempt_at), else_=None),
                lease_until=None,
            )
        )
        rows = [{"c_id": c.id, "c_token": c.token} for c in claims]
        await self.db.transaction(lambda conn: conn.execute(statement, rows))

    async def retry(self, release_id: str, now: datetime) -> int:
        """Failed and deferred deliveries of a release back to the queue, due now (of a
        withdrawn release, its withdrawal notices only: the release is not sent again)."""
        d = deliveries.c
        withdrawn = select(releases.c.id).where(releases.c.withdrawn_at.is_not(None))
        statement = (
            update(deliveries)
            .where(
                d.release_id == release_id,
                d.status.in_(_RETRIED),
                or_(d.kind == Kind.WITHDRAWAL, d.release_id.not_in(withdrawn)),
                # a bounced or unsubscribed address is never mailed again, retry or not
                d.subscriber_id.in_(
                    select(subscribers.c.id).where(subscribers.c.status == SubscriberStatus.ACTIVE)
                ),
            )
            .values(status=DeliveryStatus.QUEUED, due_at=now, first_attempt_at=None)
        )
        # A release may have tens of thousands of deliveries to retry: off the event loop.
        return await self.db.transaction(
            lambda conn: int(conn.execute(statement).rowcount), long=True
        )

    async def next_due(self) -> datetime | None:
        """When the earliest queued/deferred delivery, or lease no live process renews, is due."""
        d = deliveries.c
        paused = select(releases.c.id).where(releases.c.paused_at.is_not(None))
        pending = (
            select(func.min(d.due_at))
            .where(
                d.status.in_(WAITING), or_(d.release_id.not_in(paused), d.kind == Kind.WITHDRAWAL)
            )
            .scalar_subquery()
        )
        unowned = or_(d.worker_id.is_(None), d.worker_id.not_in(select(workers.c.id)))
        leased = (
            select(func.min(d.lease_until))
            .where(d.status == DeliveryStatus.SENDING, unowned)
            .scalar_subquery()
        )
        row = await self.db.read(lambda conn: conn.execute(select(pending, leased)).one())
        found = [t for t in row if t is not None]
        return min(found) if found else None

    async def last_errors(self, release_id: str, limit: int = 5) -> list[Delivery]:
        """The latest failed or deferred deliveries of a release, newest first."""
        d = deliveries.c
        query = (
            _DELIVERIES.where(d.release_id == release_id, d.status.in_(_RETRIED), _RELEASE)
            .order_by(d.last_attempt_at.desc(), d.id.desc())
            .limit(limit)
        )
        return await self.db.read(lambda conn: [_delivery(row) for row in conn.execute(query)])

    async def deliveries_to(self, email: str, limit: int = 200) -> list[Delivery]:
        """A journalist's latest deliveries (address in any case), newest first."""
        if not storable(email):
            return []  # no stored address holds such a character
        d = deliveries.c
        query = (
            _DELIVERIES.where(subscribers.c.email == email.lower(), _RELEASE)
            .order_by(d.created_at.desc(), d.id.desc())
            .limit(limit)
        )
        return await self.db.read(lambda conn: [_delivery(row) for row in conn.execute(query)])

    async def entries(self, release_id: str, chunk: int = 5000) -> AsyncIterator[list[Entry]]:
        """Every delivery of a release with its journalist, a chunk at a time."""
        d, s = deliveries.c, subscribers.c
        query = (
            select(d.id, s.address, s.name, s.outlet, d.language, d.tier, d.status, d.sent_at)
            .join(subscribers, s.id == d.subscriber_id)
            .where(d.release_id == release_id, _RELEASE)
            .order_by(d.id)
            .limit(chunk)
        )
        after = 0
        while True:

            def page(conn: Connection, after: int = after) -> Sequence[Any]:
                return conn.execute(query.where(d.id > after)).all()

            rows = await self.db.read(page)
            if not rows:
                return
            after = rows[-1].id
            yield [
                Entry(
                    r.address,
                    r.name,
                    r.outlet,
                    r.language,
                    Tier(r.tier),
                    DeliveryStatus(r.status),
                    r.sent_at,
                )
                for r in rows
            ]

    async def notices(self, release_id: str) -> dict[DeliveryStatus, int]:
        """How many withdrawal notices of a release are in each status."""
        d = deliveries.c
        query = (
            select(d.status, func.count())
            .where(d.release_id == release_id, d.kind == Kind.WITHDRAWAL)
            .group_by(d.status)
        )
        return await self.db.read(
            lambda conn: {DeliveryStatus(r[0]): int(r[1]) for r in conn.execute(query)}
        )

    async def counts(self, release_id: str | None = None) -> dict[DeliveryGroup, int]:
        """How many deliveries each release has in each status, language and tier."""
        d = deliveries.c
        query = (
            select(d.release_id, d.status, d.language, d.tier, func.count())
            .where(_RELEASE)
            .group_by(d.release_id, d.status, d.language, d.tier)
        )
        if release_id is not None:
            query = query.where(d.release_id == release_id)
        return await self.db.read(
            lambda conn: {
                DeliveryGroup(r[0], DeliveryStatus(r[1]), r[2], Tier(r[3])): int(r[4])
                for r in conn.execute(query)
            }
        )


_RETRIED = (DeliveryStatus.FAILED, DeliveryStatus.DEFERRED)  # what `retry` queues again
# What `status`, `plan` and the console count: the release's own copies, not the
# withdrawal notices (``notices`` counts those).
_RELEASE = deliveries.c.kind == Kind.RELEASE
_DELIVERIES = select(
    deliveries.c.release_id,
    subscribers.c.address,
    deliveries.c.language,
    deliveries.c.tier,
    deliveries.c.status,
    deliveries.c.attempts,
    deliveries.c.last_code,
    deliveries.c.last_reply,
    deliveries.c.last_attempt_at,
    deliveries.c.sent_at,
).join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        **{**row._mapping, "tier": Tier(row.tier), "status": DeliveryStatus(row.status)}
    )


# The engine's statements, built once: building and caching a statement costs more
# than running it, and these run for every batch.
_d = deliveries.c
_PICK = (
    select(_d.id)
    .join(releases, releases.c.id == _d.release_id)
    .join(subscribers, subscribers.c.id == _d.subscriber_id)
    .where(
        or_(
            and_(_d.status.in_(WAITING), _d.due_at <= bindparam("now", type_=UtcDateTime)),
            and_(
                _d.status == DeliveryStatus.SENDING,
                _d.lease_until < bindparam("now", type_=UtcDateTime),
            ),
        ),
        # A withdrawn release is cancelled too, but its notices still go; a paused one
        # (the circuit breaker: store/returns.py) waits for `pressdispatch send`.
        or_(
            and_(releases.c.cancelled_at.is_(None), releases.c.paused_at.is_(None)),
            _d.kind == Kind.WITHDRAWAL,
        ),
        subscribers.c.status == SubscriberStatus.ACTIVE,
    )
    .order_by(_d.due_at, _d.id)
    .limit(bindparam("limit"))
)
_MARK_SENDING = (
    update(deliveries)
    .where(_d.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=DeliveryStatus.SENDING,
        worker_id=bindparam("worker_id"),
        lease_token=bindparam("token"),
        lease_until=bindparam("lease_until", type_=UtcDateTime),
        attempts=_d.attempts + 1,
        last_attempt_at=bindparam("now", type_=UtcDateTime),
        first_attempt_at=func.coalesce(_d.first_attempt_at, bindparam("now", type_=UtcDateTime)),
    )
)
_CLAIMED = (
    select(
        _d.id,
        _d.release_id,
        _d.language,
        _d.tier,
        _d.message_id,
        _d.attempts,
        _d.first_attempt_at,
        subscribers.c.address,
        subscribers.c.name,
        _d.kind,
    )
    .join(subscribers, subscribers.c.id == _d.subscriber_id)
    .where(_d.id.in_(bindparam("ids", expanding=True)))
    .order_by(_d.id)
)
_RECORD = (
    update(deliveries)
    .where(_d.id == bindparam("u_id"), _d.lease_token == bindparam("u_token"))
    .values(
        status=bindparam("u_status"),
        last_code=bindparam("u_code"),
        last_reply=bindparam("u_reply"),
        lease_until=None,
        sent_at=func.coalesce(bindparam("u_sent_at", type_=UtcDateTime), _d.sent_at),
        due_at=func.coalesce(bindparam("u_due_at", type_=UtcDateTime), _d.due_at),
    )
)
_PLAN = (
    "INSERT INTO deliveries (release_id, subscriber_id, language, tier, kind, message_id,"
    " status, attempts, due_at, created_at, last_reply) VALUES ({0}, {0}, {0}, {0}, {0}, {0},"
    " {0}, 0, {0}, {0}, '') ON CONFLICT (release_id, subscriber_id, kind) DO NOTHING"
)
_PLAN_SQLITE = _PLAN.format("?")
_RECORD_SQLITE = (
    "UPDATE deliveries SET status = ?, last_code = ?, last_reply = ?, lease_until = NULL,"
    " sent_at = coalesce(?, sent_at), due_at = coalesce(?, due_at)"
    " WHERE id = ? AND lease_token = ?"
)


def _sqlite_record(u: Update) -> tuple[Any, ...]:
    """``_RECORD_SQLITE``'s parameters for one outcome, as ``_RECORD`` would bind them."""
    return (
        u.status.value,
        u.code,
        u.reply[:1000],
        sqlite_time(u.at if u.status is DeliveryStatus.SENT else None),
        sqlite_time(u.due_at),
        u.id,
        u.token,
    )


def _fenced(conn: Connection | sqlite3.Connection, updates: Sequence[Update]) -> set[int]:
    """Which of ``updates`` found their row claimed again under another token."""
    ids = [u.id for u in updates]
    found: Sequence[Any]
    if isinstance(conn, sqlite3.Connection):
        marks = ",".join("?" * len(ids))
        found = conn.execute(
            f"SELECT id, lease_token FROM deliveries WHERE id IN ({marks})",  # noqa: S608
            ids,
        ).fetchall()
    else:
        found = conn.execute(select(_d.id, _d.lease_token).where(_d.id.in_(ids))).all()
    tokens = {row[0]: row[1] for row in found}
    return {u.id for u in updates if tokens.get(u.id) != u.token}


_EMAIL_OF = (
    select(subscribers.c.email)
    .join(deliveries, _d.subscriber_id == subscribers.c.id)
    .where(_d.id == bindparam("id"))
)
