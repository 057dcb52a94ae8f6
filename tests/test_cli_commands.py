"""Which code a command loads: its own module (cli/__init__.py ``COMMANDS``), and none of
the libraries it does not use, so that `pressdispatch feeds --out` from cron starts fast."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

import pressdispatch.cli
from pressdispatch.cli import COMMANDS, app

from .dispatching import make_newsroom, sqlite_url

# What only some commands need: the web app, the sender's and the poller's libraries.
HEAVY = {
    "fastapi",  # the web app (serve, run)
    "starlette",
    "uvicorn",
    "httpx",  # a WebSub hub's ping, the press office's website (import, sources poll)
    "apscheduler",  # the scheduler of `run`
    "dkim",  # signing, when [dkim] is set
    "psycopg",  # PostgreSQL
    "imap_tools",  # the mailbox of returned mail (bounces poll, run)
    "aiosmtplib",  # the SMTP transport, when [transport] kind is smtp
    "pressdispatch.intake",  # import, sources poll
}

# Run the command line as the `pressdispatch` script does, then say what was imported
# and whether the garbage collector was on again (turned off for the start-up only).
_RUN = """
import gc, json, sys
from pressdispatch.__main__ import main
sys.argv = ["pressdispatch", *json.loads(sys.argv[1])]
try:
    main()
finally:
    print(f"\\ncollector on: {gc.isenabled()}, frozen: {gc.get_freeze_count()}")
    print("imported: " + json.dumps(sorted(sys.modules)))
"""


def _imported(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    *_, collector, last = done.stdout.rstrip().splitlines()
    assert last.startswith("imported: "), done.stdout + done.stderr
    if done.returncode == 0 and "--help" not in argv:
        # The command ran with the collector on, what start-up loaded frozen out of its way.
        match = re.fullmatch(r"collector on: True, frozen: (\d+)", collector)
        assert match is not None, collector
        assert int(match.group(1)) > 50_000
    return done, set(json.loads(last.removeprefix("imported: ")))


def _commands_of(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("pressdispatch.cli.")}


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(f"{h}.") for h in HEAVY)}


def test_the_map_names_every_command_and_the_module_that_registers_it() -> None:
    for info in pkgutil.iter_modules(pressdispatch.cli.__path__, "pressdispatch.cli."):
        importlib.import_module(info.name)
    registered = {
        (info.name or info.callback.__name__.replace("_", "-")): info.callback.__module__
        for info in app.registered_commands
        if info.callback is not None
    }
    for group in app.registered_groups:
        assert group.typer_instance is not None
        modules = {c.callback.__module__ for c in group.typer_instance.registered_commands}
        assert len(modules) == 1, (group.name, modules)
        registered[str(group.name)] = modules.pop()
    assert registered == {name: f"pressdispatch.cli.{module}" for name, module in COMMANDS.items()}


def test_help_lists_every_command_in_the_order_of_the_map() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = [n for n in re.findall(r"^│ (\S+) ", result.output, re.M) if n[0] != "-"]
    assert listed == list(COMMANDS)


def test_a_typo_still_suggests_the_command() -> None:
    result = CliRunner().invoke(app, ["chek"])
    assert result.exit_code == 2
    assert "No such command 'chek'. Did you mean 'check'?" in result.output


def test_help_of_one_command_loads_only_its_module() -> None:
    done, modules = _imported("feeds", "--help")
    assert done.returncode == 0, done.stderr
    assert "--out" in done.stdout
    assert _commands_of(modules) == {"pressdispatch.cli.feeds"}
    assert _heavy(modules) == set()
    done, modules = _imported("serve", "--help")
    assert done.returncode == 0, done.stderr
    assert "pressdispatch.cli.dispatch" not in modules  # run, worker... share no module with it


def test_help_of_everything_loads_every_command() -> None:
    done, modules = _imported("--help")
    assert done.returncode == 0, done.stderr
    assert {f"pressdispatch.cli.{m}" for m in COMMANDS.values()} <= _commands_of(modules)


def test_feeds_out_loads_neither_the_web_app_nor_the_sender(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    config = newsroom.write_config(newsroom={"languages": ["en", "fr"]})
    newsroom.release("old", publish_at=datetime(2020, 1, 1, tzinfo=UTC))
    argv = ("--config", str(config), "feeds", "--out", str(tmp_path / "site"))
    first, modules = _imported(*argv)
    assert first.returncode == 0, first.stderr
    assert " 0 unchanged" in first.stdout
    assert (tmp_path / "site" / "feeds" / "fr" / "all.atom").is_file()
    assert _commands_of(modules) == {"pressdispatch.cli.feeds"}
    assert _heavy(modules) == set()
    again, modules = _imported(*argv)
    assert again.returncode == 0, again.stderr
    assert "0 files written" in again.stdout
    assert _heavy(modules) == set()
    assert "snowballstemmer" not in modules  # nothing changed: nothing indexed for search
