"""The engine's statements on PostgreSQL (store/pgledger.py) as the planner runs them.

The contract tests (test_store_contract.py) hold every store to the same answers; these
check what the answers cost on PostgreSQL, where a plan made for the wrong number of
rows reads the whole queue for every claim.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pressdispatch.model import DeliveryStatus, Release, Tier, Translation
from pressdispatch.store import pgledger
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.db import Database, open_database
from pressdispatch.store.ledger import Ledger
from pressdispatch.store.ports import Planned, Update

from .dispatching import database_url

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
QUEUED = 2000
LIMIT = 50


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    urls = database_url("postgresql", tmp_path)
    db = open_database(next(urls))
    try:
        yield db
    finally:
        await db.dispose()
        for _ in urls:  # drop the throwaway database
            pass


async def queue(db: Database, count: int) -> None:
    """One release queued for ``count`` journalists, planned as the planner does."""
    text_ = Translation("en", "Launch", "", "", "Text.", "<p>Text.</p>")
    launch = Release("launch", START - timedelta(minutes=1), "en", {"en": text_})
    await Catalog(db).sync([launch], START)
    await db.transaction(
        lambda conn: conn.execute(
            text(
                "INSERT INTO subscribers (email, address, created_at, updated_at, name, outlet,"
                " languages, regions, topics, embargo, lists, source, status, status_reason,"
                " row_hash, bounce_count, bounce_score, hard_days, last_diagnostic)"
                " SELECT 'j' || n || '@example.org', 'j' || n || '@example.org', :at, :at,"
                " '', '', 'en', '', '', false, '', 'csv', 'active', '', '', 0, 0, 0, ''"
                " FROM generate_series(1, :count) AS n"
            ),
            {"at": START.replace(tzinfo=None), "count": count},
        )
    )
    ids = await db.read(
        lambda conn: list(conn.scalars(text("SELECT id FROM subscribers ORDER BY id")))
    )
    rows = [Planned(i, "en", Tier.PUBLIC, f"<{i}.launch@example.org>") for i in ids]
    assert await Ledger(db).plan("launch", rows, START) == count


def row_counts(plan: dict[str, Any]) -> Iterator[int]:
    """The rows each node of an EXPLAIN (FORMAT JSON) plan returned, at every level."""
    yield int(plan["Actual Rows"]) * int(plan.get("Actual Loops", 1))
    for child in plan.get("Plans", []):
        yield from row_counts(child)


async def test_a_claim_reads_about_what_it_takes_whatever_the_statistics(db: Database) -> None:
    # Queued rows come and go between two ANALYZEs: the planner's statistics hardly
    # ever count them (here, none were taken since the rows were planned), and a plan
    # made for a handful of rows sorted every queued row for each claim.
    await queue(db, QUEUED)
    now = START + timedelta(seconds=1)
    params = pgledger.claim_params("w", now, LIMIT, now + timedelta(minutes=5), "token")
    explain = "EXPLAIN (ANALYZE, FORMAT JSON) "
    [[found]] = await db.statement(explain + pgledger.CLAIM, params)
    plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
    assert plan["Actual Rows"] == LIMIT  # the claim took its rows
    assert max(row_counts(plan)) <= 3 * LIMIT, "a node read far more rows than the claim took"


async def test_outcomes_are_found_by_id_by_a_plan_made_while_the_ledger_was_empty(
    db: Database,
) -> None:
    # The outcome statement's plan is made once per connection (and kept until the next
    # ANALYZE): made on an empty ledger, it must still look each outcome up by its id.
    explain = "EXPLAIN (ANALYZE, FORMAT JSON) "
    nothing = pgledger.record_params([])
    for _ in range(6):  # past the five runs after which a plan may be kept for good
        await db.statement(explain + pgledger.RECORD, nothing)
    await queue(db, QUEUED)
    now = START + timedelta(seconds=1)
    claims = await Ledger(db).claim("w", now, 5, now + timedelta(minutes=5))
    updates = [Update(c.id, c.token, DeliveryStatus.SENT, 250, "ok", now) for c in claims]
    [[found]] = await db.statement(explain + pgledger.RECORD, pgledger.record_params(updates))
    plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
    assert plan["Actual Rows"] == 5  # the outcomes were written
    assert max(row_counts(plan)) <= 5, "a node read more rows than there were outcomes"
