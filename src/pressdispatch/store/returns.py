"""What came back after sending, kept: one row per report and delivery, and its effects.

``record`` does everything a report causes in one transaction, so whoever handed
the report in (the inbound SMTP/LMTP endpoint, `bounces ingest`, the IMAP poller)
can say "done" only once it is committed: the event row (its key makes a report
read twice count once), the journalist's bounce record and status
(suppression.py), and the release's circuit breaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from pressdispatch.model import DeliveryStatus, SubscriberStatus
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.journalists.writes import set_status
from pressdispatch.store.ports import Kind
from pressdispatch.store.schema import deliveries, releases, returns, subscribers
from pressdispatch.suppression import Record, Rules, judge, tripped

__all__ = ["Event", "Recorded", "Returned", "Returns", "Target"]

MAX_RAW = 256 * 1024  # characters of a returned message kept: its headers and report parts
_AGAINST_JOURNALIST = frozenset({"hard", "soft", "complaint"})


@dataclass(frozen=True, slots=True)
class Target:
    """The delivery a report is about."""

    delivery_id: int
    release_id: str
    subscriber_id: int
    address: str  # lowercased


@dataclass(frozen=True, slots=True)
class Event:
    """One report about one delivery (or about none we know), as read."""

    key: str  # the report's Message-ID and the delivery, hashed: the same report counts once
    via: str  # smtp, lmtp, imap, ingest, console
    report_id: str
    target: Target | None
    address: str  # whom the report names, lowercased
    kind: str  # content/returns.py Kind's values, or "lifted"
    status_code: str = ""
    diagnostic: str = ""
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    action: str
    duplicate: bool = False  # read before: nothing done again
    paused: str | None = None  # the release paused by the circuit breaker: why


@dataclass(frozen=True, slots=True)
class Returned:
    """One row of `bounces list` and the console's page."""

    received_at: datetime
    address: str
    release_id: str | None
    kind: str
    status_code: str
    diagnostic: str
    action: str
    via: str
    has_message: bool
    id: int  # the row: its kept message is ``Returns.message(id)``


class Returns:
    def __init__(self, db: Database, rules: Rules | None = None) -> None:
        self.db = db
        self.rules = rules or Rules()

    async def delivery(self, delivery_id: int) -> Target | None:
        return await self._target(deliveries.c.id == delivery_id)

    async def by_message_id(self, message_id: str) -> Target | None:
        """The delivery of the release (not a withdrawal notice) with this Message-ID."""
        return await self._target(
            and_(deliveries.c.message_id == message_id.strip(), deliveries.c.kind == Kind.RELEASE)
        )

    async def _target(self, condition: Any) -> Target | None:
        query = (
            select(deliveries.c.id, deliveries.c.release_id, subscribers.c.id, subscribers.c.email)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(condition)
            .limit(1)
        )
        row = await self.db.read(lambda conn: conn.execute(query).first())
        return None if row is None else Target(int(row[0]), row[1], int(row[2]), row[3])

    async def record(self, event: Event, now: datetime) -> Recorded:
        """Keep ``event`` and do what it calls for, in one transaction."""
        event = replace(
            event,
            report_id=_clean(event.report_id),
            address=_clean(event.address),
            status_code=_clean(event.status_code),
            diagnostic=_clean(event.diagnostic),
            raw=None if event.raw is None else _clean(event.raw),
        )
        statement = (
            insert(returns, self.db.dialect)
            .values(
                key=event.key,
                received_at=now,
                via=event.via,
                report_id=event.report_id[:400],
                delivery_id=event.target.delivery_id if event.target else None,
                release_id=event.target.release_id if event.target else None,
                subscriber_id=event.target.subscriber_id if event.target else None,
                address=event.address[:320],
                kind=event.kind,
                status_code=event.status_code[:16],
                diagnostic=event.diagnostic[:2000],
                action="",
                raw=event.raw[:MAX_RAW] if event.raw is not None else None,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(returns.c.id)
        )

        def work(conn: Connection) -> Recorded:
            row_id = conn.execute(statement).scalar()
            if row_id is None:
                done = conn.scalar(select(returns.c.action).where(returns.c.key == event.key))
                return Recorded(f"read before: {done or 'nothing'}", duplicate=True)
            recorded = self._apply(conn, event, now)
            conn.execute(
                update(returns).where(returns.c.id == row_id).values(action=recorded.action)
            )
            return recorded

        return await self.db.transaction(work)

    def _apply(self, conn: Connection, event: Event, now: datetime) -> Recorded:
        target = event.target
        if target is None:
            if event.kind in _AGAINST_JOURNALIST:
                return Recorded("nothing: it names no delivery of ours")
            return Recorded("nothing")
        s = subscribers.c
        row = conn.execute(select(subscribers).where(s.id == target.subscriber_id)).one()
        before = Record(
            SubscriberStatus(row.status),
            row.bounce_count,
            row.bounce_score,
            row.hard_days,
            row.last_hard_at,
            row.last_soft_at,
            row.last_diagnostic,
        )
        accepted = event.kind == "hard" and _accepted_before(conn, target)
        after, action = judge(
            before, event.kind, event.diagnostic, now, self.rules, accepted_before=accepted
        )
        if after != before:
            conn.execute(
                update(subscribers)
                .where(s.id == target.subscriber_id)
                .values(
                    bounce_count=after.bounce_count,
                    bounce_score=after.bounce_score,
                    hard_days=after.hard_days,
                    last_hard_at=after.last_hard_at,
                    last_soft_at=after.last_soft_at,
                    last_diagnostic=after.last_diagnostic[:1000],
                    updated_at=now,
                )
            )
        if after.status is not before.status:
            reason = f"{action} ({event.diagnostic})" if event.diagnostic else action
            set_status(conn, target.address, after.status, reason[:500], now)
        paused = None
        if event.kind in ("hard", "complaint"):
            paused = _breaker(conn, target.release_id, self.rules, now)
        if paused is not None:
            action += f"; {target.release_id} paused: {paused}"
        return Recorded(action, paused=paused)

    async def lift(self, email: str, now: datetime, *, by: str) -> bool:
        """A press officer's decision: a bounced address is mailed again, its score cleared;
        kept in the list of returns. False unless the address was bounced."""
        s = subscribers.c

        def work(conn: Connection) -> bool:
            row = conn.execute(
                select(s.id).where(s.email == email.lower(), s.status == SubscriberStatus.BOUNCED)
            ).first()
            if row is None:
                return False
            set_status(conn, email.lower(), SubscriberStatus.ACTIVE, "", now)
            conn.execute(
                update(subscribers)
                .where(s.id == row.id)
                .values(bounce_score=0, hard_days=0, last_hard_at=None, last_soft_at=None)
            )
            conn.execute(
                returns.insert().values(
                    key=f"lift:{row.id}:{now.timestamp()}"[:64],
                    received_at=now,
                    via="console",
                    subscriber_id=row.id,
                    address=email.lower(),
                    kind="lifted",
                    action=f"bounced status lifted by {by}",
                )
            )
            return True

        return await self.db.transaction(work)

    async def resume(self, release_id: str) -> bool:
        """Lift the circuit breaker's pause (`pressdispatch send`); False if not paused."""
        r = releases.c
        statement = (
            update(releases)
            .where(r.id == release_id, r.paused_at.is_not(None))
            .values(paused_at=None, pause_reason="")
        )
        return await self.db.transaction(lambda conn: bool(conn.execute(statement).rowcount))

    async def listed(
        self,
        *,
        release_id: str | None = None,
        subscriber_id: int | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[Returned]:
        """The latest returns, newest first; of one release, or about one journalist."""
        r = returns.c
        query = select(
            r.received_at,
            r.address,
            r.release_id,
            r.kind,
            r.status_code,
            r.diagnostic,
            r.action,
            r.via,
            r.raw.is_not(None),
            r.id,
        )
        if release_id is not None:
            query = query.where(r.release_id == release_id)
        if subscriber_id is not None:
            query = query.where(r.subscriber_id == subscriber_id)
        if since is not None:
            query = query.where(r.received_at >= since)
        query = query.order_by(r.received_at.desc(), r.id.desc()).limit(limit)
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return [_returned(row) for row in rows]

    async def message(self, row_id: int) -> str | None:
        """The returned message kept with one row; None once forgotten (or never kept)."""
        query = select(returns.c.raw).where(returns.c.id == row_id)
        found: str | None = await self.db.read(lambda conn: conn.scalar(query))
        return found

    async def counts(self, release_id: str, since: datetime | None = None) -> dict[str, int]:
        """Deliveries of the release with a return of each kind (one per delivery and kind)."""
        r = returns.c
        query = select(r.kind, func.count(func.distinct(r.delivery_id))).where(
            r.release_id == release_id
        )
        if since is not None:
            query = query.where(r.received_at >= since)
        query = query.group_by(r.kind)
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return {kind: int(n) for kind, n in rows}

    async def alerts(self, since: datetime) -> tuple[int, Returned | None]:
        """Policy refusals since ``since`` (the sender's reputation, not the journalists'),
        and the latest one."""
        r = returns.c
        query = select(func.count()).where(r.kind == "policy", r.received_at >= since)
        found: int | None = await self.db.read(lambda conn: conn.scalar(query))
        count = found or 0
        if not count:
            return 0, None
        latest = [x for x in await self.listed(since=since, limit=200) if x.kind == "policy"]
        return count, latest[0] if latest else None

    async def forget_messages(self, before: datetime) -> int:
        """Empty the kept messages received before ``before``; how many."""
        statement = (
            update(returns)
            .where(returns.c.received_at < before, returns.c.raw.is_not(None))
            .values(raw=None)
        )
        return await self.db.transaction(lambda conn: int(conn.execute(statement).rowcount))

    async def pauses(self) -> Sequence[tuple[str, datetime, str]]:
        """Releases the circuit breaker holds: id, since when, why."""
        r = releases.c
        query = select(r.id, r.paused_at, r.pause_reason).where(r.paused_at.is_not(None))
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return [(row[0], row[1], row[2]) for row in rows]


def _clean(text: str) -> str:
    """``text`` as both stores can hold it: mail from strangers may carry NUL characters
    (PostgreSQL refuses them) and undecodable bytes (kept as lone surrogates)."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _returned(row: Any) -> Returned:
    return Returned(
        row.received_at,
        row.address,
        row.release_id,
        row.kind,
        row.status_code,
        row.diagnostic,
        row.action,
        row.via,
        has_message=bool(row[8]),
        id=int(row.id),
    )


def _accepted_before(conn: Connection, target: Target) -> bool:
    """Whether another delivery to the journalist went through without a hard bounce."""
    d = deliveries.c
    hard = select(returns.c.delivery_id).where(
        returns.c.kind == "hard", returns.c.delivery_id.is_not(None)
    )
    query = select(func.count()).where(
        d.subscriber_id == target.subscriber_id,
        d.status == DeliveryStatus.SENT,
        d.id != target.delivery_id,
        d.id.not_in(hard),
    )
    return bool(conn.scalar(query))


def _breaker(conn: Connection, release_id: str, rules: Rules, now: datetime) -> str | None:
    """Pause the release when its hard bounces or complaints pass the thresholds; why."""
    d, r = deliveries.c, returns.c
    sent = conn.scalar(
        select(func.count()).where(
            d.release_id == release_id, d.status == DeliveryStatus.SENT, d.kind == Kind.RELEASE
        )
    )
    found: dict[str, int] = dict(
        conn.execute(
            select(r.kind, func.count(func.distinct(r.delivery_id)))
            .where(r.release_id == release_id, r.kind.in_(("hard", "complaint")))
            .group_by(r.kind)
        ).all()
    )
    why = tripped(int(sent or 0), found.get("hard", 0), found.get("complaint", 0), rules)
    if why is None:
        return None
    paused = conn.execute(
        update(releases)
        .where(releases.c.id == release_id, releases.c.paused_at.is_(None))
        .values(paused_at=now, pause_reason=why)
    ).rowcount
    return why if paused else None
