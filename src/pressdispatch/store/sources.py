"""What the poller remembers of each ``[[sources]]`` feed or sitemap (polling.py).

Per source: how it answered last (ETag, Last-Modified), when it was polled, since
when and why it fails. Per entry it listed: its URL, GUID and the sha256 of its
article's text, and what became of it, so that no entry is imported twice,
whatever restarts in between. A failed entry is remembered with its error, and
not as seen: the next poll tries it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import source_entries, sources

__all__ = [
    "IMPORTED",
    "Known",
    "Seen",
    "SourceState",
    "failed_entries",
    "known",
    "polled",
    "record",
    "release_with_text",
    "states",
]

IMPORTED, SKIPPED, FAILED = "imported", "skipped", "failed"
_CHUNK = 500  # values per IN (...): well under SQLite's and PostgreSQL's limits


@dataclass(frozen=True, slots=True)
class SourceState:
    url: str
    etag: str = ""
    last_modified: str = ""
    baselined_at: datetime | None = None  # its first listing was read then
    last_poll_at: datetime | None = None
    last_error: str = ""
    failing_since: datetime | None = None
    imported: int = 0  # entries that became releases


@dataclass(frozen=True, slots=True)
class Seen:
    """What became of one entry."""

    url: str
    state: str  # IMPORTED, SKIPPED or FAILED
    guid: str = ""
    sha256: str = ""
    release_id: str | None = None
    error: str = ""


@dataclass
class Known:
    """Of the entries a listing gives, those seen before."""

    urls: set[str] = field(default_factory=set)  # by any source
    guids: set[str] = field(default_factory=set)  # by this source


async def states(db: Database) -> dict[str, SourceState]:
    """Every source polled so far, by URL, with the count of its imports."""
    counts = (
        select(source_entries.c.source_url, func.count().label("n"))
        .where(source_entries.c.state == IMPORTED)
        .group_by(source_entries.c.source_url)
    )

    def work(conn: Connection) -> dict[str, SourceState]:
        imported = {row.source_url: int(row.n) for row in conn.execute(counts)}
        return {
            row.url: _state(row, imported.get(row.url, 0)) for row in conn.execute(select(sources))
        }

    return await db.read(work)


def _state(row: Any, imported: int) -> SourceState:
    return SourceState(
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        baselined_at=row.baselined_at,
        last_poll_at=row.last_poll_at,
        last_error=row.last_error,
        failing_since=row.failing_since,
        imported=imported,
    )


async def known(db: Database, source_url: str, urls: Sequence[str], guids: Sequence[str]) -> Known:
    """Which of ``urls`` (listed by any source) and ``guids`` (by this one) were seen."""
    seen = source_entries.c.state != FAILED

    def work(conn: Connection) -> Known:
        found = Known()
        for chunk in _chunks(urls):
            query = select(source_entries.c.url).where(seen, source_entries.c.url.in_(chunk))
            found.urls.update(conn.scalars(query))
        for chunk in _chunks([g for g in guids if g]):
            query = select(source_entries.c.guid).where(
                seen,
                source_entries.c.source_url == source_url,
                source_entries.c.guid.in_(chunk),
            )
            found.guids.update(conn.scalars(query))
        return found

    return await db.read(work)


async def failed_entries(db: Database, source_url: str) -> dict[str, str]:
    """The entries of a source whose import failed (tried again at each poll): URL → why."""
    query = select(source_entries.c.url, source_entries.c.error).where(
        source_entries.c.source_url == source_url, source_entries.c.state == FAILED
    )
    return await db.read(lambda conn: {row.url: row.error for row in conn.execute(query)})


async def release_with_text(db: Database, sha256: str) -> str | None:
    """The release imported from a page with this text, by any source."""
    query = (
        select(source_entries.c.release_id)
        .where(source_entries.c.sha256 == sha256, source_entries.c.state == IMPORTED)
        .limit(1)
    )
    return await db.read(lambda conn: conn.scalar(query))


async def record(db: Database, source_url: str, entries: Iterable[Seen], now: datetime) -> None:
    """Remember what became of these entries; an import stays recorded as one."""
    rows = [
        {
            "source_url": source_url,
            "url": e.url,
            "guid": e.guid,
            "sha256": e.sha256,
            "release_id": e.release_id,
            "state": e.state,
            "error": e.error,
            "seen_at": now,
        }
        for e in entries
    ]
    if not rows:
        return
    statement = insert(source_entries, db.dialect)
    statement = statement.on_conflict_do_update(
        index_elements=["source_url", "url"],
        set_={
            name: statement.excluded[name]
            for name in ("guid", "sha256", "release_id", "state", "error", "seen_at")
        },
        where=source_entries.c.state != IMPORTED,
    )

    def work(conn: Connection) -> None:
        for start in range(0, len(rows), _CHUNK):
            conn.execute(statement, rows[start : start + _CHUNK])

    await db.transaction(work, long=len(rows) > _CHUNK)


async def polled(
    db: Database,
    url: str,
    now: datetime,
    *,
    error: str = "",
    etag: str | None = None,
    last_modified: str | None = None,
    baselined: bool = False,
) -> None:
    """Record a poll of the source at ``url``: its error (empty: it worked) and, when
    given, the validators its listing came with."""
    values: dict[str, Any] = {"last_poll_at": now, "last_error": error}
    if etag is not None:
        values["etag"] = etag
    if last_modified is not None:
        values["last_modified"] = last_modified

    def work(conn: Connection) -> None:
        row = conn.execute(select(sources).where(sources.c.url == url)).first()
        if error:
            values["failing_since"] = (row.failing_since if row is not None else None) or now
        else:
            values["failing_since"] = None
        if baselined and (row is None or row.baselined_at is None):
            values["baselined_at"] = now
        if row is None:
            conn.execute(
                sources.insert().values({"url": url, "etag": "", "last_modified": ""} | values)
            )
        else:
            conn.execute(sources.update().where(sources.c.url == url).values(values))

    await db.transaction(work)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
