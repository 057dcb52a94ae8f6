"""Subscriber lists, however long, are merged in short transactions, and uploads of them
are merged by a background job: the rest of the service never waits for a list."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from pressdispatch import pipeline
from pressdispatch.content.subscribers import load_subscribers, read_lists
from pressdispatch.errors import Busy
from pressdispatch.model import Subscriber
from pressdispatch.regions import load_regions
from pressdispatch.runtime import Runtime
from pressdispatch.store.codec import subscriber_from_row
from pressdispatch.store.listsync import SyncProgress
from pressdispatch.store.schema import leases, subscribers

from .dispatching import Newsroom, make_newsroom, runtime, utc

HEADER = "email,name,outlet,languages,regions,topics,embargo"


def crowd(count: int, start: int = 0) -> list[str]:
    """``count`` journalists, one row each, with every column filled in."""
    languages = ("en", "fr en", "es", "ru en", "ar fr", "zh")
    regions = ("", "europe", "africa", "FR", "western-africa")
    topics = ("health", "", "")
    embargo = ("yes", "no", "no", "no")
    return [
        f"reporter{i:06d}@outlet{i % 97}.example.org,Reporter {i},Daily {i % 50},"
        f"{languages[i % 6]},{regions[i % 5]},{topics[i % 3]},{embargo[i % 4]}"
        for i in range(start, start + count)
    ]


class Writer(threading.Thread):
    """Another process writing to the SQLite file every 20 ms, waiting at most 5 s each time."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.done = threading.Event()
        self.writes = 0
        self.worst = 0.0
        self.errors: list[str] = []

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            while not self.done.is_set():
                began = time.perf_counter()
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "INSERT OR REPLACE INTO state (key, value) VALUES ('other', ?)",
                        (str(self.writes),),
                    )
                    conn.execute("COMMIT")
                    self.writes += 1
                except sqlite3.OperationalError as exc:
                    self.errors.append(str(exc))
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                self.worst = max(self.worst, time.perf_counter() - began)
                time.sleep(0.02)
        finally:
            conn.close()


async def test_a_long_list_never_holds_the_write_lock_for_long(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, f"sqlite:///{tmp_path / 'var' / 'pressdispatch.db'}")
    newsroom.subscribers("wire", crowd(20_000), header=HEADER)
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        writer = Writer(tmp_path / "var" / "pressdispatch.db")
        writer.start()
        try:
            report = pipeline.TickReport()
            await pipeline.sync_files(rt, utc(), report)
        finally:
            writer.done.set()
            await asyncio.to_thread(writer.join)
        async with rt.db.engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(subscribers))
    assert report.subscribers_changed == 20_000
    assert stored == 20_000
    assert writer.errors == []  # never "database is locked"
    assert writer.worst < 1.0, f"another writer waited {writer.worst:.2f} s for the lock"


async def _stored(rt: Runtime) -> dict[str, Subscriber]:
    async with rt.db.engine.connect() as conn:
        rows = (await conn.execute(select(subscribers))).mappings().all()
    return {row["email"]: subscriber_from_row(row) for row in rows}


async def test_a_sync_cut_short_is_finished_by_the_next_scan(newsroom: Newsroom) -> None:
    newsroom.subscribers("old", ["gone@example.org,Gone,,en,,,no", *crowd(10, 5000)], HEADER)
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        await pipeline.tick(rt, utc())
        (settings.paths.subscribers / "old.csv").unlink()
        newsroom.subscribers("wire", crowd(2500), header=HEADER)
        newsroom.subscribers("zz-desk", ["reporter000007@outlet7.example.org,,,es,,,yes"], HEADER)
        before = await rt.directory.fingerprint()

        stop = asyncio.Event()

        async def progress(state: SyncProgress) -> None:
            if state.merged >= 1000:
                stop.set()  # as a shutdown would, half-way through the merge

        rows = pipeline.rows_only(read_lists(settings.paths.subscribers, rt.regions), [])
        async with rt.directory.exclusive() as sync:
            done = await sync.run(rows, "unused", utc(), progress=progress, stop=stop)
        assert done is None
        assert await rt.directory.fingerprint() == before  # not recorded as done
        half = await _stored(rt)
        assert 1000 <= sum(1 for person in half.values() if "wire" in person.lists) < 2500
        assert half["gone@example.org"].lists == ("old",)  # the delisting had not begun

        report = await pipeline.tick(rt, utc())
        assert not report.lists_busy
        stored = await _stored(rt)
    expected, problems = load_subscribers(settings.paths.subscribers, load_regions())
    assert problems == []
    listed = {key: person for key, person in stored.items() if person.lists}
    assert listed == {person.key: person for person in expected}
    assert stored["gone@example.org"].lists == ()
    assert stored["reporter005000@outlet53.example.org"].lists == ()
    assert stored["reporter000007@outlet7.example.org"].lists == ("wire", "zz-desk")
    assert stored["reporter000007@outlet7.example.org"].embargo


async def test_one_sync_at_a_time_the_other_is_skipped_without_an_error(
    newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    newsroom.subscribers("press", ["ana@example.org,Ana,fr,,,no"])
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        async with rt.directory.exclusive():  # an import, or another process's scan
            report = await pipeline.tick(rt, utc())
            assert report.lists_busy
            with pytest.raises(Busy):
                async with rt.directory.exclusive():
                    pass
        assert await _stored(rt) == {}
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

        report = await pipeline.tick(rt, utc())  # the next scan picks the lists up
        assert not report.lists_busy
        assert list(await _stored(rt)) == ["ana@example.org"]

        # A process that died holding the lease loses it once it expires.
        newsroom.subscribers("press", ["ben@example.org,Ben,en,,,no"])

        def dead_holder(conn: Connection) -> None:
            conn.execute(leases.update().values(owner="dead", expires_at=utc(-1)))
            if not conn.execute(select(leases)).first():
                conn.execute(
                    leases.insert().values(
                        name="subscribers.sync", owner="dead", expires_at=utc(-1)
                    )
                )

        await rt.db.transaction(dead_holder)
        report = await pipeline.tick(rt, utc())
        assert not report.lists_busy
        assert (await _stored(rt))["ben@example.org"].lists == ("press",)
