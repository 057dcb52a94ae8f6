"""The migrations build exactly the tables store/schema.py describes, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pressdispatch.store.db import sync_engine
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.schema import metadata

from .dispatching import Newsroom


async def test_migrated_database_matches_the_schema(newsroom: Newsroom) -> None:
    await upgrade(newsroom.db_url)
    engine = sync_engine(newsroom.db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences: list[Any] = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
