"""The scheduler's lock: which process scans, keeps the embargo timers and polls.

Every `run` process competes for it; one holds it. The holder is named in the
``leases`` row ``scheduler`` (its worker id), which it renews while it leads, so
`status` can say which process leads on either database.

- On SQLite (one machine) the lease row is the lock: taken when free or expired.
- On PostgreSQL the lock is a session-level advisory lock held on a connection of
  its own, outside the pool. A process that dies closes its session and the lock
  is free at once. A process that hangs keeps its session open: once its lease row
  expires, a candidate ends that session (``pg_terminate_backend``), which frees the
  lock for the next try.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from pressdispatch.store import leases
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import leases as leases_table

__all__ = ["ADVISORY_KEY", "LEASE", "Lead", "SchedulerLock", "current"]

log = logging.getLogger(__name__)

LEASE = "scheduler"
# One bigint naming the lock in this database ("pdsc"); under 2**31, so pg_locks
# shows it as classid 0, objid the key.
ADVISORY_KEY = 0x70647363

# The session holding the lock, if it is the one of the process named: its session
# carries the holder's name (``_name``), so a candidate never ends the session of a
# process that took the lock a moment ago, before it could write its row.
# Advisory locks belong to one database, but pg_locks shows the whole server's: another
# newsroom's store on the same server (or a test's) must never lose its holder to us.
_HOLDER = text(
    "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key"
    " AND l.objsubid = 1 AND l.pid <> pg_backend_pid() AND a.application_name = :name"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _name(owner: str) -> str:
    return f"pressdispatch scheduler {owner}"


@dataclass(frozen=True, slots=True)
class Lead:
    """Who leads (a worker id, as in the ``workers`` registry) and until when, unless renewed."""

    owner: str
    expires_at: datetime


async def current(db: Database) -> Lead | None:
    """The process that leads now, if any: the lease row, unless it expired."""
    lead = await _last(db)
    return lead if lead is not None and lead.expires_at > datetime.now(UTC) else None


async def _last(db: Database) -> Lead | None:
    """The lease row, expired or not."""
    t = leases_table.c
    query = select(t.owner, t.expires_at).where(t.name == LEASE)
    row = await db.read(lambda conn: conn.execute(query).first())
    return None if row is None else Lead(row.owner, row.expires_at)


class SchedulerLock:
    """The lock, as one process sees it: ``take`` it, ``keep`` it, ``give_up``; ``close``
    when done."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._session: AsyncConnection | None = None  # PostgreSQL: holds the advisory lock

    async def take(self, owner: str, ttl: timedelta) -> bool:
        """Take the lock if it is free; False if another process holds it."""
        if self.db.dialect != "postgresql":
            return await leases.acquire(self.db, LEASE, owner, ttl)
        try:
            session = await self._open(owner)
            locked = text("SELECT pg_try_advisory_lock(:key)")
            if await session.scalar(locked, {"key": ADVISORY_KEY}):
                await self._claim_row(owner, ttl)  # its last holder died: its row is ours
                return True
            last = await _last(self.db)
            if last is not None and last.expires_at <= datetime.now(UTC):
                await self._end_hung_holder(session, last.owner)
            return False
        except BaseException:
            await self.close()  # the next try starts on a new session
            raise

    async def keep(self, owner: str, ttl: timedelta) -> bool:
        """Renew the lead; False if it was lost (the session ended, or the row was taken)."""
        if self._session is not None:
            try:
                await self._session.scalar(text("SELECT 1"))
            except Exception as exc:  # ended by another candidate, or the server went
                said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                log.warning("the scheduler's lock session ended: %s", said[0] if said else exc)
                await self.close()
                return False
        return await leases.renew(self.db, LEASE, owner, ttl)

    async def give_up(self, owner: str) -> None:
        """Let another process lead at once (a clean stop)."""
        try:
            await leases.release(self.db, LEASE, owner)
        finally:
            await self.close()  # ending the session frees the advisory lock

    async def _open(self, owner: str) -> AsyncConnection:
        if self._session is None:
            session = await self.db.engine.connect()
            # Outside any transaction: the lock belongs to the session, not a transaction.
            session = await session.execution_options(isolation_level="AUTOCOMMIT")
            set_name = text("SELECT set_config('application_name', :name, false)")
            await session.scalar(set_name, {"name": _name(owner)})
            self._session = session
        return self._session

    async def close(self) -> None:
        """End the lock's session, if any (a candidate's too)."""
        session, self._session = self._session, None
        if session is None:
            return
        with contextlib.suppress(Exception):  # a session already gone is closed enough
            # Never back into the pool: a pooled connection would keep the lock.
            await session.invalidate()
            await session.close()

    async def _claim_row(self, owner: str, ttl: timedelta) -> None:
        def work(conn: Connection) -> None:
            until = datetime.now(UTC) + ttl
            statement = insert(leases_table, self.db.dialect).values(
                name=LEASE, owner=owner, expires_at=until
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={"owner": owner, "expires_at": until}
                )
            )

        await self.db.transaction(work)

    async def _end_hung_holder(self, session: AsyncConnection, owner: str) -> None:
        """``owner`` holds the lock but stopped renewing its row: end its session."""
        found = await session.scalars(_HOLDER, {"key": ADVISORY_KEY, "name": _name(owner)})
        for pid in found.all():
            log.warning("the scheduler's lock holder (backend %s) stopped renewing: ending it", pid)
            await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
