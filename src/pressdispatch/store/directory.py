"""Journalists in the store: synced from the lists, with a status the lists cannot undo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from pressdispatch.model import Subscriber
from pressdispatch.store.codec import subscriber_columns, subscriber_from_row
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import WAITING, deliveries, state, subscribers

ACTIVE, UNSUBSCRIBED, BOUNCED = "active", "unsubscribed", "bounced"
_CHUNK = 1000
_FINGERPRINT = "subscribers.fingerprint"


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber as the store knows them: identity plus the matching fields."""

    id: int
    subscriber: Subscriber


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def fingerprint(self) -> str | None:
        async with self.db.engine.connect() as conn:
            value = await conn.scalar(select(state.c.value).where(state.c.key == _FINGERPRINT))
        return str(value) if value is not None else None

    async def sync(self, people: Iterable[Subscriber], fingerprint: str, now: datetime) -> int:
        """Upsert everyone the lists name; whoever they no longer name gets no lists.

        Status (unsubscribed, bounced) is never touched here: an address that
        opted out stays out even when a spreadsheet lists it again.
        """
        changed = 0
        async with self.db.engine.begin() as conn:
            known = {
                row.email: (row.id, row.row_hash)
                for row in await conn.execute(
                    select(subscribers.c.email, subscribers.c.id, subscribers.c.row_hash).where(
                        subscribers.c.source == "csv"
                    )
                )
            }
            listed: set[str] = set()
            batch: list[dict[str, Any]] = []
            for person in people:
                columns = subscriber_columns(person)
                listed.add(columns["email"])
                current = known.get(columns["email"])
                if current is None:
                    batch.append(
                        columns
                        | {
                            "source": "csv",
                            "status": ACTIVE,
                            "status_reason": "",
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    if len(batch) >= _CHUNK:
                        await conn.execute(subscribers.insert(), batch)
                        changed += len(batch)
                        batch = []
                elif current[1] != columns["row_hash"]:
                    await conn.execute(
                        update(subscribers)
                        .where(subscribers.c.id == current[0])
                        .values(**columns, updated_at=now)
                    )
                    changed += 1
            if batch:
                await conn.execute(subscribers.insert(), batch)
                changed += len(batch)
            dropped = [email for email in known if email not in listed]
            for start in range(0, len(dropped), _CHUNK):
                chunk = dropped[start : start + _CHUNK]
                await conn.execute(
                    update(subscribers)
                    .where(subscribers.c.email.in_(chunk), subscribers.c.lists != "")
                    .values(lists="", row_hash="", updated_at=now)
                )
            await _set_state(conn, _FINGERPRINT, fingerprint, self.db.dialect)
        return changed

    async def mailable(self) -> AsyncIterator[list[Person]]:
        """Active journalists on at least one list, in chunks, streamed by id."""
        last = 0
        while True:
            async with self.db.engine.connect() as conn:
                rows = (
                    (
                        await conn.execute(
                            select(subscribers)
                            .where(
                                subscribers.c.id > last,
                                subscribers.c.status == ACTIVE,
                                subscribers.c.lists != "",
                            )
                            .order_by(subscribers.c.id)
                            .limit(_CHUNK)
                        )
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            last = rows[-1]["id"]
            yield [Person(row["id"], subscriber_from_row(dict(row))) for row in rows]

    async def set_status(self, email: str, status: str, reason: str, now: datetime) -> bool:
        """Unsubscribe, bounce or reactivate one address; pending deliveries to it stop."""
        return await self.db.transaction(
            lambda conn: set_status(conn, email.lower(), status, reason, now)
        )


def set_status(conn: Connection, email: str, status: str, reason: str, now: datetime) -> bool:
    result = conn.execute(
        update(subscribers)
        .where(subscribers.c.email == email)
        .values(status=status, status_reason=reason, updated_at=now)
    )
    if status != ACTIVE:
        ids = select(subscribers.c.id).where(subscribers.c.email == email).scalar_subquery()
        conn.execute(
            update(deliveries)
            .where(deliveries.c.subscriber_id == ids, deliveries.c.status.in_(WAITING))
            .values(status="cancelled", last_reply=f"subscriber {status}")
        )
    return bool(result.rowcount)


async def _set_state(conn: Any, key: str, value: str, dialect: str) -> None:
    statement = insert(state, dialect).values(key=key, value=value)
    await conn.execute(
        statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
    )
