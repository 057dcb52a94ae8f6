"""``Journalists``: the journalists in the store, for every part of pressdispatch that
reads or writes one (the planner, the subscription pages, the console, the API, the
command line, the list sync).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.content.subscribers import Row
from pressdispatch.errors import Busy
from pressdispatch.model import Subscriber, SubscriberStatus
from pressdispatch.store import leases
from pressdispatch.store.codec import storable
from pressdispatch.store.db import Database
from pressdispatch.store.journalists import reads, record, writes
from pressdispatch.store.journalists.reads import PER_PAGE, Found, SubscriberQuery
from pressdispatch.store.journalists.record import Addressee, Journalist
from pressdispatch.store.listsync import CONTENT, FINGERPRINT, LEASE, ListSync, Progress
from pressdispatch.store.schema import state

__all__ = ["Journalists"]

_CHUNK = 1000
_PLAN_CHUNK = 5000  # a few hundred kilobytes: what the planner holds at a time


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


Identified = TypeVar("Identified", bound=_HasId)
_LEASE_TTL = timedelta(seconds=60)
log = logging.getLogger(__name__)


class Journalists:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, email: str) -> Journalist | None:
        """The journalist with this address (in any case), or None."""
        return await self.db.read(lambda conn: record.find(conn, email))

    async def set_status(
        self, email: str, status: SubscriberStatus, reason: str, now: datetime
    ) -> bool:
        """Unsubscribe, bounce or reactivate one address; pending deliveries to it stop."""
        if not storable(email):
            return False  # no stored address holds such a character
        return await self.db.transaction(
            lambda conn: writes.set_status(conn, email.lower(), status, reason, now)
        )

    async def set_preferences(
        self,
        email: str,
        languages: Sequence[str],
        regions: Iterable[str],
        topics: Iterable[str],
        now: datetime,
        *,
        consent: str = "",
    ) -> bool:
        """The journalist's own choices (empty regions or topics: all); False if unknown.

        ``consent``: the privacy statement's version, when they agree to a new one.
        """
        chosen = (list(languages), set(regions), set(topics))  # the work may run twice
        return await self.db.transaction(
            lambda conn: writes.set_preferences(conn, email, *chosen, now, consent)
        )

    async def confirm_signup(self, signup: Subscriber, now: datetime, *, consent: str = "") -> None:
        """A subscription confirmed on the web (``writes.confirm``), with the version of
        the privacy statement agreed to."""
        await self.db.transaction(lambda conn: writes.confirm(conn, signup, now, consent))

    async def save_from_api(
        self, changes: writes.Changes, now: datetime
    ) -> tuple[bool, SubscriberStatus]:
        """A journalist written through the API, only the fields given (``writes.save``):
        (created, their status)."""
        return await self.db.transaction(lambda conn: writes.save(conn, changes, now))

    async def mailable(self) -> AsyncIterator[list[Journalist]]:
        """Active journalists on at least one list, in chunks, streamed by id."""
        async for chunk in self._chunks(reads.mailable, _CHUNK):
            yield chunk

    async def addressees(self) -> AsyncIterator[list[Addressee]]:
        """``mailable``'s journalists, only what the planner needs of each, in chunks."""
        async for chunk in self._chunks(reads.addressees, _PLAN_CHUNK):
            yield chunk

    async def export(self, *, chunk: int = _CHUNK) -> AsyncIterator[list[Journalist]]:
        """Every journalist in the store, in chunks, by id."""
        async for journalists in self._chunks(reads.everyone, chunk):
            yield journalists

    async def search(
        self, query: SubscriberQuery, *, page: int = 1, per_page: int = PER_PAGE
    ) -> Found:
        """One page (1-based) of the journalists matching ``query``, and how many match."""
        return await self.db.read(lambda conn: reads.page(conn, query, page, per_page))

    async def fingerprint(self) -> str | None:
        """The lists as last merged in full (``ListSync``)."""
        return (await self._state(FINGERPRINT)).get(FINGERPRINT)

    async def content(self) -> str | None:
        """The digest of the bytes of the lists as last merged in full, if known."""
        return (await self._state(CONTENT)).get(CONTENT) or None

    async def _state(self, *keys: str) -> dict[str, str]:
        query = select(state.c.key, state.c.value).where(state.c.key.in_(keys))
        return await self.db.read(lambda conn: {k: str(v) for k, v in conn.execute(query)})

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
        content: str = "",
        progress: Progress | None = None,
    ) -> int:
        """``ListSync.run`` under the lease; ``Busy`` if another sync is running."""
        async with self.exclusive() as sync:
            changed = await sync.run(rows, fingerprint, now, content=content, progress=progress)
        assert changed is not None  # nothing can stop it
        return changed

    async def _chunks(
        self, read: Callable[..., list[Identified]], size: int
    ) -> AsyncIterator[list[Identified]]:
        last = 0
        while True:
            chunk = await self.db.read(functools.partial(read, after=last, limit=size))
            if not chunk:
                return
            last = chunk[-1].id
            yield chunk
