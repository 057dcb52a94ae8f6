"""Read-only queries for the press office console: one page of journalists at a time.

Nothing here loads a whole table: the journalist search returns one page (``LIMIT``)
and a count. Writes go through
``Directory`` and ``Catalog``, as they do for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, literal, or_, select

from pressdispatch.store.codec import storable
from pressdispatch.store.db import Database
from pressdispatch.store.schema import subscribers

__all__ = ["PER_PAGE", "Found", "SubscriberQuery", "find", "journalist"]

PER_PAGE = 50
_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class SubscriberQuery:
    """Filters of the journalist search; each empty one is left out.

    ``text`` is a substring of the address, name or outlet (any case); ``region`` and
    ``language`` are one canonical slug or code that the journalist's own cell names
    (an empty ``regions`` cell, meaning every region, does not match a region filter);
    ``status`` is active, unsubscribed or bounced.
    """

    text: str = ""
    region: str = ""
    language: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class Found:
    rows: list[dict[str, Any]]  # one page, by address
    total: int  # every match, for the page count


async def find(
    db: Database, query: SubscriberQuery, *, page: int = 1, per_page: int = PER_PAGE
) -> Found:
    """One page (1-based) of the journalists matching ``query``."""
    if not all(map(storable, (query.text, query.region, query.language, query.status))):
        return Found([], 0)  # nothing stored holds such a character
    where = _conditions(query)
    s = subscribers.c
    rows_query: Select[Any] = (
        select(
            s.email,
            s.address,
            s.name,
            s.outlet,
            s.languages,
            s.regions,
            s.topics,
            s.embargo,
            s.lists,
            s.status,
        )
        .where(*where)
        .order_by(s.email)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    count_query = select(func.count()).select_from(subscribers).where(*where)

    def work(conn: Connection) -> Found:
        total = int(conn.scalar(count_query) or 0)
        return Found([dict(row) for row in conn.execute(rows_query).mappings()], total)

    return await db.read(work)


async def journalist(db: Database, email: str) -> dict[str, Any] | None:
    """Every column of one journalist (address in any case), or None."""
    if not storable(email):
        return None
    query = select(subscribers).where(subscribers.c.email == email.lower())
    row = await db.read(lambda conn: conn.execute(query).mappings().first())
    return dict(row) if row is not None else None


def _conditions(query: SubscriberQuery) -> list[ColumnElement[bool]]:
    s = subscribers.c
    where: list[ColumnElement[bool]] = []
    text = query.text.strip().lower()
    if text:
        pattern = f"%{_escape_like(text)}%"
        where.append(
            or_(
                s.email.like(pattern, escape=_ESCAPE),
                func.lower(s.name).like(pattern, escape=_ESCAPE),
                func.lower(s.outlet).like(pattern, escape=_ESCAPE),
            )
        )
    if query.region:
        where.append(_has_word(s.regions, query.region))
    if query.language:
        where.append(_has_word(s.languages, query.language))
    if query.status:
        where.append(s.status == query.status)
    return where


def _has_word(column: Any, word: str) -> ColumnElement[bool]:
    """``column`` (space-separated words) contains ``word`` as a whole word."""
    padded = literal(" ") + column + literal(" ")
    result: ColumnElement[bool] = padded.like(f"% {_escape_like(word)} %", escape=_ESCAPE)
    return result


def _escape_like(text: str) -> str:
    for special in (_ESCAPE, "%", "_"):
        text = text.replace(special, _ESCAPE + special)
    return text
