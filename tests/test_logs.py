"""What the long-running commands log: never a journalist's address or name, unless asked.

`-v` is what an operator turns on to see what the service does, and its output ends up
in the journal or a log collector; `--debug-sql` is the explicit choice to see every SQL
statement with its parameters, journalists' addresses and names among them. The
commands run as real processes, as an operator starts them, against a newsroom with one
known journalist and one release due now (SQLite, outbox transport).
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import typer
import typer.main
from typer.core import TyperGroup

from pressdispatch.cli import app
from pressdispatch.pipeline import tick

from .dispatching import Newsroom, make_newsroom, runtime, utc
from .smtpd import free_port

ADDRESS = "zelda.quux@example.org"
NAME = "Zelda Quuxington"
OUTLET = "Quux Gazette"
SECRETS = [ADDRESS, "zelda", "Quuxington", OUTLET, base64.urlsafe_b64encode(b"zelda")[:6].decode()]


@pytest.fixture
def newsroom(tmp_path: Path) -> Newsroom:
    newsroom = make_newsroom(tmp_path, f"sqlite:///{tmp_path / 'var' / 'pressdispatch.db'}")
    newsroom.subscribers(
        "press",
        [f"{ADDRESS},{NAME},{OUTLET},en,,,no", "ben@example.org,Ben,,en,,,no"],
        header="email,name,outlet,languages,regions,topics,embargo",
    )
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    return newsroom


def start(newsroom: Newsroom, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSDISPATCH_")}
    env |= {"PYTHONUNBUFFERED": "1", "PRESSDISPATCH_SIGNING_KEY": "log-test-signing-key"}
    config = newsroom.root / "config.toml"
    return subprocess.Popen(
        [sys.executable, "-m", "pressdispatch", "--config", str(config), *args],
        stdout=(newsroom.root / "stdout").open("wb"),
        stderr=(newsroom.root / "stderr").open("wb"),
        stdin=subprocess.DEVNULL,
        cwd=newsroom.root,
        env=env,
    )


def finish(
    newsroom: Newsroom, proc: subprocess.Popen[bytes], done: Callable[[], bool], *, stop: bool
) -> str:
    """Wait until ``done``, then for the process to exit (after SIGTERM if ``stop``); its log."""
    try:
        deadline = time.monotonic() + 60
        while not done() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done(), "the command did not do its work in time"
        if stop:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    log = (newsroom.root / "stderr").read_text(encoding="utf-8")
    return log + (newsroom.root / "stdout").read_text(encoding="utf-8")


def sent(newsroom: Newsroom) -> Callable[[], bool]:
    return lambda: len(list((newsroom.root / "var" / "outbox").glob("launch/*.eml"))) == 2


def synced(newsroom: Newsroom) -> Callable[[], bool]:
    def done() -> bool:
        try:
            with sqlite3.connect(newsroom.root / "var" / "pressdispatch.db") as db:
                rows = db.execute("SELECT count(*) FROM subscribers").fetchone()
        except sqlite3.Error:
            return False
        return bool(rows and rows[0] == 2)

    return done


def follows_links(port: int, done: Callable[[], bool]) -> Callable[[], bool]:
    """``done``, once the web app has answered a journalist's links (whose tokens name them)."""
    token = base64.urlsafe_b64encode(ADDRESS.encode()).decode().rstrip("=") + ".0.AAAA"
    answered: list[int] = []

    def check() -> bool:
        if not done():
            return False
        if not answered:
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as web:
                    for path in ("unsubscribe", "preferences", "confirm"):
                        answered.append(web.get(f"/{path}/{token}?lang=en").status_code)
            except httpx.TransportError:
                answered.clear()
                return False
        assert answered == [400, 400, 400]
        return True

    return check


def assert_private(log: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in log.lower(), f"{secret!r} in the log:\n{log[-3000:]}"


@pytest.mark.e2e
@pytest.mark.parametrize(
    "command", [["run", "--once"], ["run"], ["worker"], ["serve"]], ids=" ".join
)
def test_verbose_logs_carry_no_journalists_address_or_name(
    newsroom: Newsroom, command: list[str]
) -> None:
    if command == ["worker"]:  # a worker sends what the service queued
        asyncio.run(_queue(newsroom))
    port = free_port()
    newsroom.write_config(web={"port": port})
    proc = start(newsroom, *command, "-v")
    done = synced(newsroom) if command == ["serve"] else sent(newsroom)
    if command in (["run"], ["serve"]):  # a journalist follows their links meanwhile
        done = follows_links(port, done)
    log = finish(newsroom, proc, done, stop="--once" not in command)
    assert_private(log)
    assert " DEBUG pressdispatch" in log  # pressdispatch's own debug lines are there


@pytest.mark.e2e
def test_debug_sql_logs_the_statements_with_their_parameters(newsroom: Newsroom) -> None:
    proc = start(newsroom, "run", "--once", "--debug-sql")
    log = finish(newsroom, proc, sent(newsroom), stop=False)
    assert "INFO sqlalchemy.engine.Engine: INSERT INTO subscribers" in log
    assert ADDRESS in log
    assert "--debug-sql: SQL statements are logged with their parameters" in log


@pytest.mark.e2e
def test_run_once_says_each_problem_of_its_scan_once(newsroom: Newsroom) -> None:
    scripted = newsroom.release("scripted", publish_at=utc(3600), languages=("en",))
    (scripted / "en.md").write_text(
        '+++\ntitle = "Scripted"\n+++\nText.\n\n<script>alert(1)</script>\n', encoding="utf-8"
    )
    newsroom.release("broken", publish_at=utc(3600), regions=("atlantis",), languages=("en",))
    newsroom.subscribers("desk", ["ana@example.org,Ana,fr,4"], header="email,name,languages,room")
    proc = start(newsroom, "run", "--once")
    log = finish(newsroom, proc, sent(newsroom), stop=False)
    for problem in ("<script> removed", "unknown region 'atlantis'", "unknown column, ignored"):
        assert log.count(problem) == 1, f"{problem!r}:\n{log}"
    # The first run creates the store: each migration is one line, without Alembic's
    # own set-up chatter.
    assert "Running upgrade  -> 0001" in log
    assert "alembic.runtime.plugins" not in log


def test_every_command_with_verbose_offers_debug_sql() -> None:
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    ctx = typer.Context(command)  # listing them loads every command (cli/__init__.py)
    commands = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}
    verbose = {
        name
        for name, sub in commands.items()
        if any("--verbose" in param.opts for param in sub.params)
    }
    assert verbose >= {"run", "worker", "serve"}
    for name in verbose:
        options = {opt for param in commands[name].params for opt in param.opts}
        assert {"-v", "--debug-sql"} <= options, name


async def _queue(newsroom: Newsroom) -> None:
    async with runtime(newsroom.settings()) as rt:
        report = await tick(rt, utc())
        assert [queued for _, queued in report.started] == [2]
