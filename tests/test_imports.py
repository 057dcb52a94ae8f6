"""Subscriber lists, however long, are merged in short transactions, and uploads of them
are merged by a background job: the rest of the service never waits for a list."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, func, select, update

from pressdispatch import list_imports, pipeline
from pressdispatch.config import Settings
from pressdispatch.content.subscribers import load_subscribers, read_lists
from pressdispatch.errors import Busy
from pressdispatch.model import Subscriber
from pressdispatch.regions import load_regions
from pressdispatch.runtime import Runtime
from pressdispatch.store import imports
from pressdispatch.store.codec import subscriber_from_row
from pressdispatch.store.imports import ImportJob
from pressdispatch.store.listsync import SyncProgress
from pressdispatch.store.schema import imports as import_jobs
from pressdispatch.store.schema import leases, subscribers
from pressdispatch.web.app import create_app

from .dispatching import Newsroom, make_newsroom, runtime, sqlite_url, utc

pytestmark = pytest.mark.databases("sqlite", "postgresql")

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
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    newsroom.subscribers("wire", crowd(8_000), header=HEADER)
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
    assert report.subscribers_changed == 8_000
    assert stored == 8_000
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
        before = await rt.journalists.fingerprint()

        stop = asyncio.Event()

        async def progress(state: SyncProgress) -> None:
            if state.merged >= 1000:
                stop.set()  # as a shutdown would, half-way through the merge

        rows = pipeline.rows_only(read_lists(settings.paths.subscribers, rt.regions), [])
        async with rt.journalists.exclusive() as sync:
            done = await sync.run(rows, "unused", utc(), progress=progress, stop=stop)
        assert done is None
        assert await rt.journalists.fingerprint() == before  # not recorded as done
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


async def test_a_list_written_again_with_the_same_bytes_is_not_merged_again(
    newsroom: Newsroom,
) -> None:
    path = newsroom.subscribers("wire", crowd(50), header=HEADER)
    settings = newsroom.settings()
    folder = settings.paths.subscribers
    async with runtime(settings) as rt:
        first = await pipeline.tick(rt, utc())
        assert first.subscribers_changed == 50
        # Another writer renames one journalist; only a list that changed undoes that.
        renamed = subscribers.c.email == "reporter000003@outlet3.example.org"
        async with rt.db.engine.begin() as conn:
            await conn.execute(
                update(subscribers).where(renamed).values(name="Renamed", row_hash="")
            )

        path.write_bytes(path.read_bytes())  # the nightly export, copied over again
        os.utime(path, ns=(1, 1))  # another time, for sure
        again = await pipeline.tick(rt, utc())
        assert again.subscribers_changed == 0
        assert (await _stored(rt))["reporter000003@outlet3.example.org"].name == "Renamed"
        # Remembered as merged: the next scan has nothing to read.
        assert await rt.journalists.fingerprint() == pipeline.folder_fingerprint(folder)

        newsroom.subscribers("wire", crowd(51), header=HEADER)  # one more row
        changed = await pipeline.tick(rt, utc())
        assert changed.subscribers_changed == 2  # the new row, and the name back as listed
        assert (await _stored(rt))["reporter000003@outlet3.example.org"].name == "Reporter 3"


async def test_a_scan_told_to_stop_leaves_the_merge_and_the_queue_to_the_next(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("wire", crowd(600), header=HEADER)
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        stop = asyncio.Event()
        stop.set()  # a shutdown asked for while the scan runs
        report = await pipeline.tick(rt, utc(), stop)
        assert report.started == []
        assert len(await _stored(rt)) < 600
        assert await rt.journalists.fingerprint() != pipeline.folder_fingerprint(
            settings.paths.subscribers
        )

        report = await pipeline.tick(rt, utc())  # the next start does it all
        assert [due.release_id for due, queued in report.started if queued] == ["launch"]
        assert len(await _stored(rt)) == 600


async def test_one_sync_at_a_time_the_other_is_skipped_without_an_error(
    newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    newsroom.subscribers("press", ["ana@example.org,Ana,fr,,,no"])
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        async with rt.journalists.exclusive():  # an import, or another process's scan
            report = await pipeline.tick(rt, utc())
            assert report.lists_busy
            with pytest.raises(Busy):
                async with rt.journalists.exclusive():
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


# -- uploads: a job in the background ---------------------------------------------------


PASSWORD = "correct horse battery staple"
TOKEN = "s3cret-api-token-for-imports"


@asynccontextmanager
async def serving(settings: Settings, rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The web app as `serve` runs it (its lifespan runs the import jobs), and a client."""
    app = create_app(rt)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def job_when(
    rt: Runtime, job_id: int, ready: Callable[[ImportJob], bool], timeout: float = 120
) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await imports.get(rt.db, job_id)
        assert job is not None
        if ready(job):
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"import {job_id} is still {job.state} after {timeout} s: {job}")


async def test_a_console_upload_is_merged_in_the_background_while_pages_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", PASSWORD)
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", ["ana@example.org,Ana,,fr,,,no"], HEADER)
    bad = ["not-an-address,Bad,,en,,,no", "eve@example.org,Eve,,xx,,,no"]
    upload = "\n".join([HEADER, *crowd(2_500), *bad, *crowd(2_500, 2_500)]) + "\n"
    settings = newsroom.settings()
    async with runtime(settings) as rt, serving(settings, rt) as http:
        await pipeline.tick(rt, utc())
        assert (await http.post("/admin/login", data={"password": PASSWORD})).status_code == 303
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await http.get("/admin")).text)
        assert csrf is not None
        began = time.monotonic()
        response = await http.post(
            "/admin/import",
            data={"csrf": unescape(csrf.group(1)), "list": "wire"},
            files={"file": ("wire.csv", upload.encode(), "text/csv")},
        )
        answered = time.monotonic() - began
        assert response.status_code == 303
        job_id = int(response.headers["location"].rsplit("/", 1)[1])

        answers: list[tuple[str, int, float]] = []
        while not (job := await imports.get(rt.db, job_id)) or not job.finished:
            for url in ("/healthz", "/feeds/en/all.atom", "/", f"/admin/imports/{job_id}"):
                began = time.monotonic()
                status = (await http.get(url)).status_code
                answers.append((url, status, time.monotonic() - began))
            await asyncio.sleep(0.05)
        page = await http.get(f"/admin/imports/{job_id}")
        async with rt.db.engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(subscribers))

    assert answered < 10  # the request stored the file; it did not merge it
    assert job.state == "done", job
    assert (job.rows_read, job.problem_count, job.rows_merged) == (5_000, 2, 5_001)
    assert stored == 5_001
    assert {(p.line, p.field) for p in job.problems} == {
        (2_502, "email"),
        (2_503, "languages"),
    }
    assert "2502" in page.text and "not a valid address" in page.text
    # At least one round of pages was asked for, and answered, while the import ran (how
    # many depends on the machine's speed).
    assert len(answers) >= 4
    assert [a for a in answers if a[1] != 200] == []
    worst = max(seconds for _, _, seconds in answers)
    assert worst < 5, f"a page took {worst:.2f} s"  # generous: it is a fraction of a second
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_import_is_taken_up_again_after_a_stop_or_a_crash(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}
    upload = ("\n".join([HEADER, *crowd(5000)]) + "\n").encode()
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        async with serving(settings, rt) as http:
            response = await http.put("/api/v1/lists/wire", content=upload, headers=auth)
            assert response.status_code == 202
            job_id = response.json()["id"]
            await job_when(rt, job_id, lambda job: job.state == "merging")
        # The service stopped half-way through the merge: the job waits for the next start.
        stopped = await imports.get(rt.db, job_id)
        assert stopped is not None
        assert (stopped.state, stopped.owner) == ("merging", None)
        assert await rt.journalists.fingerprint() is None
        async with serving(settings, rt):
            done = await job_when(rt, job_id, lambda job: job.finished)
        assert (done.state, done.rows_read, done.rows_merged) == ("done", 5000, 5000)
        assert len(await _stored(rt)) == 5000

        # A process that died while checking an upload: taken over once it is silent.
        async def chunks() -> AsyncIterator[bytes]:
            yield f"{HEADER}\nzoe@example.org,Zoë,,fr,,,yes\n".encode()

        job_id = await list_imports.receive(rt, "desk", False, chunks(), origin="api", now=utc())

        def died(conn: Connection) -> None:
            conn.execute(
                update(import_jobs)
                .where(import_jobs.c.id == job_id)
                .values(state="checking", owner="dead", heartbeat_at=utc(-3600))
            )

        await rt.db.transaction(died)
        uploads = settings.paths.subscribers / ".imports"
        for name, age in (("orphan", 7200), ("fresh", 0)):  # requests that died storing them
            (uploads / name).mkdir()
            (uploads / name / "x.csv").write_text("email\n")
            os.utime(uploads / name, (time.time() - age, time.time() - age))
        async with serving(settings, rt):
            done = await job_when(rt, job_id, lambda job: job.finished)
        assert done.state == "done"
        assert (await _stored(rt))["zoe@example.org"].lists == ("desk",)
        assert [p.name for p in uploads.iterdir()] == ["fresh"]  # the orphan is deleted
