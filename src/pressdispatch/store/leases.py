"""Leases: work that one holder at a time may do, across processes (the list sync).

A lease is a row naming its holder and when it expires. The holder renews it while it
works; a holder that died loses it once it expires, and the next one takes it over.
Times are the wall clock, whatever clock the caller uses for its records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, or_, select, update

from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import leases


async def acquire(db: Database, name: str, owner: str, ttl: timedelta) -> bool:
    """Take the lease if it is free, expired or already ours; False if another holds it."""
    dialect = db.dialect

    def work(conn: Connection) -> bool:
        now = datetime.now(UTC)
        statement = insert(leases, dialect).values(name=name, owner=owner, expires_at=now + ttl)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"owner": owner, "expires_at": now + ttl},
                where=or_(leases.c.expires_at < now, leases.c.owner == owner),
            )
        )
        return conn.scalar(select(leases.c.owner).where(leases.c.name == name)) == owner

    return await db.transaction(work)


async def renew(db: Database, name: str, owner: str, ttl: timedelta) -> bool:
    """Push the expiry back; False if the lease is no longer ours (it expired and was taken)."""

    def work(conn: Connection) -> bool:
        result = conn.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.owner == owner)
            .values(expires_at=datetime.now(UTC) + ttl)
        )
        return bool(result.rowcount)

    return await db.transaction(work)


async def release(db: Database, name: str, owner: str) -> None:
    await db.transaction(
        lambda conn: conn.execute(
            delete(leases).where(leases.c.name == name, leases.c.owner == owner)
        )
    )
