"""The distribution report's figures and its bookkeeping: which reports are due, who
sends each, which went.

The figures are counted by the database (GROUP BY), never by loading a release's
deliveries: a release may have tens of thousands. A report is claimed before it is
sent (``claim``: one process wins, the others see it taken) and marked sent only
once the transport took it (``mark_sent``): a process that dies in between leaves a
claim that expires, and the report goes at the next scan.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select, update

from pressdispatch.model import UNFINISHED, DeliveryStatus, Tier
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.ports import Kind
from pressdispatch.store.schema import deliveries, releases, reports, subscribers

__all__ = ["Claim", "Due", "Edition", "Group", "Reports", "TierFigures"]


class Edition(StrEnum):
    REPORT = "report"  # when the tier finished
    FOLLOW_UP = "follow_up"  # [reports] follow_up after the report: what came back since


@dataclass(frozen=True, slots=True)
class Group:
    """The deliveries of one tier in one status and language, to journalists following
    ``regions`` (space-separated slugs as stored; empty: every region)."""

    status: DeliveryStatus
    language: str
    regions: str
    count: int


@dataclass(frozen=True, slots=True)
class TierFigures:
    groups: Sequence[Group]
    last_at: datetime | None  # the latest sending or attempt


@dataclass(frozen=True, slots=True)
class Due:
    release_id: str
    tier: Tier
    edition: Edition
    reported_at: datetime | None  # the first report's, for a follow-up: returns since then


@dataclass(frozen=True, slots=True)
class Claim:
    release_id: str
    tier: Tier
    edition: Edition
    token: str


_STARTED = {
    Tier.EMBARGOED: releases.c.embargo_started_at,
    Tier.PUBLIC: releases.c.public_started_at,
}


class Reports:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def figures(self, release_id: str, tier: Tier) -> TierFigures:
        """The tier's deliveries counted by status, language and the journalists' regions."""
        d, s = deliveries.c, subscribers.c
        mine = and_(d.release_id == release_id, d.tier == tier.value, d.kind == Kind.RELEASE)
        grouped = (
            select(d.status, d.language, s.regions, func.count())
            .join(subscribers, s.id == d.subscriber_id)
            .where(mine)
            .group_by(d.status, d.language, s.regions)
        )
        latest = select(func.max(func.coalesce(d.sent_at, d.last_attempt_at))).where(mine)

        def work(conn: Connection) -> TierFigures:
            groups = [
                Group(DeliveryStatus(row[0]), row[1], row[2], int(row[3]))
                for row in conn.execute(grouped)
            ]
            return TierFigures(groups, conn.scalar(latest))

        return await self.db.read(work)

    async def due(self, now: datetime, follow_up: timedelta) -> list[Due]:
        """Reports to send now: tiers that started and have nothing left to send, not yet
        reported; follow-ups of reports sent ``follow_up`` ago or more."""

        def sent(tier: Any, edition: Edition) -> Any:
            r = reports.c
            return exists().where(
                r.release_id == releases.c.id,
                r.tier == tier,
                r.kind == edition.value,
                r.sent_at.is_not(None),
            )

        d = deliveries.c
        firsts = []
        for tier, started in _STARTED.items():
            unfinished = exists().where(
                d.release_id == releases.c.id,
                d.tier == tier.value,
                d.kind == Kind.RELEASE,
                d.status.in_(UNFINISHED),
            )
            firsts.append(
                select(releases.c.id).where(
                    started.is_not(None), ~sent(tier.value, Edition.REPORT), ~unfinished
                )
            )
        r = reports.c
        later = reports.alias("later")
        follow_ups = select(r.release_id, r.tier, r.sent_at).where(
            r.kind == Edition.REPORT.value,
            r.sent_at <= now - follow_up,
            ~exists().where(
                later.c.release_id == r.release_id,
                later.c.tier == r.tier,
                later.c.kind == Edition.FOLLOW_UP.value,
                later.c.sent_at.is_not(None),
            ),
        )

        def work(conn: Connection) -> list[Due]:
            found = [
                Due(release_id, tier, Edition.REPORT, None)
                for tier, query in zip(_STARTED, firsts, strict=True)
                for release_id in conn.scalars(query.order_by(releases.c.id))
            ]
            found += [
                Due(row[0], Tier(row[1]), Edition.FOLLOW_UP, row[2])
                for row in conn.execute(follow_ups.order_by(r.release_id, r.tier))
            ]
            return found

        return await self.db.read(work)

    async def claim(self, due: Due, now: datetime, lease: timedelta) -> Claim | None:
        """Take ``due`` for this process until ``now + lease``; None when another process
        holds it or it went already."""
        key = {"release_id": due.release_id, "tier": due.tier.value, "kind": due.edition.value}
        token = secrets.token_hex(8)
        r = reports.c
        add = insert(reports, self.db.dialect).values(**key).on_conflict_do_nothing()
        take = (
            update(reports)
            .where(
                *_row(due.release_id, due.tier, due.edition),
                r.sent_at.is_(None),
                or_(r.claimed_until.is_(None), r.claimed_until < now),
            )
            .values(claimed_until=now + lease, claim_token=token)
        )

        def work(conn: Connection) -> bool:
            conn.execute(add)
            return bool(conn.execute(take).rowcount)

        taken = await self.db.transaction(work)
        return Claim(due.release_id, due.tier, due.edition, token) if taken else None

    async def pass_over(self, claim: Claim, now: datetime) -> None:
        """No report goes for this tier (nobody to send it to): neither now nor later,
        its follow-up included."""
        r = reports.c
        key = {"release_id": claim.release_id, "tier": claim.tier.value}
        add = (
            insert(reports, self.db.dialect)
            .values(**key, kind=Edition.FOLLOW_UP.value)
            .on_conflict_do_nothing()
        )
        settle = (
            update(reports)
            .where(r.release_id == claim.release_id, r.tier == claim.tier.value)
            .where(r.sent_at.is_(None))
            .values(sent_at=now, claimed_until=None)
        )

        def work(conn: Connection) -> None:
            conn.execute(add)
            conn.execute(settle)

        await self.db.transaction(work)

    async def mark_sent(self, claim: Claim, now: datetime) -> bool:
        """The transport took the report: it never goes again. False if the claim was lost."""
        statement = (
            update(reports)
            .where(*_row(claim.release_id, claim.tier, claim.edition), _held(claim))
            .values(sent_at=now, claimed_until=None)
        )
        return await self.db.transaction(lambda conn: bool(conn.execute(statement).rowcount))

    async def retry_at(self, claim: Claim, when: datetime) -> None:
        """The report did not go: try again from ``when``."""
        statement = (
            update(reports)
            .where(*_row(claim.release_id, claim.tier, claim.edition), _held(claim))
            .values(claimed_until=when)
        )
        await self.db.transaction(lambda conn: conn.execute(statement))

    async def sent_at(self, release_id: str, tier: Tier, edition: Edition) -> datetime | None:
        query = select(reports.c.sent_at).where(*_row(release_id, tier, edition))
        found: datetime | None = await self.db.read(lambda conn: conn.scalar(query))
        return found


def _row(release_id: str, tier: Tier, edition: Edition) -> tuple[Any, ...]:
    r = reports.c
    return (r.release_id == release_id, r.tier == tier.value, r.kind == edition.value)


def _held(claim: Claim) -> Any:
    return and_(reports.c.claim_token == claim.token, reports.c.sent_at.is_(None))
