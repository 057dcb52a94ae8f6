"""Alembic migrations, applied on start and by `pressdispatch db upgrade`.

Every command opens the store, and so checks its schema. A store already at the
newest revision (the usual case) is recognised with one query, without importing
Alembic, which alone costs a command a seventh of a second to start.
"""

from __future__ import annotations

import asyncio
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pressdispatch.store.db import sync_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision) = "([^"]+)"', re.M)


def _config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - only when migrating

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision in migrations/versions: the one no other revision follows."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if key == "revision" else parents).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    head: str = heads.pop()
    return head


def _at_head(url: str) -> bool:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no such table yet: a new store
        return False
    finally:
        engine.dispose()
    return [row[0] for row in found] == [head_revision()]


def upgrade_sync(url: str, revision: str = "head") -> None:
    if revision == "head" and _at_head(url):
        return
    from alembic import command  # noqa: PLC0415 - only when migrating

    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Processes starting together must not race to create the same tables.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7270313)")
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; safe to call on every start."""
    await asyncio.to_thread(upgrade_sync, url, revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
