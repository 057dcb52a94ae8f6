"""Helpers for dispatch tests: a newsroom on disk, a store (SQLite or PostgreSQL), a run."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import shutil
import sqlite3
import tempfile
import textwrap
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pressdispatch.cli import app
from pressdispatch.config import Settings, load_settings
from pressdispatch.dispatch.engine import RunStats
from pressdispatch.dispatch.transport import Transport
from pressdispatch.pipeline import TickReport
from pressdispatch.runtime import Runtime, open_runtime
from pressdispatch.service import Service
from pressdispatch.store.migrate import upgrade_sync

from . import postgres

ROOT = Path(__file__).resolve().parent.parent


def database_url(kind: str, tmp_path: Path, *, migrated: bool = True) -> Iterator[str]:
    """Yields the URL of a store of ``kind``; iterate once more to drop it. ``migrated``:
    the store starts with the tables (a SQLite file copied from one migrated once per
    test process, a PostgreSQL database from the migrated template); otherwise a SQLite
    file does not exist yet and a PostgreSQL database is empty."""
    if kind == "sqlite":
        path = tmp_path / "var" / "pressdispatch.db"
        if migrated:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_migrated_sqlite(), path)
        yield f"sqlite:///{path}"
        return
    if not postgres.available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {postgres.ADMIN_URL}")
        pytest.skip("PostgreSQL is not running")
    with postgres.database(migrated=migrated) as url:
        yield url


def sqlite_url(root: Path) -> str:
    """The URL of the newsroom's SQLite store at ``root``, migrated already."""
    return next(database_url("sqlite", root))


@functools.cache
def _migrated_sqlite() -> Path:
    """A SQLite file with every migration applied: copying it (a few ms) spares each
    test the migrations (some 30 ms of work each time)."""
    path = Path(tempfile.mkdtemp(prefix="pressdispatch-template-")) / "pressdispatch.db"
    upgrade_sync(f"sqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as conn:  # all of it in the file itself
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    atexit.register(shutil.rmtree, path.parent, ignore_errors=True)
    return path


@dataclass
class Newsroom:
    root: Path
    db_url: str

    def write_config(self, **sections: Mapping[str, Any]) -> Path:
        base: dict[str, dict[str, Any]] = {
            "newsroom": {
                "name": "Test Press Office",
                "base_url": "https://press.example.org",
                "timezone": "Europe/Paris",
                "from": "Test Press Office <press@example.org>",
                "reply_to": "media@example.org",
                "languages": ["en", "fr", "ru", "ar", "es", "zh"],
            },
            "paths": {"templates": str(ROOT / "templates")},
            "database": {"url": self.db_url},
            "scheduler": {"retry_initial": "0.2s", "retry_max": "1s", "scan_interval": "1s"},
            "web": {"port": 0},  # a service under test must not need port 8000
            # Tests count what journalists get; test_report.py turns the report on.
            "reports": {"email": False},
        }
        for name, values in sections.items():
            base.setdefault(name, {}).update(values)
        lines = []
        for name, values in base.items():
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {_toml(value)}" for key, value in values.items())
            lines.append("")
        path = self.root / "config.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def settings(self) -> Settings:
        return load_settings(self.root / "config.toml")

    def release(
        self,
        release_id: str,
        *,
        publish_at: datetime,
        embargo_send_at: datetime | None = None,
        languages: tuple[str, ...] = ("en", "fr"),
        regions: tuple[str, ...] = ("world",),
        topics: tuple[str, ...] = (),
        status: str = "ready",
        title: str = "Title",
    ) -> Path:
        folder = self.root / "releases" / release_id
        folder.mkdir(parents=True, exist_ok=True)
        meta = [
            f"publish_at = {publish_at.isoformat()}",
            f'status = "{status}"',
            f'original_language = "{languages[0]}"',
            f"regions = {_toml(list(regions))}",
            f"topics = {_toml(list(topics))}",
        ]
        if embargo_send_at is not None:
            meta.append(f"embargo_send_at = {embargo_send_at.isoformat()}")
        (folder / "release.toml").write_text("\n".join(meta) + "\n", encoding="utf-8")
        for lang in languages:
            text = f'+++\ntitle = "{title} ({lang})"\n+++\nBody of {release_id} in {lang}.\n'
            (folder / f"{lang}.md").write_text(text, encoding="utf-8")
        return folder

    def subscribers(
        self,
        name: str,
        rows: list[str],
        header: str = "email,name,languages,regions,topics,embargo",
    ) -> Path:
        folder = self.root / "subscribers"
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.csv"
        path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: a list of them is a [[section.key]]
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_newsroom(root: Path, db_url: str) -> Newsroom:
    (root / "releases").mkdir(parents=True, exist_ok=True)
    (root / "subscribers").mkdir(exist_ok=True)
    newsroom = Newsroom(root, db_url)
    newsroom.write_config()
    return newsroom


class Clock:
    """A clock a test sets by hand: ``clock.now = ...``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def utc(offset_seconds: float = 0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=offset_seconds)


@asynccontextmanager
async def runtime(
    settings: Settings, *, transport: Transport | None = None
) -> AsyncIterator[Runtime]:
    """The parts the service builds (store, renderer, transport), closed after."""
    rt = await open_runtime(settings, transport=transport)
    try:
        yield rt
    finally:
        await rt.close()


async def run_once(
    settings: Settings, *, now: datetime | None = None, transport: Transport | None = None
) -> tuple[TickReport, RunStats]:
    """What `pressdispatch run --once` does, in-process."""
    offset = (now - utc()) if now is not None else timedelta(0)

    def clock() -> datetime:  # time as the test says it is, still moving
        return utc() + offset

    service = await Service.open(settings, clock=clock, transport=transport)
    try:
        done = await service.run_once(asyncio.Event())
    finally:
        await service.close()
    return done.scan, done.stats


def cli(newsroom: Newsroom, *args: str, code: int = 0) -> Result:
    """Run `pressdispatch --config <newsroom>/config.toml ARGS`; check the exit status."""
    result = CliRunner().invoke(app, ["--config", str(newsroom.root / "config.toml"), *args])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"{args}: uncaught {result.exception!r}\n{result.output}"
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.output}"
    return result


def copy_sample(root: Path) -> None:
    for name in ("releases", "subscribers", "templates"):
        shutil.copytree(ROOT / name, root / name, dirs_exist_ok=True)


def dedent(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"
