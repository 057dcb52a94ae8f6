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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Table

from pressdispatch.content.subscribers import Row
from pressdispatch.errors import Busy
from pressdispatch.pacing import batches
from pressdispatch.store import leases
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.listmerge import (
    clear_some,
    delist,
    insert_staged,
    merge_window,
    staged_row,
)
from pressdispatch.store.schema import list_rows, state, subscribers

__all__ = ["CONTENT", "FINGERPRINT", "LEASE", "ListSync", "Progress", "SyncProgress"]

FINGERPRINT = "subscribers.fingerprint"  # ``state`` key: the lists as last merged in full
CONTENT = "subscribers.content"  # ``state`` key: the digest of those lists' bytes
LEASE = "subscribers.sync"
_CHUNK = 500  # journalists (or list rows) per transaction, at most
# Rows staged per transaction, at most: a staged row is a plain insert, a few
# microseconds, and the reading cuts a chunk short after 50 ms (``batches``).
_STAGE = 2000
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
            numbered = (staged_row(seq, row) for seq, row in enumerate(rows))
            async with contextlib.aclosing(batches(numbered, _STAGE)) as chunks:
                async for staged in chunks:
                    await self._stage(staged)
                    state.staged += len(staged)
                    await report()
            state.total = state.staged
            await self._analyze(list_rows)
            after: str | None = ""
            while after is not None:
                step = functools.partial(merge_window, after, now, _MERGE)
                after, merged, changed = await self._step(step)
                state.merged += merged
                state.changed += changed
                await report()
            await self._analyze(subscribers)
            last: int | None = 0
            window = _CHUNK if self.db.dialect == "sqlite" else _DELIST_POSTGRESQL
            while last is not None:
                last, changed = await self._step(functools.partial(delist, last, now, window))
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
        while await self._step(clear_some):
            pass

    async def _stage(self, staged: list[dict[str, Any]]) -> None:
        """Rows into ``list_rows``: COPY on PostgreSQL, the driver's executemany on SQLite."""
        if self.db.dialect != "postgresql":
            await self._step(functools.partial(insert_staged, staged))
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


def _set_state(conn: Connection, key: str, value: str, dialect: str) -> None:
    statement = insert(state, dialect).values(key=key, value=value)
    conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
