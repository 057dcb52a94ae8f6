"""The SQLite store under contention: a locked database delays a write, never loses it."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, select

from pressdispatch.model import Tier
from pressdispatch.store.db import open_database
from pressdispatch.store.ledger import Ledger, Planned, Update
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.schema import deliveries, releases, subscribers

NOW = datetime(2026, 12, 1, 9, 30, 15, 250000, tzinfo=UTC)


def _seed(conn: Connection) -> None:
    conn.execute(
        releases.insert().values(
            id="launch",
            status="ready",
            publish_at=NOW,
            content_hash="",
            content="{}",
            present=True,
            updated_at=NOW,
        )
    )
    conn.execute(
        subscribers.insert().values(
            email="ana@example.org",
            address="ana@example.org",
            lists="press",
            created_at=NOW,
            updated_at=NOW,
        )
    )


async def test_a_write_waits_for_another_process_lock_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    await upgrade(f"sqlite:///{path}")
    db = open_database(f"sqlite:///{path}")
    ledger = Ledger(db)
    try:
        await db.transaction(_seed)
        await ledger.plan("launch", [Planned(1, "en", Tier.PUBLIC, "<m@example.org>")], NOW)
        [claim] = await ledger.claim(NOW, 10, NOW + timedelta(minutes=5))

        other = sqlite3.connect(path, isolation_level=None)  # another process, say `send`
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        sent_at = NOW + timedelta(seconds=2)
        write = asyncio.create_task(
            ledger.record([Update(claim.id, "sent", 250, "250 OK", sent_at)])
        )
        await asyncio.sleep(0.5)
        assert not write.done()  # still waiting for the lock...
        assert ticks >= 20  # ...while the event loop carries on
        other.execute("COMMIT")
        await asyncio.wait_for(write, 10)
        beat.cancel()
        other.close()

        async with db.engine.connect() as conn:
            row = (await conn.execute(select(deliveries))).mappings().one()
        assert (row["status"], row["last_code"], row["sent_at"]) == ("sent", 250, sent_at)
        assert row["lease_until"] is None
    finally:
        await db.dispose()


async def test_times_written_straight_to_the_driver_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await upgrade(f"sqlite:///{path}")
    db = open_database(f"sqlite:///{path}")
    ledger = Ledger(db)
    try:
        await db.transaction(_seed)
        await ledger.plan("launch", [Planned(1, "en", Tier.PUBLIC, "<m@example.org>")], NOW)
        [claim] = await ledger.claim(NOW, 10, NOW + timedelta(minutes=5))
        later = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # whole seconds: no fraction to drop
        await ledger.record([Update(claim.id, "deferred", 451, "451 later", NOW, due_at=later)])
        # The store compares times as stored: the deferred row is due exactly then, not before.
        assert await ledger.claim(later - timedelta(microseconds=1), 10, later) == []
        assert await ledger.next_due() == later
        [again] = await ledger.claim(later, 10, later + timedelta(minutes=5))
        assert again.id == claim.id and again.attempts == 2
    finally:
        await db.dispose()
