"""The steps of the list sync (store/listsync.py), each one short transaction's work:
stage the lists' rows, merge a window of them into the journalists, delist whoever the
lists no longer name.

A journalist named on one row only, as most are, is merged by the database, set
against set (``_update_alone``, ``_insert_alone``); one named on several goes through
``merge`` in Python (``_upsert``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, func, literal, select, update
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from pressdispatch.content.subscribers import Row, merge
from pressdispatch.model import OWN_LISTS, Source, Subscriber, SubscriberStatus
from pressdispatch.store.bulk import insert_many
from pressdispatch.store.codec import columns_hash, subscriber_columns
from pressdispatch.store.schema import list_rows, subscribers

__all__ = ["clear_some", "delist", "insert_staged", "merge_window", "staged_row"]

CLEAR = 2000  # staged rows deleted per transaction


def staged_row(seq: int, row: Row) -> dict[str, Any]:
    s = row.subscriber
    # The columns ``subscriber_columns(merge([row]))`` holds, built straight from the row:
    # hashing every row of a list is a good part of a sync's time.
    columns = {
        "email": s.key,
        "address": s.email,
        "name": s.name,
        "outlet": s.outlet,
        "languages": " ".join(s.languages),
        "regions": "" if row.everything_regions else " ".join(sorted(s.regions)),
        "topics": "" if row.everything_topics else " ".join(sorted(s.topics)),
        "embargo": s.embargo,
        "lists": " ".join(s.lists),
    }
    return {
        "email": s.key,
        "seq": seq,
        "address": s.email,
        "name": s.name,
        "outlet": s.outlet,
        "languages": columns["languages"],
        "regions": None if row.everything_regions else columns["regions"],
        "topics": None if row.everything_topics else columns["topics"],
        "embargo": s.embargo,
        "list": s.lists[0],
        # As ``_upsert`` would store it, were this the journalist's only row.
        "row_hash": columns_hash(columns),
    }


def insert_staged(staged: list[dict[str, Any]], conn: Connection) -> None:
    insert_many(conn, list_rows, staged)


def clear_some(conn: Connection) -> int:
    some = select(list_rows.c.seq).order_by(list_rows.c.seq).limit(CLEAR).scalar_subquery()
    return int(conn.execute(delete(list_rows).where(list_rows.c.seq.in_(some))).rowcount)


def merge_window(
    after: str, now: datetime, window: int, conn: Connection
) -> tuple[str | None, int, int]:
    """Merge the journalists of the next ``window`` staged rows after the address
    ``after``: (the last address, or None at the end; rows merged; journalists changed).

    A journalist named on one row only, as most are, is merged by the database, set
    against set; one named on several goes through ``merge`` in Python. The window
    ends on a whole journalist: every row of its last address is in it.
    """
    lr = list_rows.c
    upto = conn.scalar(
        select(lr.email).where(lr.email > after).order_by(lr.email).offset(window - 1).limit(1)
    )
    inside = [lr.email > after] if upto is None else [lr.email > after, lr.email <= upto]
    rows = int(conn.scalar(select(func.count()).select_from(list_rows).where(*inside)) or 0)
    if not rows:
        return None, 0, 0
    other = list_rows.alias("other")
    alone = ~select(other.c.seq).where(other.c.email == lr.email, other.c.seq != lr.seq).exists()
    several = conn.execute(
        select(list_rows).where(*inside, ~alone).order_by(lr.email, lr.seq)
    ).all()
    groups = _groups(several, complete=True)
    changed = _upsert(conn, [merge(group) for group in groups], now) if groups else 0
    changed += _update_alone(conn, [*inside, alone], now)
    changed += _insert_alone(conn, [*inside, alone], now)
    return upto, rows, changed


def _update_alone(conn: Connection, where: list[Any], now: datetime) -> int:
    """``_upsert``'s update, in SQL, for the known journalists named on one row each."""
    s, lr = subscribers.c, list_rows.c
    chosen = s.source.in_([source.value for source in _OWN_CHOICES])
    own_list = s.source.in_([source.value for source in OWN_LISTS])
    statement = (
        update(subscribers)
        .where(*where, s.email == lr.email, s.row_hash != lr.row_hash)
        .values(
            address=lr.address,
            name=lr.name,
            outlet=lr.outlet,
            languages=case((chosen, s.languages), else_=lr.languages),
            regions=case((chosen, s.regions), else_=func.coalesce(lr.regions, "")),
            topics=case((chosen, s.topics), else_=func.coalesce(lr.topics, "")),
            embargo=lr.embargo,
            lists=case((own_list, lr.list + " " + s.source), else_=lr.list),
            row_hash=lr.row_hash,
            updated_at=now,
        )
    )
    return int(conn.execute(statement).rowcount)


def _insert_alone(conn: Connection, where: list[Any], now: datetime) -> int:
    """``_upsert``'s insert, in SQL, for the new journalists named on one row each."""
    lr = list_rows.c
    given: dict[str, Any] = {
        "email": lr.email,
        "address": lr.address,
        "name": lr.name,
        "outlet": lr.outlet,
        "languages": lr.languages,
        "regions": func.coalesce(lr.regions, ""),
        "topics": func.coalesce(lr.topics, ""),
        "embargo": lr.embargo,
        "lists": lr.list,
        "row_hash": lr.row_hash,
        "source": literal(Source.CSV.value),
        "status": literal(SubscriberStatus.ACTIVE.value),
        "status_reason": literal(""),
        "created_at": literal(now, subscribers.c.created_at.type),
        "updated_at": literal(now, subscribers.c.updated_at.type),
    }
    for column in subscribers.columns:  # the rest take their Python-side default
        if column.name not in given and isinstance(column.default, ScalarElementColumnDefault):
            given[column.name] = literal(column.default.arg, column.type)
    known = select(subscribers.c.id).where(subscribers.c.email == lr.email).exists()
    chosen = select(*(value.label(name) for name, value in given.items())).where(*where, ~known)
    statement = subscribers.insert().from_select(list(given), chosen)
    # Counted from what it returns: an INSERT … SELECT's row count is not reported
    # through SQLAlchemy on PostgreSQL (-1).
    return len(conn.execute(statement.returning(subscribers.c.id)).all())


def delist(after: int, now: datetime, window: int, conn: Connection) -> tuple[int | None, int]:
    """Whoever the lists no longer name loses the lists' membership, for the next
    ``window`` ids.

    One who subscribed by other means (the web form, the API) keeps that list.
    """
    ids = conn.scalars(
        select(subscribers.c.id)
        .where(subscribers.c.id > after)
        .order_by(subscribers.c.id)
        .limit(window)
    ).all()
    if not ids:
        return None, 0
    remaining = case((subscribers.c.source.in_(OWN_LISTS), subscribers.c.source), else_="")
    named = select(list_rows.c.seq).where(list_rows.c.email == subscribers.c.email).exists()
    result = conn.execute(
        update(subscribers)
        .where(
            subscribers.c.id > after,
            subscribers.c.id <= ids[-1],
            subscribers.c.source.in_(list(Source)),
            subscribers.c.lists != remaining,
            ~named,
        )
        .values(lists=remaining, row_hash="", updated_at=now)
    )
    return ids[-1], int(result.rowcount)


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


def _upsert(conn: Connection, people: list[Subscriber], now: datetime) -> int:
    """Insert the new, update the changed; return how many.

    A journalist who chose their own languages, regions and topics (``self``, or
    subscribed through the web form or the API) keeps them; the lists still decide the
    rest (name, outlet, embargo clearance, list membership).
    """
    columns = [subscriber_columns(person) for person in people]
    known = {row.email: row for row in _known(conn, [c["email"] for c in columns])}
    new = [
        c
        | {
            "source": Source.CSV.value,  # the driver takes the text, not the enum
            "status": SubscriberStatus.ACTIVE.value,
            "status_reason": "",
            "created_at": now,
        }
        for c in columns
        if c["email"] not in known
    ]
    changed = [
        c for c in columns if c["email"] in known and known[c["email"]].row_hash != c["row_hash"]
    ]
    if new:
        insert_many(conn, subscribers, [c | {"updated_at": now} for c in new])
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
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == bindparam("v_id"))
            .values({key: bindparam(f"v_{key}") for key in names} | {"updated_at": now}),
            values,
        )
    return len(new) + len(changed)


def _known(conn: Connection, emails: list[str]) -> Iterable[Any]:
    """The journalists stored under ``emails``: their email, id, row_hash and source."""
    if conn.dialect.name == "postgresql":
        # One array, not hundreds of parameters for psycopg to splice into the text.
        return conn.exec_driver_sql(_KNOWN_POSTGRESQL, {"emails": emails})
    c = subscribers.c
    return conn.execute(select(c.email, c.id, c.row_hash, c.source).where(c.email.in_(emails)))


_KNOWN_POSTGRESQL = (
    "SELECT email, id, row_hash, source FROM subscribers WHERE email = ANY(%(emails)b::text[])"
)

_CHOSEN = ("languages", "regions", "topics")  # what a journalist's own choice settles

_OWN_CHOICES = OWN_LISTS | {Source.SELF}
