"""Journalists written through the JSON API: ``source = "api"``, on the list ``api``.

The engine mails only active journalists on at least one list, so every journalist
saved here is on the list ``api``. Their status is never touched here: an address that
unsubscribed or bounced stays so, whatever the API sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from pressdispatch.model import Source, Subscriber, SubscriberStatus
from pressdispatch.store.codec import storable, subscriber_columns
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import subscribers

__all__ = ["API", "find", "save"]

API = Source.API.value  # the name of these journalists' list


async def save(
    db: Database, subscriber: Subscriber, now: datetime
) -> tuple[bool, SubscriberStatus]:
    """Insert or update one journalist; returns (created, their status)."""
    return await db.transaction(lambda conn: _save(conn, subscriber, now))


async def find(db: Database, email: str) -> dict[str, Any] | None:
    """Every stored column of the journalist with this address (in any case), or None."""
    if not storable(email):
        return None
    query = select(subscribers).where(subscribers.c.email == email.lower())
    row = await db.read(lambda conn: conn.execute(query).mappings().first())
    return dict(row) if row is not None else None


def _save(conn: Connection, subscriber: Subscriber, now: datetime) -> tuple[bool, SubscriberStatus]:
    columns = subscriber_columns(subscriber) | {"source": Source.API, "updated_at": now}
    c = subscribers.c
    known = conn.execute(select(c.id, c.status).where(c.email == columns["email"])).first()
    if known is not None:
        conn.execute(update(subscribers).where(c.id == known.id).values(columns))
        return False, SubscriberStatus(known.status)
    changes = {key: value for key, value in columns.items() if key != "email"}
    conn.execute(
        insert(subscribers, conn.dialect.name)
        .values(
            columns | {"status": SubscriberStatus.ACTIVE, "status_reason": "", "created_at": now}
        )
        # Another request may have inserted the address meanwhile: update it then.
        .on_conflict_do_update(index_elements=["email"], set_=changes)
    )
    return True, SubscriberStatus.ACTIVE
