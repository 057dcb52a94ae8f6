"""The list sync: every list's rows into the journalists, in short transactions.

Each transaction stages, merges or delists up to 500 journalists and commits,
so other writers (the ledger, the web form, a release sync) and, on SQLite, readers
wait a fraction of a second at most. Only one sync runs at a time (``Journalists.exclusive``
holds a lease). The fingerprint of the lists is stored only once the whole merge is
done: a sync cut short (stopped, crashed) leaves nothing a complete one would not
write, and the next one does the work again from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, bindparam, case, delete, func, literal, select, update
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from pressdispatch.content.subscribers import Row, merge
from pressdispatch.errors import Busy
from pressdispatch.model import OWN_LISTS, Source, Subscriber, SubscriberStatus
from pressdispatch.pacing import batches
from pressdispatch.store import leases
from pressdispatch.store.codec import columns_hash, subscriber_columns
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.schema import UtcDateTime, list_rows, sqlite_time, state, subscribers

__all__ = ["CONTENT", "FINGERPRINT", "LEASE", "ListSync", "Progress", "SyncProgress"]

FINGERPRINT = "subscribers.fingerprint"  # ``state`` key: the lists as last merged in full
CONTENT = "subscribers.content"  # ``state`` key: the digest of those lists' bytes
LEASE = "subscribers.sync"
_CHUNK = 500  # journalists (or list rows) per transaction, at most
# Rows staged per transaction, at most: a staged row is a plain insert, a few
# microseconds, and the reading cuts a chunk short after 50 ms (``batches``).
_STAGE = 2000
_CLEAR = 2000  # staged rows deleted per transaction
# Staged rows merged per transaction: most are merged in SQL, a few hundred
# microseconds a hundred rows, so SQLite's lock is held some tens of milliseconds.
_MERGE = 2000
# Journalists looked at per delisting transaction on PostgreSQL, which locks only the
# rows it changes (few or none): SQLite's whole-file lock asks for _CHUNK.
_DELIST_POSTGRESQL = 5000
_RENEW_EVERY = 10.0  # seconds between two renewals of the lease
_HOLD = 0.5  # seconds of holding SQLite's lock between two breaks, at most
_BREAK = 0.11  # seconds: longer than SQLite's longest sleep before a retry (100 ms)
T = TypeVar("T")


@dataclass
class SyncProgress:
    """Where a list sync stands: rows read from the lists, and rows merged so far."""

    staged: int = 0
    merged: int = 0
    total: int | None = None  # every row staged, once the lists are read
    changed: int = 0  # journalists added, changed or delisted


Progress = Callable[[SyncProgress], Awaitable[None]]


class _Stopped(Exception):
    pass


class ListSync:
    """One sync of every list into the store, by the holder of the lease."""

    def __init__(self, db: Database, owner: str, ttl: timedelta) -> None:
        self.db = db
        self._owner = owner
        self._ttl = ttl
        self._renewed = time.monotonic()
        self._stop: asyncio.Event | None = None
        self._held = 0.0  # seconds the lock was held since the last break (SQLite)

    async def run(
        self,
        rows: Iterable[Row],
        fingerprint: str,
        now: datetime,
        *,
        content: str = "",
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
    ) -> int | None:
        """Upsert everyone the lists name; whoever they no longer name gets no lists.

        ``rows`` are every list's rows, in list order. They are staged in the table
        ``list_rows`` and merged one journalist at a time in address order, so memory
        stays flat whatever the size of the lists. Returns how many journalists were
        added or changed; None when ``stop`` was set before the end (nothing is
        recorded as done). ``content`` is the digest of the lists' bytes, kept with the
        fingerprint: a list written again unchanged then needs no merge (``unchanged``).

        Status (unsubscribed, bounced) is never touched here: an address that
        opted out stays out even when a spreadsheet lists it again.
        """
        self._stop = stop
        state = SyncProgress()

        async def report() -> None:
            if progress is not None:
                await progress(state)

        try:
            await self._clear()
            # Staged as read, on the reading thread: hashing each row is half the work.
            numbered = (_staged(seq, row) for seq, row in enumerate(rows))
            async with contextlib.aclosing(batches(numbered, _STAGE)) as chunks:
                async for staged in chunks:
                    await self._stage(staged)
                    state.staged += len(staged)
                    await report()
            state.total = state.staged
            await self._analyze(list_rows)
            after: str | None = ""
            while after is not None:
                step = functools.partial(_merge, after, now, _MERGE)
                after, merged, changed = await self._step(step)
                state.merged += merged
                state.changed += changed
                await report()
            await self._analyze(subscribers)
            last: int | None = 0
            window = _CHUNK if self.db.dialect == "sqlite" else _DELIST_POSTGRESQL
            while last is not None:
                last, changed = await self._step(functools.partial(_delist, last, now, window))
                state.changed += changed
                await report()
            await self._step(functools.partial(self._done, fingerprint, content))
        except _Stopped:
            return None
        await report()
        self._stop = None  # done: what is left is tidying up
        await self._clear()
        return state.changed

    async def unchanged(self, fingerprint: str, content: str) -> None:
        """The lists were written again with the bytes last merged: only remember that."""
        await self._step(functools.partial(self._done, fingerprint, content))

    def _done(self, fingerprint: str, content: str, conn: Connection) -> None:
        _set_state(conn, FINGERPRINT, fingerprint, self.db.dialect)
        _set_state(conn, CONTENT, content, self.db.dialect)

    async def _analyze(self, table: Table) -> None:
        """PostgreSQL: fresh statistics for ``table``, just filled by the thousand.

        Until autovacuum gets to it, the planner takes a table that grew from nothing
        for a small one and scans it whole for each step that follows (the merge, the
        delisting, then each chunk of journalists read to plan: 33 ms each at 100,000
        journalists, where the index takes 0.4 ms). Sampling it costs a fraction of a
        second.
        """
        if self.db.dialect == "postgresql":
            await self._step(lambda conn: conn.exec_driver_sql(f"ANALYZE {table.name}"))

    async def _clear(self) -> None:
        if self.db.dialect == "postgresql":
            # Only the holder of the lease reads the table: TRUNCATE's lock holds up no one.
            await self._step(lambda conn: conn.exec_driver_sql("TRUNCATE list_rows"))
            return
        while await self._step(_clear_some):
            pass

    async def _stage(self, staged: list[dict[str, Any]]) -> None:
        """Rows into ``list_rows``: COPY on PostgreSQL, the driver's executemany on SQLite."""
        if self.db.dialect != "postgresql":
            await self._step(functools.partial(_insert_staged, staged))
            return
        columns = list(staged[0])
        rows = [[row[c] for c in columns] for row in staged]
        await self._paced(lambda: self.db.copy(list_rows.name, columns, rows))

    async def _step(self, work: Callable[[Connection], T]) -> T:
        """One short transaction, then a pause that leaves the database to others a while."""
        return await self._paced(lambda: self.db.transaction(work, long=True))

    async def _paced(self, transaction: Callable[[], Awaitable[T]]) -> T:
        """``transaction``, unless the sync was told to stop; then the lease renewed when
        due, and the pause (``_pause``)."""
        if self._stop is not None and self._stop.is_set():
            raise _Stopped
        began = time.perf_counter()
        result = await transaction()
        held = time.perf_counter() - began
        if time.monotonic() - self._renewed > _RENEW_EVERY:
            if not await leases.renew(self.db, LEASE, self._owner, self._ttl):
                raise Busy("the list sync lease expired and was taken over")
            self._renewed = time.monotonic()
        await asyncio.sleep(self._pause(held))
        return result

    def _pause(self, held: float) -> float:
        """How long to leave the database to others after a transaction that took ``held``.

        On SQLite a writer holds the whole file. Readers do not wait for it (WAL, and
        the store reads in deferred transactions), and this process's own writes run
        between two of these transactions; but a writer in another process, or on
        another connection, sleeps and tries again, up to 100 ms at a time. A break
        longer than that sleep, whenever the sync has held the file for ``_HOLD``
        since the last one, lets them in. PostgreSQL locks rows, not the file.
        """
        if self.db.dialect != "sqlite":
            return 0.0
        self._held += held
        if self._held < _HOLD:
            return 0.0
        self._held = 0.0
        return _BREAK


def _insert_staged(staged: list[dict[str, Any]], conn: Connection) -> None:
    _insert_many(conn, list_rows, staged)


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``table.insert()`` of ``rows`` (same keys each), through the driver's executemany.

    SQLAlchemy binds each value of each row through its type, which cost more than the
    insert itself at a hundred thousand journalists. The columns' Python-side defaults
    are filled in here, and times written as ``UtcDateTime`` writes them.
    """
    if conn.dialect.name != "sqlite":
        _insert_arrays(conn, table, rows)
        return
    names = list(rows[0])
    defaults = {
        column.name: column.default.arg
        for column in table.columns
        if column.name not in rows[0] and isinstance(column.default, ScalarElementColumnDefault)
    }
    columns = [*names, *defaults]
    times = {n for n in names if isinstance(table.c[n].type, UtcDateTime)}
    marks = ", ".join(["?"] * len(columns))
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    fixed = tuple(defaults.values())
    stored = functools.lru_cache(maxsize=4)(sqlite_time)  # a step's rows share their times
    values = [
        tuple(stored(row[n]) if n in times else row[n] for n in names) + fixed for row in rows
    ]
    conn.exec_driver_sql(statement, values)


def _insert_arrays(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: ``table.insert()`` of ``rows`` as one statement, each column an array.

    The driver's executemany sends one INSERT a row; the server then spends more on
    each statement than on its row. The arrays go in binary (``%b``): psycopg writes a
    text array in Python, quoting each element. Columns left out take their Python-side
    default.
    """
    names = list(rows[0])
    defaults = {
        column.name: column.default.arg
        for column in table.columns
        if column.name not in rows[0] and isinstance(column.default, ScalarElementColumnDefault)
    }
    times = {n for n in names if isinstance(table.c[n].type, UtcDateTime)}
    params = {
        n: [_stored_time(row[n]) for row in rows] if n in times else [row[n] for row in rows]
        for n in names
    } | {f"d_{n}": value for n, value in defaults.items()}
    arrays = [
        f"%({n})s::{table.c[n].type.compile(dialect=conn.dialect)}[]"
        if _nul(params[n])  # the text format, whose writer names the culprit: a NUL
        else f"%({n})b::{table.c[n].type.compile(dialect=conn.dialect)}[]"
        for n in names
    ]
    fixed = [f"%(d_{n})s" for n in defaults]
    columns = ", ".join([*names, *defaults])
    statement = (
        f"INSERT INTO {table.name} ({columns}) "  # noqa: S608
        f"SELECT {', '.join([*(f'a.{n}' for n in names), *fixed])} "
        f"FROM unnest({', '.join(arrays)}) AS a({', '.join(names)})"
    )
    conn.exec_driver_sql(statement, params)


def _nul(values: list[Any]) -> bool:
    """Whether a text among ``values`` holds a NUL, which PostgreSQL refuses.

    In binary the server refuses it as an "invalid byte sequence"; psycopg's text
    format refuses it first, saying that text fields cannot contain NUL.
    """
    return any(isinstance(v, str) and "\x00" in v for v in values)


def _stored_time(value: datetime | None) -> Any:
    """PostgreSQL: a time as ``UtcDateTime`` stores it (naive UTC)."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _clear_some(conn: Connection) -> int:
    some = select(list_rows.c.seq).order_by(list_rows.c.seq).limit(_CLEAR).scalar_subquery()
    return int(conn.execute(delete(list_rows).where(list_rows.c.seq.in_(some))).rowcount)


def _merge(after: str, now: datetime, window: int, conn: Connection) -> tuple[str | None, int, int]:
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


def _delist(after: int, now: datetime, window: int, conn: Connection) -> tuple[int | None, int]:
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


def _set_state(conn: Connection, key: str, value: str, dialect: str) -> None:
    statement = insert(state, dialect).values(key=key, value=value)
    conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def _staged(seq: int, row: Row) -> dict[str, Any]:
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
        _insert_many(conn, subscribers, [c | {"updated_at": now} for c in new])
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
