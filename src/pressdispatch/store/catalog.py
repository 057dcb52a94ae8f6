"""Releases in the store: synced from the files, frozen when their dispatch starts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select, update

from pressdispatch.model import WAITING, DeliveryStatus, Release, ReleaseStatus, Tier
from pressdispatch.store import search
from pressdispatch.store.codec import digest, release_from_json, release_to_json, storable
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.ports import Kind, Withdrawal
from pressdispatch.store.schema import deliveries, releases, subscribers
from pressdispatch.store.visibility import public_at, readable

__all__ = ["Catalog", "DueTier", "ReleaseRecord", "Withdrawn"]

MessageId = Callable[[str, str, str], str]  # (release id, language, address) -> Message-ID


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    """Where a release stands in the store: its times and marks, not its text."""

    id: str
    status: ReleaseStatus  # as the files say
    publish_at: datetime
    embargo_send_at: datetime | None
    present: bool  # its folder is still there
    content_hash: str  # of the files now
    frozen_hash: str | None  # of the text being sent, once the dispatch started
    embargo_started_at: datetime | None  # when the embargoed tier was planned
    public_started_at: datetime | None  # when the public tier was planned
    send_requested_at: datetime | None  # `pressdispatch send`: start even if late
    cancelled_at: datetime | None
    withdrawn_at: datetime | None = None  # taken off the newsroom
    withdrawal_reason: str = ""
    paused_at: datetime | None = None  # held by the circuit breaker (store/returns.py)
    pause_reason: str = ""

    @classmethod
    def unsynced(cls, release: Release) -> ReleaseRecord:
        """The record ``release`` gets on its first sync (for when that sync failed)."""
        return cls(
            id=release.id,
            status=release.status,
            publish_at=release.publish_at,
            embargo_send_at=release.embargo_send_at,
            present=True,
            content_hash=digest(release_to_json(release)),
            frozen_hash=None,
            embargo_started_at=None,
            public_started_at=None,
            send_requested_at=None,
            cancelled_at=None,
        )


@dataclass(frozen=True, slots=True)
class DueTier:
    release_id: str
    tier: Tier
    at: datetime  # when it was due
    late: bool  # overdue beyond max_lateness and not started by hand


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """What ``Catalog.withdraw`` did: deliveries stopped, notices queued (None: it was
    withdrawn already, by someone else meanwhile)."""

    stopped: int
    notices: int


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def sync(self, loaded: Iterable[Release], now: datetime) -> list[str]:
        """Bring the store in line with the release files; return ids that changed."""
        rows = [(release, release_to_json(release)) for release in loaded]
        return await self.db.transaction(lambda conn: _sync(conn, rows, now), long=True)

    async def due(self, now: datetime, max_lateness: timedelta) -> list[DueTier]:
        """Tiers whose time has come and whose recipients are not yet planned."""
        r = releases.c
        sendable = and_(
            r.status == ReleaseStatus.READY.value,
            r.cancelled_at.is_(None),
            or_(r.present.is_(True), r.frozen_hash.is_not(None)),
        )
        query = select(
            r.id,
            r.publish_at,
            r.embargo_send_at,
            r.embargo_started_at,
            r.public_started_at,
            r.send_requested_at,
        ).where(
            sendable,
            or_(
                and_(r.public_started_at.is_(None), r.publish_at <= now),
                and_(r.embargo_started_at.is_(None), r.embargo_send_at <= now, r.publish_at > now),
            ),
        )
        result: list[DueTier] = []
        for row in await self.db.read(lambda conn: conn.execute(query).all()):
            forced = row.send_requested_at is not None
            if row.public_started_at is None and row.publish_at <= now:
                tier, at = Tier.PUBLIC, row.publish_at
            else:
                tier, at = Tier.EMBARGOED, row.embargo_send_at
            result.append(DueTier(row.id, tier, at, not forced and now - at > max_lateness))
        return result

    async def next_time(self, now: datetime) -> datetime | None:
        """The next embargo or publication time still to come (for the scheduler's one-off job)."""
        r = releases.c
        ready = and_(r.status == ReleaseStatus.READY.value, r.cancelled_at.is_(None))
        embargo = select(func.min(r.embargo_send_at)).where(
            ready, r.embargo_started_at.is_(None), r.embargo_send_at > now
        )
        public = select(func.min(r.publish_at)).where(
            ready, r.public_started_at.is_(None), r.publish_at > now
        )
        times = await self.db.read(lambda conn: [conn.scalar(embargo), conn.scalar(public)])
        found = [t for t in times if t is not None]
        return min(found) if found else None

    async def freeze(self, release_id: str, now: datetime) -> Release:
        """Fix the text being sent; later edits to the files are reported, not applied."""
        r = releases.c
        freeze = (
            update(releases)
            .where(r.id == release_id, r.frozen_hash.is_(None))
            .values(frozen_hash=r.content_hash, frozen_content=r.content, updated_at=now)
        )
        frozen = select(r.frozen_content).where(r.id == release_id)

        def work(conn: Connection) -> str | None:
            conn.execute(freeze)
            return conn.scalar(frozen)

        content = await self.db.transaction(work)
        assert content is not None
        return release_from_json(content)

    async def mark_started(self, release_id: str, tier: Tier, now: datetime) -> None:
        column = "embargo_started_at" if tier is Tier.EMBARGOED else "public_started_at"
        statement = (
            update(releases)
            .where(releases.c.id == release_id, releases.c[column].is_(None))
            .values({column: now, "updated_at": now})
        )
        await self.db.transaction(lambda conn: conn.execute(statement))

    async def snapshot(self, release_id: str) -> Release:
        """The release as it is being sent (frozen), else as the files say now."""
        r = releases.c
        query = select(r.frozen_content, r.content).where(r.id == release_id)
        row = await self.db.read(lambda conn: conn.execute(query).one())
        return release_from_json(row.frozen_content or row.content)

    async def request_send(self, release_id: str, now: datetime) -> bool:
        statement = (
            update(releases)
            .where(releases.c.id == release_id)
            .values(send_requested_at=now, updated_at=now)
        )
        return await self.db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def cancel(self, release_id: str, now: datetime) -> int:
        """Stop everything not yet sent; returns how many deliveries were cancelled."""
        # A release may have tens of thousands of deliveries left: off the event loop.
        return await self.db.transaction(lambda conn: _cancel(conn, release_id, now), long=True)

    async def withdraw(
        self,
        release_id: str,
        reason: str,
        now: datetime,
        *,
        notify: MessageId | None = None,
    ) -> Withdrawn | None:
        """Take the release off the newsroom and stop what is unsent, in one transaction;
        with ``notify``, queue one withdrawal notice per journalist who received it (each
        ``Message-ID`` from ``notify``). None if it was withdrawn already."""

        def work(conn: Connection) -> Withdrawn | None:
            marked = conn.execute(
                update(releases)
                .where(releases.c.id == release_id, releases.c.withdrawn_at.is_(None))
                .values(withdrawn_at=now, withdrawal_reason=reason, updated_at=now)
            )
            if marked.rowcount != 1:
                return None
            stopped = _cancel(conn, release_id, now)
            notices = _queue_notices(conn, release_id, now, notify) if notify else 0
            return Withdrawn(stopped, notices)

        return await self.db.transaction(work, long=True)

    async def withdrawal(self, release_id: str) -> Withdrawal | None:
        """When and why the release was withdrawn; None if it was not."""
        found = [w for w in await self._withdrawals(release_id) if w.release_id == release_id]
        return found[0] if found else None

    async def withdrawn(self) -> list[Withdrawal]:
        """Every release taken off the newsroom, latest first."""
        return await self._withdrawals(None)

    async def _withdrawals(self, release_id: str | None) -> list[Withdrawal]:
        r = releases.c
        query = (
            select(r.id, r.withdrawn_at, r.withdrawal_reason, r.frozen_content, r.content)
            .where(r.withdrawn_at.is_not(None))
            .order_by(r.withdrawn_at.desc(), r.id)
        )
        if release_id is not None:
            if not storable(release_id):
                return []
            query = query.where(r.id == release_id)

        def work(conn: Connection) -> list[Withdrawal]:
            found = []
            for row in conn.execute(query):
                release = release_from_json(row.frozen_content or row.content)
                titles = {lang: t.title for lang, t in release.translations.items()}
                found.append(Withdrawal(row.id, row.withdrawn_at, row.withdrawal_reason, titles))
            return found

        return await self.db.read(work)

    async def started(self, release_id: str) -> bool:
        """Whether sending of the release has begun (its text is frozen)."""
        query = select(releases.c.frozen_hash).where(releases.c.id == release_id)
        frozen = await self.db.read(lambda conn: conn.execute(query).first())
        return frozen is not None and frozen[0] is not None

    async def rows(self, release_id: str | None = None) -> list[ReleaseRecord]:
        """Every release's record (``release_id``: that one's, if stored), by publication time."""
        r = releases.c
        query = select(*_RECORD).order_by(r.publish_at, r.id)
        if release_id is not None:
            if not storable(release_id):
                return []
            query = query.where(r.id == release_id)
        return await self.db.read(lambda conn: [_record(row) for row in conn.execute(query)])

    async def titles(self) -> dict[str, str]:
        """Release id → title in its original language (the text being sent, once frozen)."""
        r = releases.c
        query = select(r.id, func.coalesce(r.frozen_content, r.content))

        def work(conn: Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for row in conn.execute(query):
                release = release_from_json(row[1])
                found[row[0]] = release.translations[release.original_language].title
            return found

        return await self.db.read(work)

    async def public(self, now: datetime) -> list[Release]:
        """Releases the public may see at ``now``, newest first (the text that was sent)."""
        r = releases.c
        query = (
            select(r.frozen_content, r.content)
            .where(*public_at(now))
            .order_by(r.publish_at.desc(), r.id)
        )
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return [release_from_json(row.frozen_content or row.content) for row in rows]

    async def readable(self, release_id: str, now: datetime) -> Release | None:
        """The release (the text being sent) that an embargoed link may lead to: before
        ``publish_at``, unless it is a draft, cancelled or gone; from then on, if it is
        public (a release cancelled after its time stays public)."""
        if not storable(release_id):
            return None
        r = releases.c
        either = or_(and_(*readable()), and_(*public_at(now)))
        query = select(r.frozen_content, r.content).where(r.id == release_id, either)
        row = await self.db.read(lambda conn: conn.execute(query).one_or_none())
        return None if row is None else release_from_json(row.frozen_content or row.content)

    async def public_version(self, now: datetime) -> str:
        """Changes whenever what ``public(now)`` returns changes, from the stored hashes alone."""
        r = releases.c
        query = (
            select(r.id, func.coalesce(r.frozen_hash, r.content_hash))
            .where(*public_at(now))
            .order_by(r.id)
        )
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return digest("".join(f"{row[0]}\0{row[1]}\n" for row in rows))[:32]

    async def next_publication(self, now: datetime) -> datetime | None:
        """When the next release becomes public: no cached page may outlive it."""
        r = releases.c
        query = select(func.min(r.publish_at)).where(
            r.status == ReleaseStatus.READY.value, r.cancelled_at.is_(None), r.publish_at > now
        )
        value: datetime | None = await self.db.read(lambda conn: conn.scalar(query))
        return value

    async def frozen(self) -> dict[str, str]:
        """Release id → hash of the text being sent, for releases whose dispatch started."""
        r = releases.c
        query = select(r.id, r.frozen_hash).where(r.frozen_hash.is_not(None))
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return {row.id: row.frozen_hash for row in rows}

    async def snapshots(self) -> dict[str, Release]:
        """Every release as :meth:`snapshot` gives it, in one read (for lists)."""
        r = releases.c
        query = select(r.id, r.frozen_content, r.content)
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return {row.id: release_from_json(row.frozen_content or row.content) for row in rows}


def _sync(conn: Connection, loaded: list[tuple[Release, str]], now: datetime) -> list[str]:
    """``Catalog.sync`` in one transaction: each release with its JSON snapshot."""
    changed: list[str] = []
    seen: set[str] = set()
    reindex: list[Release] = []
    existing = {
        row.id: row
        for row in conn.execute(
            select(
                releases.c.id,
                releases.c.content_hash,
                releases.c.frozen_hash,
                releases.c.present,
                releases.c.cancelled_at,
            )
        )
    }
    for release, content in loaded:
        seen.add(release.id)
        content_hash = digest(content)
        row = existing.get(release.id)
        values: dict[str, Any] = {
            "content": content,
            "content_hash": content_hash,
            "status": release.status.value,
            "present": True,
            "updated_at": now,
        }
        if row is None or row.frozen_hash is None:
            # Times only move until the dispatch starts; after that they are frozen.
            values |= {
                "publish_at": release.publish_at,
                "embargo_send_at": release.embargo_send_at,
            }
        if row is None:
            conn.execute(releases.insert().values(id=release.id, **values))
            changed.append(release.id)
        elif row.content_hash != content_hash or not row.present:
            conn.execute(update(releases).where(releases.c.id == release.id).values(**values))
            changed.append(release.id)
        if row is None or (row.frozen_hash is None and row.content_hash != content_hash):
            reindex.append(release)  # once sending started, the index keeps the text sent
        if release.status is ReleaseStatus.CANCELLED and (row is None or row.cancelled_at is None):
            _cancel(conn, release.id, now)
    gone = [rid for rid, row in existing.items() if rid not in seen and row.present]
    if gone:
        conn.execute(
            update(releases).where(releases.c.id.in_(gone)).values(present=False, updated_at=now)
        )
    search.index(conn, reindex)
    search.catch_up(conn)
    return changed


_RECORD = tuple(releases.c[f.name] for f in dataclasses.fields(ReleaseRecord))


def _record(row: Row[Any]) -> ReleaseRecord:
    return ReleaseRecord(**{**row._mapping, "status": ReleaseStatus(row.status)})


def _queue_notices(conn: Connection, release_id: str, now: datetime, message_id: MessageId) -> int:
    """One withdrawal notice per journalist the release was sent to, in the language they
    got it in; a journalist who has one already is skipped (a second notice is impossible)."""
    d, s = deliveries.c, subscribers.c
    received = conn.execute(
        select(d.subscriber_id, d.language, d.tier, s.email)
        .join(subscribers, s.id == d.subscriber_id)
        .where(d.release_id == release_id, d.kind == Kind.RELEASE, d.status == DeliveryStatus.SENT)
        .order_by(d.id)
    ).all()
    if not received:
        return 0
    statement = (
        insert(deliveries, conn.dialect.name)
        .on_conflict_do_nothing(index_elements=["release_id", "subscriber_id", "kind"])
        .returning(deliveries.c.id)
    )
    values = [
        {
            "release_id": release_id,
            "subscriber_id": row.subscriber_id,
            "language": row.language,
            "tier": row.tier,
            "kind": Kind.WITHDRAWAL.value,
            "message_id": message_id(release_id, row.language, row.email),
            "status": DeliveryStatus.QUEUED,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
            "last_reply": "",
        }
        for row in received
    ]
    return len(conn.execute(statement, values).all())


def _cancel(conn: Connection, release_id: str, now: datetime) -> int:
    conn.execute(
        update(releases)
        .where(releases.c.id == release_id, releases.c.cancelled_at.is_(None))
        .values(cancelled_at=now, updated_at=now)
    )
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.release_id == release_id,
            deliveries.c.kind == Kind.RELEASE,
            deliveries.c.status.in_(WAITING),
        )
        .values(status=DeliveryStatus.CANCELLED, lease_until=None)
    )
    return int(result.rowcount)
