"""Journalists in the store: synced from the lists, with a status the lists cannot undo."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, case, select, update
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.content.subscribers import Row
from pressdispatch.errors import Busy
from pressdispatch.model import (
    OWN_LISTS,
    WAITING,
    DeliveryStatus,
    Source,
    Subscriber,
    SubscriberStatus,
)
from pressdispatch.store import leases
from pressdispatch.store.codec import storable, subscriber_from_row
from pressdispatch.store.db import Database
from pressdispatch.store.listsync import FINGERPRINT, LEASE, ListSync, Progress
from pressdispatch.store.schema import deliveries, state, subscribers

__all__ = ["Directory", "ListSync", "Person", "set_status"]

_CHUNK = 1000
_LEASE_TTL = timedelta(seconds=60)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber as the store knows them: identity plus the matching fields."""

    id: int
    subscriber: Subscriber


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def fingerprint(self) -> str | None:
        query = select(state.c.value).where(state.c.key == FINGERPRINT)
        value = await self.db.read(lambda conn: conn.scalar(query))
        return str(value) if value is not None else None

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[ListSync]:
        """The right to sync the lists: one holder at a time, across processes.

        Raises ``Busy`` at once when another holds it; the lease is released on the
        way out, or expires if this process dies.
        """
        owner = secrets.token_hex(16)
        if not await leases.acquire(self.db, LEASE, owner, _LEASE_TTL):
            raise Busy("the subscriber lists are being synced by another scan or import")
        try:
            yield ListSync(self.db, owner, _LEASE_TTL)
        finally:
            try:
                await leases.release(self.db, LEASE, owner)
            except SQLAlchemyError as exc:  # it expires by itself
                log.warning("could not release the list sync lease: %s", exc)

    async def sync(
        self,
        rows: Iterable[Row],
        fingerprint: str,
        now: datetime,
        *,
        progress: Progress | None = None,
    ) -> int:
        """``ListSync.run`` under the lease; ``Busy`` if another sync is running."""
        async with self.exclusive() as sync:
            changed = await sync.run(rows, fingerprint, now, progress=progress)
        assert changed is not None  # nothing can stop it
        return changed

    async def mailable(self) -> AsyncIterator[list[Person]]:
        """Active journalists on at least one list, in chunks, streamed by id."""
        last = 0
        while True:
            rows = await self.db.read(functools.partial(_mailable, after=last))
            if not rows:
                return
            last = rows[-1]["id"]
            yield [Person(row["id"], subscriber_from_row(dict(row))) for row in rows]

    async def set_status(
        self, email: str, status: SubscriberStatus, reason: str, now: datetime
    ) -> bool:
        """Unsubscribe, bounce or reactivate one address; pending deliveries to it stop."""
        if not storable(email):
            return False  # no stored address holds such a character
        return await self.db.transaction(
            lambda conn: set_status(conn, email.lower(), status, reason, now)
        )

    async def person(self, email: str) -> tuple[Subscriber, SubscriberStatus] | None:
        """The journalist with this address (in any case) and their status; None if unknown."""
        if not storable(email):
            return None
        query = select(subscribers).where(subscribers.c.email == email.lower())
        row = await self.db.read(lambda conn: conn.execute(query).mappings().first())
        if row is None:
            return None
        return subscriber_from_row(dict(row)), SubscriberStatus(row["status"])

    async def set_preferences(
        self,
        email: str,
        languages: Sequence[str],
        regions: Iterable[str],
        topics: Iterable[str],
        now: datetime,
    ) -> bool:
        """Store the journalist's own choices (empty regions or topics: all); False if unknown.

        ``source`` becomes ``self``: the choices are the journalist's, not a list's.
        """
        values = {
            "languages": " ".join(dict.fromkeys(languages)),  # order of preference, once each
            "regions": " ".join(sorted(set(regions))),
            "topics": " ".join(sorted(set(topics))),
            # A list journalist's choices become their own; a web or API subscriber
            # keeps their source, and with it their own list.
            "source": case(
                (subscribers.c.source.in_(OWN_LISTS), subscribers.c.source), else_=Source.SELF
            ),
            "updated_at": now,
        }

        def work(conn: Connection) -> bool:
            result = conn.execute(
                update(subscribers).where(subscribers.c.email == email.lower()).values(values)
            )
            return bool(result.rowcount)

        return await self.db.transaction(work)


def _mailable(conn: Connection, *, after: int) -> Sequence[RowMapping]:
    query = (
        select(subscribers)
        .where(
            subscribers.c.id > after,
            subscribers.c.status == SubscriberStatus.ACTIVE,
            subscribers.c.lists != "",
        )
        .order_by(subscribers.c.id)
        .limit(_CHUNK)
    )
    return conn.execute(query).mappings().all()


def set_status(
    conn: Connection, email: str, status: SubscriberStatus, reason: str, now: datetime
) -> bool:
    result = conn.execute(
        update(subscribers)
        .where(subscribers.c.email == email)
        .values(status=status, status_reason=reason, updated_at=now)
    )
    if status != SubscriberStatus.ACTIVE:
        ids = select(subscribers.c.id).where(subscribers.c.email == email).scalar_subquery()
        conn.execute(
            update(deliveries)
            .where(deliveries.c.subscriber_id == ids, deliveries.c.status.in_(WAITING))
            .values(status=DeliveryStatus.CANCELLED, last_reply=f"subscriber {status}")
        )
    return bool(result.rowcount)
