"""Reads of many journalists, a bounded chunk at a time: the recipients the planner
streams, the console's search (one page and a count), and the export.

Nothing here loads a whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal, or_, select

from pressdispatch.model import SubscriberStatus
from pressdispatch.store.codec import storable
from pressdispatch.store.journalists.record import Addressee, Journalist, journalist
from pressdispatch.store.schema import subscribers

__all__ = [
    "PER_PAGE",
    "Chunk",
    "Found",
    "SubscriberQuery",
    "addressees",
    "everyone",
    "mailable",
    "page",
]

PER_PAGE = 50
_ESCAPE = "\\"

Chunk = Callable[..., list[Journalist]]  # (conn, after=id, limit=n): the next ones, by id


@dataclass(frozen=True, slots=True)
class SubscriberQuery:
    """Filters of the journalist search; each empty one is left out.

    ``text`` is a substring of the address, name or outlet (any case); ``region`` and
    ``language`` are one canonical slug or code that the journalist's own cell names
    (an empty ``regions`` cell, meaning every region, does not match a region filter).
    """

    text: str = ""
    region: str = ""
    language: str = ""
    status: SubscriberStatus | None = None


@dataclass(frozen=True, slots=True)
class Found:
    journalists: list[Journalist]  # one page, by address
    total: int  # every match, for the page count


def mailable(conn: Connection, after: int, limit: int) -> list[Journalist]:
    """Active journalists on at least one list, by id, the next ``limit`` after ``after``."""
    s = subscribers.c
    query = (
        select(subscribers)
        .where(s.id > after, s.status == SubscriberStatus.ACTIVE, s.lists != "")
        .order_by(s.id)
        .limit(limit)
    )
    return [journalist(row) for row in conn.execute(query)]


def addressees(conn: Connection, after: int, limit: int) -> list[Addressee]:
    """``mailable``'s journalists, with only what the planner needs: the next ``limit``
    after the id ``after``, by id."""
    s = subscribers.c
    query = (
        select(s.id, s.address, s.languages, s.regions, s.topics, s.embargo)
        .where(s.id > after, s.status == SubscriberStatus.ACTIVE, s.lists != "")
        .order_by(s.id)
        .limit(limit)
    )
    return [
        Addressee(id, address, (languages, regions, topics, bool(embargo)))
        for id, address, languages, regions, topics, embargo in conn.execute(query)
    ]


def everyone(conn: Connection, after: int, limit: int) -> list[Journalist]:
    """Every journalist, by id, the next ``limit`` after ``after``."""
    query = select(subscribers).where(subscribers.c.id > after).order_by(subscribers.c.id)
    return [journalist(row) for row in conn.execute(query.limit(limit))]


def page(conn: Connection, query: SubscriberQuery, number: int, per_page: int) -> Found:
    """One page (1-based) of the journalists matching ``query``, by address."""
    if not all(map(storable, (query.text, query.region, query.language))):
        return Found([], 0)  # nothing stored holds such a character
    where = _conditions(query)
    rows = (
        select(subscribers)
        .where(*where)
        .order_by(subscribers.c.email)
        .limit(per_page)
        .offset((max(number, 1) - 1) * per_page)
    )
    total = int(conn.scalar(select(func.count()).select_from(subscribers).where(*where)) or 0)
    return Found([journalist(row) for row in conn.execute(rows)], total)


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
    if query.status is not None:
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
