"""Journalists who subscribed themselves on the web, and the subscriber export.

A confirmed signup is upserted into ``subscribers`` as ``active`` on the list
``web`` (``Directory.mailable`` sends to active journalists on at least one
list), ``source = "web"``:

- a new address gets a row of its own (never cleared for embargoes);
- an address the lists already name keeps its lists and gains ``web``; its
  name, outlet and address stay as the press office's lists give them;
- an address that was unsubscribed or bounced becomes active again: the
  journalist has just followed a link sent to that very address.

In every case the languages, regions and topics become the confirmed ones.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, select, update

from pressdispatch.model import Source, Subscriber, SubscriberStatus
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import subscribers

__all__ = ["EXPORT_COLUMNS", "WEB_LIST", "confirm", "export_rows"]

WEB_LIST = Source.WEB.value  # the list every web signup is on
CONFIRMED = "confirmed on the web"  # status_reason, for the press office
EXPORT_COLUMNS = (
    "email",
    "name",
    "outlet",
    "languages",
    "regions",
    "topics",
    "embargo",
    "lists",
    "status",
    "source",
)
_CHUNK = 1000


async def confirm(db: Database, signup: Subscriber, now: datetime) -> None:
    """Make ``signup.email`` an active subscriber on the ``web`` list, with its choices.

    ``signup`` is what the journalist confirmed; its ``embargo`` and ``lists`` are not used.
    """
    key = signup.email.lower()
    choices = {
        "languages": " ".join(dict.fromkeys(signup.languages)),
        "regions": " ".join(sorted(signup.regions)),
        "topics": " ".join(sorted(signup.topics)),
        "status": SubscriberStatus.ACTIVE,
        "status_reason": CONFIRMED,
        "source": Source.WEB,
        "updated_at": now,
    }
    new = choices | {
        "email": key,
        "address": signup.email,
        "name": signup.name,
        "outlet": signup.outlet,
        "embargo": False,
        "lists": WEB_LIST,
        "row_hash": "",
        "created_at": now,
    }

    def work(conn: Connection) -> None:
        # ON CONFLICT: two confirmations of a new address at once make one row.
        added = conn.execute(
            insert(subscribers, db.dialect)
            .values(new)
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(subscribers.c.id)
        ).first()
        if added is not None:
            return
        row = conn.execute(select(subscribers.c.lists).where(subscribers.c.email == key)).one()
        lists = row.lists.split()
        values = dict(choices)
        if not set(lists) - {WEB_LIST}:  # on no list of the press office's: theirs to say
            values |= {"address": signup.email, "name": signup.name, "outlet": signup.outlet}
        values["lists"] = " ".join(lists if WEB_LIST in lists else [*lists, WEB_LIST])
        conn.execute(update(subscribers).where(subscribers.c.email == key).values(values))

    await db.transaction(work)


async def export_rows(db: Database, *, chunk: int = _CHUNK) -> AsyncIterator[list[list[str]]]:
    """Every journalist in the store as ``EXPORT_COLUMNS`` cells, by id, ``chunk`` at a time."""
    columns = [
        subscribers.c.id,
        subscribers.c.address,
        subscribers.c.name,
        subscribers.c.outlet,
        subscribers.c.languages,
        subscribers.c.regions,
        subscribers.c.topics,
        subscribers.c.embargo,
        subscribers.c.lists,
        subscribers.c.status,
        subscribers.c.source,
    ]
    query = select(*columns).where(subscribers.c.id > bindparam("after")).order_by(subscribers.c.id)
    last = 0
    while True:
        page = {"after": last}
        rows = await db.read(functools.partial(_page, query.limit(chunk), page))
        if not rows:
            return
        last = rows[-1].id
        yield [_cells(row) for row in rows]


def _page(query: Select[Any], values: dict[str, int], conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(query, values).all()


def _cells(row: Any) -> list[str]:
    return [
        row.address,
        row.name,
        row.outlet,
        row.languages,
        row.regions,
        row.topics,
        "yes" if row.embargo else "no",
        row.lists,
        row.status,
        row.source,
    ]
