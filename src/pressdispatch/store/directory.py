"""Journalists in the store: synced from the lists, with a status the lists cannot undo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    select,
    update,
)

from pressdispatch.content.subscribers import Row, merge
from pressdispatch.model import Subscriber
from pressdispatch.store.codec import storable, subscriber_columns, subscriber_from_row
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import WAITING, deliveries, state, subscribers

ACTIVE, UNSUBSCRIBED, BOUNCED = "active", "unsubscribed", "bounced"
SELF = "self"  # ``source`` of a journalist who chose their own preferences
# Sources with a list of their own, named after them: self-service and the API.
OWN_LISTS = ("web", "api")
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

    async def sync(self, rows: Iterable[Row], fingerprint: str, now: datetime) -> int:
        """Upsert everyone the lists name; whoever they no longer name gets no lists.

        ``rows`` are every list's rows, in list order. They are staged in a
        temporary table and merged one journalist at a time in address order, so
        memory stays flat whatever the size of the lists.

        Status (unsubscribed, bounced) is never touched here: an address that
        opted out stays out even when a spreadsheet lists it again.
        """
        changed = 0
        async with self.db.engine.begin() as conn:
            await conn.run_sync(_staging.create)
            for chunk in _chunks((_staged(seq, row) for seq, row in enumerate(rows)), _CHUNK):
                await conn.execute(_staging.insert(), chunk)
            after = ""
            while True:
                batch = (
                    await conn.execute(
                        select(_staging)
                        .where(_staging.c.email > after)
                        .order_by(_staging.c.email, _staging.c.seq)
                        .limit(_CHUNK)
                    )
                ).all()
                if not batch:
                    break
                groups = _groups(batch, complete=len(batch) < _CHUNK)
                changed += await _upsert(conn, [merge(group) for group in groups], now)
                after = groups[-1][0].subscriber.key
            # Whoever the lists no longer name loses the lists' membership; one who
            # subscribed by other means (the web form, the API) keeps that one.
            gone = subscribers.c.email.not_in(select(_staging.c.email))
            for source in ("csv", SELF, *OWN_LISTS):
                remaining = source if source in OWN_LISTS else ""
                dropped = (
                    update(subscribers)
                    .where(subscribers.c.source == source, subscribers.c.lists != remaining, gone)
                    .values(lists=remaining, row_hash="", updated_at=now)
                )
                changed += (await conn.execute(dropped)).rowcount
            await conn.run_sync(_staging.drop)
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
        if not storable(email):
            return False  # no stored address holds such a character
        return await self.db.transaction(
            lambda conn: set_status(conn, email.lower(), status, reason, now)
        )

    async def person(self, email: str) -> tuple[Subscriber, str] | None:
        """The journalist with this address (in any case) and their status; None if unknown."""
        if not storable(email):
            return None
        query = select(subscribers).where(subscribers.c.email == email.lower())
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        return subscriber_from_row(dict(row)), str(row["status"])

    async def set_preferences(
        self,
        email: str,
        languages: Sequence[str],
        regions: Iterable[str],
        topics: Iterable[str],
        now: datetime,
    ) -> bool:
        """Store the journalist's own choices (empty regions or topics: all); False if unknown.

        ``source`` becomes ``SELF``: the choices are the journalist's, not a list's.
        """
        values = {
            "languages": " ".join(dict.fromkeys(languages)),  # order of preference, once each
            "regions": " ".join(sorted(set(regions))),
            "topics": " ".join(sorted(set(topics))),
            # A list journalist's choices become their own; a web or API subscriber
            # keeps their source, and with it their own list.
            "source": case((subscribers.c.source.in_(OWN_LISTS), subscribers.c.source), else_=SELF),
            "updated_at": now,
        }

        def work(conn: Connection) -> bool:
            result = conn.execute(
                update(subscribers).where(subscribers.c.email == email.lower()).values(values)
            )
            return bool(result.rowcount)

        return await self.db.transaction(work)


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


# Each list row, staged for one sync (a temporary table: private to the connection).
_staging = Table(
    "subscriber_rows",
    MetaData(),
    Column("email", String(320), nullable=False),  # lowercased: the merge key
    Column("seq", Integer, nullable=False),  # list order
    Column("address", String(320), nullable=False),
    Column("name", Text, nullable=False),
    Column("outlet", Text, nullable=False),
    Column("languages", Text, nullable=False),
    Column("regions", Text),  # NULL: every region
    Column("topics", Text),  # NULL: every topic
    Column("embargo", Boolean, nullable=False),
    Column("list", Text, nullable=False),
    Index("ix_subscriber_rows_email_seq", "email", "seq"),
    prefixes=["TEMPORARY"],
)


def _staged(seq: int, row: Row) -> dict[str, Any]:
    s = row.subscriber
    return {
        "email": s.key,
        "seq": seq,
        "address": s.email,
        "name": s.name,
        "outlet": s.outlet,
        "languages": " ".join(s.languages),
        "regions": None if row.everything_regions else " ".join(sorted(s.regions)),
        "topics": None if row.everything_topics else " ".join(sorted(s.topics)),
        "embargo": s.embargo,
        "list": s.lists[0],
    }


def _row(staged: Any) -> Row:
    subscriber = Subscriber(
        email=staged.address,
        name=staged.name,
        outlet=staged.outlet,
        languages=tuple(staged.languages.split()),
        regions=frozenset(staged.regions.split()) if staged.regions else frozenset(),
        topics=frozenset(staged.topics.split()) if staged.topics else frozenset(),
        embargo=bool(staged.embargo),
        lists=(staged.list,),
    )
    return Row(0, subscriber, staged.regions is None, staged.topics is None)


def _groups(batch: Sequence[Any], *, complete: bool) -> list[list[Row]]:
    """The batch's rows grouped by journalist; the last group is held back unless complete."""
    groups: list[list[Row]] = []
    for staged in batch:
        if groups and groups[-1][0].subscriber.key == staged.email:
            groups[-1].append(_row(staged))
        else:
            groups.append([_row(staged)])
    if not complete and len(groups) > 1:
        groups.pop()  # it may go on in the next batch
    return groups


async def _upsert(conn: Any, people: list[Subscriber], now: datetime) -> int:
    """Insert the new, update the changed; return how many.

    A journalist who chose their own languages, regions and topics (``SELF``, or
    subscribed through the web form or the API) keeps them; the lists still decide the
    rest (name, outlet, embargo clearance, list membership).
    """
    columns = [subscriber_columns(person) for person in people]
    known = {
        row.email: row
        for row in await conn.execute(
            select(
                subscribers.c.email,
                subscribers.c.id,
                subscribers.c.row_hash,
                subscribers.c.source,
            ).where(subscribers.c.email.in_([c["email"] for c in columns]))
        )
    }
    new = [
        c | {"source": "csv", "status": ACTIVE, "status_reason": "", "created_at": now}
        for c in columns
        if c["email"] not in known
    ]
    changed = [
        c for c in columns if c["email"] in known and known[c["email"]].row_hash != c["row_hash"]
    ]
    if new:
        await conn.execute(subscribers.insert(), [c | {"updated_at": now} for c in new])
    for own_choices in (False, True):
        rows = [c for c in changed if (known[c["email"]].source in _OWN_CHOICES) == own_choices]
        if not rows:
            continue
        names = [key for key in rows[0] if key != "email" and not (own_choices and key in _CHOSEN)]
        values = []
        for c in rows:
            row = known[c["email"]]
            fields = dict(c)
            if row.source in OWN_LISTS:  # the lists add to the journalist's own subscription
                fields["lists"] = f"{c['lists']} {row.source}".strip()
            values.append({f"v_{key}": fields[key] for key in names} | {"v_id": row.id})
        await conn.execute(
            update(subscribers)
            .where(subscribers.c.id == bindparam("v_id"))
            .values({key: bindparam(f"v_{key}") for key in names} | {"updated_at": now}),
            values,
        )
    return len(new) + len(changed)


_CHOSEN = ("languages", "regions", "topics")  # what a journalist's own choice settles
_OWN_CHOICES = (SELF, *OWN_LISTS)


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
