"""Connections: one async engine per database URL, tuned per dialect.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
transaction starts with ``BEGIN IMMEDIATE`` so a writer takes the lock up front
instead of failing half-way with "database is locked". PostgreSQL is reached
through psycopg 3, the same driver for the async service and sync migrations; the
engine's hottest statements (a claim, a batch of outcomes) skip SQLAlchemy and go
to psycopg directly, each one prepared statement in its own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pressdispatch.errors import ConfigError

if TYPE_CHECKING:
    from pressdispatch.store.pgstatements import Statements

_BUSY_TIMEOUT_MS = 30_000
_CHECKPOINT_EVERY = 200  # inline commits between checkpoints (SQLite's own default: 1000 pages)
_READERS = 4  # SQLite: reads at once, each on a thread of its own (WAL readers never wait)
log = logging.getLogger(__name__)
T = TypeVar("T")


class Database:
    """The async engines, plus ``transaction`` and ``read``: a whole unit of work in one call.

    Every store module writes through ``transaction`` and reads through ``read``;
    none opens a connection of its own.

    On SQLite, ``transaction`` first runs right here on the event loop's thread,
    on a connection that never waits for the write lock: a short transaction
    costs tens of microseconds, where a hop to another thread costs
    milliseconds when the loop is busy (each hop waits for the GIL). Only when
    another connection holds the lock does the work go to a worker thread,
    whose connection waits as long as the busy timeout allows. On PostgreSQL it
    runs on a pooled async connection.
    """

    def __init__(
        self,
        url: str,
        engine: AsyncEngine,
        local: _Local | None = None,
        statements: Statements | None = None,
    ) -> None:
        self.url = url  # as configured
        self.engine = engine
        self._local = local
        self._thread = (
            ThreadPoolExecutor(1, thread_name_prefix="pressdispatch-sqlite") if local else None
        )
        self._readers = (
            ThreadPoolExecutor(_READERS, thread_name_prefix="pressdispatch-sqlite-read")
            if local
            else None
        )
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None
        self._statements = statements  # PostgreSQL's, for ``statement``

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def transaction(self, work: Callable[[Connection], T], *, long: bool = False) -> T:
        """Run ``work(connection)`` in one transaction, committed when it returns.

        ``work`` may be run twice (the first attempt rolled back), so it must
        only talk to the connection. A ``long`` one (hundreds of rows: a step of a
        list sync) runs on the worker thread on SQLite, so it never holds up the
        event loop for its whole length.
        """
        if self._local is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)
        if long:
            loop = asyncio.get_running_loop()
            waiting = self._local.waiting
            return await loop.run_in_executor(
                self._thread, _waiting, waiting, _in_transaction, work
            )
        return await self._run_local(_in_transaction, work)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in one read-only transaction. ``work`` must only read.

        On SQLite the whole of ``work`` runs on a reader thread, never holding up the
        event loop, in a deferred transaction: in WAL mode a read never waits for a
        writer (a long list sync, another process), where a BEGIN IMMEDIATE would queue
        behind it. One hop to that thread and back, where the async driver hops for each
        step of each statement (cursor, execute, fetch, close), each hop a wake-up of
        both threads, and on a busy machine each may wait for a core.
        """
        if self._local is None or self._readers is None:
            async with self.engine.connect() as conn:
                return await conn.run_sync(work)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, _read, self._local.reading, work)

    async def driver_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite only: ``transaction`` for a statement that goes straight to the driver.

        For the hottest statements, where SQLAlchemy's execution machinery costs
        ten times the statement itself. ``work`` may be run twice, like above.
        """
        if self._local is None:
            raise TypeError("driver_transaction is for SQLite")
        return await self._run_local(_in_driver_transaction, work)

    async def statement(
        self, query: LiteralString, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """PostgreSQL only: one statement in its own transaction, straight to psycopg.

        For the engine's statements, run for every batch: through SQLAlchemy's async
        layer a pool checkout, its liveness ping, BEGIN and COMMIT are a round trip
        each, and building the call costs more CPU than the statement. Here it is
        one round trip to a prepared statement. Returns the rows it returns, if any.
        """
        if self._statements is None:
            raise TypeError("statement is for PostgreSQL")
        return await self._statements.run(query, params)

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL only: ``rows`` (values in ``columns``' order) into ``table`` with COPY,
        in a transaction of its own: the bulk load, a fraction of the cost of INSERTs."""
        if self._statements is None:
            raise TypeError("copy is for PostgreSQL")
        await self._statements.copy(table, columns, rows)

    async def _run_local(self, run: Callable[[Any, Callable[[Any], T]], T], work: Any) -> T:
        assert self._local is not None
        local = self._local
        loop = asyncio.get_running_loop()
        try:
            result = run(local.at_once if run is _in_transaction else local.driver, work)
        except (OperationalError, sqlite3.OperationalError) as exc:
            if not _locked(exc):
                raise
            return await loop.run_in_executor(self._thread, _waiting, local.waiting, run, work)
        self._commits += 1
        if self._commits % _CHECKPOINT_EVERY == 0 and self._checkpoint is None:
            # Checkpoints write and sync the database file: never on the loop's thread.
            self._checkpoint = loop.run_in_executor(self._thread, _checkpoint, local.waiting)
            self._checkpoint.add_done_callback(self._checkpointed)
        return result

    def _checkpointed(self, future: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not future.cancelled() and future.exception() is not None:
            log.warning("WAL checkpoint failed: %s", future.exception())

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._statements is not None:
            await self._statements.close()
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        if self._local is not None and self._thread is not None:
            self._local.reading.dispose()
            self._local.at_once.dispose()
            self._local.driver.close()
            # That connection belongs to its thread: close it there.
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._thread, self._local.waiting.dispose)
            self._thread.shutdown(wait=True)


@dataclass(frozen=True, slots=True)
class _Local:
    """SQLite's connections besides the async engine's."""

    at_once: Engine  # never waits for the lock; used on the event loop's thread
    waiting: Engine  # waits up to the busy timeout; used on the worker thread
    driver: sqlite3.Connection  # like at_once, for driver_transaction
    reading: Engine  # deferred transactions, for reads; used on the reader threads


def _read(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:  # rolled back at the end: it only read
        return work(conn)


def _in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return work(conn)


def _in_driver_transaction(
    driver: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]
) -> T:
    driver.execute("BEGIN IMMEDIATE")
    try:
        result = work(driver)
    except BaseException:
        driver.execute("ROLLBACK")
        raise
    driver.execute("COMMIT")
    return result


def _waiting(engine: Engine, run: Callable[[Any, Callable[[Any], T]], T], work: Any) -> T:
    if run is not _in_driver_transaction:
        return run(engine, work)
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        result: T = run(driver, work)
        return result


def _checkpoint(engine: Engine) -> None:
    with engine.connect() as conn:  # on the driver: outside any transaction, as SQLite requires
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]


def _locked(exc: OperationalError | sqlite3.OperationalError) -> bool:
    code = getattr(exc.orig if isinstance(exc, OperationalError) else exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def driver_urls(url: str) -> tuple[str, str]:
    """(async URL, sync URL) for a configured ``sqlite:///`` or ``postgresql://`` URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return (
            str(parsed.set(drivername="sqlite+aiosqlite")),
            str(parsed.set(drivername="sqlite")),
        )
    if backend == "postgresql":
        psycopg = parsed.set(drivername="postgresql+psycopg")
        text = psycopg.render_as_string(hide_password=False)
        return text, text
    raise ConfigError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")


def _pragmas(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    # Another process may be turning a new file to WAL or migrating it: wait for it
    # here, even on a connection that never waits once it is open.
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    _to_wal(cursor)
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    if busy_timeout_ms == 0:
        # The connections that never wait run on the event loop: they leave
        # checkpoints, which sync the file to disk, to a worker thread.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _to_wal(cursor: Any) -> None:
    """Switch the file to WAL (a no-op once it is). SQLite answers "locked" at once,
    without its busy wait, to a connection that would deadlock with another one doing
    the same: this one tries again, for as long as a write would wait."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # sqlite3's error, or aiosqlite's adaptation of it
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.005)


def _tune_sqlite(
    engine: Engine, busy_timeout_ms: int = _BUSY_TIMEOUT_MS, *, begin: str = "BEGIN IMMEDIATE"
) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        _pragmas(dbapi_connection, busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def _ensure_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def open_database(url: str) -> Database:
    async_url, _ = driver_urls(url)
    _ensure_folder(url)
    if async_url.startswith("sqlite"):
        engine = create_async_engine(async_url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
        _tune_sqlite(engine.sync_engine)
        at_once = sync_engine(url, busy_timeout_ms=0, pool_size=1, max_overflow=0)
        waiting = sync_engine(url, pool_size=1, max_overflow=0)
        driver = sqlite3.connect(
            make_url(url).database or ":memory:", timeout=0, check_same_thread=False
        )
        _pragmas(driver, 0)
        reading = sync_engine(url, pool_size=_READERS, max_overflow=0, begin="BEGIN DEFERRED")
        return Database(url, engine, _Local(at_once, waiting, driver, reading))
    # psycopg itself (a twentieth of a second to import) is loaded only for PostgreSQL.
    from pressdispatch.store.pgstatements import Statements  # noqa: PLC0415

    engine = create_async_engine(async_url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    event.listen(engine.sync_engine, "connect", _custom_plans)
    return Database(url, engine, statements=Statements(url))


def _custom_plans(dbapi_connection: Any, _record: Any) -> None:
    """Every statement planned for the tables as they are now, on PostgreSQL.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    keep a generic plan, made for any value and with the statistics of that moment. A
    list sync fills ``subscribers`` from nothing: the generic plans made while it was
    nearly empty scanned the whole table, for every step of the merge and every chunk
    of journalists read to plan, each slower than the last (100,000 journalists: sync
    and plan in 282 s). Planning each time costs a fraction of a millisecond.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_custom_plan")
    cursor.close()
    dbapi_connection.commit()  # the SET began a transaction: the pool hands out none


def sync_engine(
    url: str,
    busy_timeout_ms: int = _BUSY_TIMEOUT_MS,
    *,
    begin: str = "BEGIN IMMEDIATE",
    **options: Any,
) -> Engine:
    """A synchronous engine: short-lived for migrations, or SQLite's transactions and reads."""
    _, sync_url = driver_urls(url)
    _ensure_folder(url)
    if sync_url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": busy_timeout_ms / 1000})
    engine = create_engine(sync_url, **options)
    if sync_url.startswith("sqlite"):
        _tune_sqlite(engine, busy_timeout_ms, begin=begin)
    return engine
