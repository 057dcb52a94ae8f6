"""Connections: one async engine per database URL, tuned per dialect.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
transaction starts with ``BEGIN IMMEDIATE`` so a writer takes the lock up front
instead of failing half-way with "database is locked". PostgreSQL is reached
through psycopg 3, the same driver for the async service and sync migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pressdispatch.errors import ConfigError

_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True, slots=True)
class Database:
    url: str  # as configured
    engine: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


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


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
    else:
        engine = create_async_engine(async_url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return Database(url, engine)


def sync_engine(url: str) -> Engine:
    """A short-lived synchronous engine, for migrations."""
    _, sync_url = driver_urls(url)
    _ensure_folder(url)
    engine = create_engine(sync_url)
    if sync_url.startswith("sqlite"):
        _tune_sqlite(engine)
    return engine
