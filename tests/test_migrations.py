"""The migrations build exactly the tables store/schema.py describes, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pressdispatch.store.db import sync_engine
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.schema import managed, metadata

from .dispatching import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: the PostgreSQL one is not cloned from the migrated template."""
    urls = database_url(request.param, tmp_path, migrated=False)
    yield next(urls)
    for _ in urls:  # drop it
        pass


async def test_migrated_database_matches_the_schema(empty_database: str) -> None:
    await upgrade(empty_database)
    engine = sync_engine(empty_database)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": managed}
            )
            differences: list[Any] = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
