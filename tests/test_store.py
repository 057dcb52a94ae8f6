"""The SQLite store under contention: a locked database delays a write, never loses it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from pressdispatch.content.subscribers import load_subscribers
from pressdispatch.model import DeliveryStatus, Subscriber, Tier
from pressdispatch.pipeline import tick
from pressdispatch.regions import load_regions
from pressdispatch.store.codec import subscriber_from_row
from pressdispatch.store.db import open_database, sync_engine
from pressdispatch.store.ledger import Ledger
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.ports import Planned, Update
from pressdispatch.store.schema import deliveries, releases, subscribers

from . import postgres
from .dispatching import Newsroom, database_url, runtime, utc

pytestmark = pytest.mark.databases("sqlite", "postgresql")

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


@pytest.mark.databases("sqlite")
async def test_the_store_opens_while_another_process_is_setting_the_file_up(
    tmp_path: Path,
) -> None:
    """Processes started together on a new SQLite file (`run` beside a `worker`): one of
    them turning the file to WAL or migrating it holds it; the others wait, not fail."""
    path = tmp_path / "store.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE setting_up (x)")
    other.execute("BEGIN EXCLUSIVE")  # rollback journal: nobody may even read meanwhile
    release = threading.Timer(0.3, other.execute, ("COMMIT",))
    release.start()
    try:
        db = await asyncio.to_thread(open_database, f"sqlite:///{path}")
    finally:
        release.join()
        other.close()
    await db.dispose()
    await upgrade(f"sqlite:///{path}")


@pytest.mark.databases("sqlite")
def test_connections_racing_to_turn_a_new_file_to_wal_all_get_in(tmp_path: Path) -> None:
    """Eight connections open each new file at once, as the processes of a service
    started together do. SQLite answers "locked" at once, without its busy wait, to a
    connection that would deadlock with another one turning the file to WAL: before it
    tried again, some of these 50 files left a connection out, every run."""
    refused: list[str] = []

    def connect(url: str, start: threading.Barrier) -> None:
        engine = sync_engine(url)
        start.wait()
        try:
            with engine.connect() as conn:
                conn.execute(select(1))
        except OperationalError as exc:
            refused.append(f"{url}: {exc.orig}")
        finally:
            engine.dispose()

    for n in range(50):
        start = threading.Barrier(8)
        url = f"sqlite:///{tmp_path / f'store-{n}.db'}"
        threads = [threading.Thread(target=connect, args=(url, start)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert refused == []


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
        [claim] = await ledger.claim("w1", NOW, 10, NOW + timedelta(minutes=5))

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
            ledger.record(
                [Update(claim.id, claim.token, DeliveryStatus.SENT, 250, "250 OK", sent_at)]
            )
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
        [claim] = await ledger.claim("w1", NOW, 10, NOW + timedelta(minutes=5))
        later = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # whole seconds: no fraction to drop
        await ledger.record(
            [
                Update(
                    claim.id,
                    claim.token,
                    DeliveryStatus.DEFERRED,
                    451,
                    "451 later",
                    NOW,
                    due_at=later,
                )
            ]
        )
        # The store compares times as stored: the deferred row is due exactly then, not before.
        assert await ledger.claim("w1", later - timedelta(microseconds=1), 10, later) == []
        assert await ledger.next_due() == later
        [again] = await ledger.claim("w1", later, 10, later + timedelta(minutes=5))
        assert again.id == claim.id and again.attempts == 2
    finally:
        await db.dispose()


async def test_sending_goes_on_after_postgresql_drops_the_engines_connections(
    tmp_path: Path,
) -> None:
    """A server restart or failover between two batches: the engine's next claim and
    outcome go through on new connections, and the outcome is still fenced."""
    urls = database_url("postgresql", tmp_path)
    url = next(urls)
    db = open_database(url)
    ledger = Ledger(db)
    try:
        await db.transaction(_seed)
        await ledger.plan("launch", [Planned(1, "en", Tier.PUBLIC, "<m@example.org>")], NOW)
        lease = timedelta(minutes=5)
        [claim] = await ledger.claim("w1", NOW, 10, NOW + lease)
        with psycopg.connect(postgres.ADMIN_URL, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [make_url(url).database],
            ).fetchone()
        assert ended is not None and ended[0] >= 1

        stale = Update(claim.id, "not-the-token", DeliveryStatus.SENT, 250, "250 OK", NOW)
        assert await ledger.record([stale]) == {claim.id}
        done = Update(claim.id, claim.token, DeliveryStatus.SENT, 250, "250 OK", NOW)
        assert await ledger.record([done]) == set()
        assert await ledger.claim("w1", NOW + 2 * lease, 10, NOW + 3 * lease) == []
        async with db.engine.connect() as conn:
            row = (await conn.execute(select(deliveries))).mappings().one()
        assert (row["status"], row["sent_at"], row["lease_until"]) == ("sent", NOW, None)
    finally:
        await db.dispose()
        for _ in urls:  # drop the throwaway database
            pass


async def _stored(newsroom: Newsroom) -> dict[str, Subscriber]:
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        rows = (await conn.execute(select(subscribers))).mappings().all()
    return {row["email"]: subscriber_from_row(row) for row in rows}


async def test_the_store_holds_the_lists_merged_and_follows_their_edits(
    newsroom: Newsroom,
) -> None:
    # More journalists than one staging batch, so merging spans batches.
    crowd = [f"j{i:05d}@example.org,J{i},en,,," for i in range(2500)]
    newsroom.subscribers(
        "a-wire",
        ["zoe@example.org,Zoë,fr en,europe,health,no", "ben@example.org,Ben,en,,,no", *crowd],
    )
    newsroom.subscribers(
        "b-health",
        [
            "ZOE@example.org,,es fr,africa,climate,yes",  # same journalist, another list
            "ben@example.org,Benjamin,ru,FR,,no",
            "j01234@example.org,,fr,,,yes",
        ],
    )
    settings = newsroom.settings()
    expected, problems = load_subscribers(settings.paths.subscribers, load_regions())
    assert problems == []
    async with runtime(settings) as rt:
        await tick(rt, utc(0))
    stored = await _stored(newsroom)
    assert stored == {person.key: person for person in expected}
    zoe = stored["zoe@example.org"]
    assert zoe.languages == ("fr", "en", "es") and zoe.embargo
    assert zoe.regions == {"europe", "africa"} and zoe.lists == ("a-wire", "b-health")
    assert stored["ben@example.org"].regions == frozenset()  # "everything" on one list wins

    # Ben leaves the health list, the wire list goes away: lists follow, status stays.
    newsroom.subscribers("b-health", ["ben@example.org,Benjamin,ru,FR,,no"])
    (settings.paths.subscribers / "a-wire.csv").unlink()
    async with runtime(settings) as rt:
        report = await tick(rt, utc(60))
    assert report.subscribers_changed == 1 + 2501  # Ben edited; Zoë and the crowd delisted
    stored = await _stored(newsroom)
    assert stored["ben@example.org"].lists == ("b-health",)
    assert stored["ben@example.org"].languages == ("ru",)
    assert stored["zoe@example.org"].lists == ()
    assert len(stored) == 2502


async def test_a_web_subscriber_keeps_their_own_subscription_whatever_the_lists_say(
    newsroom: Newsroom,
) -> None:
    def subscribed_on_the_web(conn: Connection) -> None:
        conn.execute(
            subscribers.insert().values(
                email="ines@example.org",
                address="ines@example.org",
                languages="es",
                lists="web",
                source="web",
                created_at=NOW,
                updated_at=NOW,
            )
        )

    newsroom.subscribers("press", ["ana@example.org,Ana,fr,,,no"])
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        await rt.db.transaction(subscribed_on_the_web)
        await tick(rt, utc(0))
        newsroom.subscribers(
            "press", ["ana@example.org,Ana,fr,,,no", "ines@example.org,Inés,en,,,yes"]
        )
        await tick(rt, utc(60))
    ines = (await _stored(newsroom))["ines@example.org"]
    assert ines.lists == ("press", "web") and ines.embargo and ines.name == "Inés"
    assert ines.languages == ("es",)  # her own choice, not the list's

    newsroom.subscribers("press", ["ana@example.org,Ana,fr,,,no"])
    async with runtime(settings) as rt:
        await tick(rt, utc(120))
    assert (await _stored(newsroom))["ines@example.org"].lists == ("web",)  # still subscribed


async def test_a_list_edit_keeps_the_choices_of_a_journalist_who_set_their_own(
    newsroom: Newsroom,
) -> None:
    # Each is named on one row: the merge of such rows is done by the database itself.
    newsroom.subscribers(
        "press", ["ana@example.org,Ana,fr,europe,health,no", "ben@example.org,Ben,en,,,no"]
    )
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        await tick(rt, utc(0))
        assert await rt.journalists.set_preferences("ana@example.org", ["es"], [], [], utc(30))
        newsroom.subscribers(
            "press", ["ana@example.org,Ana M.,ru,africa,,yes", "ben@example.org,Ben,en,,,no"]
        )
        report = await tick(rt, utc(60))
    assert report.subscribers_changed == 1  # Ben's row is as it was
    ana = (await _stored(newsroom))["ana@example.org"]
    assert (ana.name, ana.embargo, ana.lists) == ("Ana M.", True, ("press",))
    assert (ana.languages, ana.regions, ana.topics) == (("es",), frozenset(), frozenset())
