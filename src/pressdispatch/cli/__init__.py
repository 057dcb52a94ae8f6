"""The `pressdispatch` command: parse arguments, call the service (service.py), print.

Each submodule registers its commands on ``app``: content (check), dispatch (run, worker,
send, cancel, withdraw, retry, send-test), feeds, intake (import), plan (plan, preview),
report, status, web (serve), bounces (ingest, poll, list), db, sources (poll),
subscribers (export). ``COMMANDS`` says which registers what: a command imports only its
own module, so `pressdispatch feeds` does not pay for the web app or the sender.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from pressdispatch.config import Settings, load_settings
from pressdispatch.errors import PressDispatchError
from pressdispatch.runtime import database_error
from pressdispatch.service import Service

# Each command or group → the module under pressdispatch.cli that registers it, in the order
# of `pressdispatch --help` (tests/test_cli.py holds it to what the modules register).
COMMANDS: dict[str, str] = {
    "check": "content",
    "run": "dispatch",
    "worker": "dispatch",
    "send": "dispatch",
    "cancel": "dispatch",
    "withdraw": "dispatch",
    "retry": "dispatch",
    "send-test": "dispatch",
    "feeds": "feeds",
    "import": "intake",
    "plan": "plan",
    "preview": "plan",
    "report": "report",
    "status": "status",
    "serve": "web",
    "bounces": "bounces",
    "db": "database",
    "sources": "sources",
    "subscribers": "subscribers",
}


class _LazyCommands(TyperGroup):
    """The root group: a command's module is imported when the command is asked for.

    A name that is not in ``COMMANDS`` (a typo) and the list of commands (``--help``,
    no command) import them all, so the help and the "did you mean" are as complete as
    if every module had been imported at start. (``ctx`` and the commands are of the
    click that typer builds on: its own copy in recent versions.)
    """

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        self._take_in([COMMANDS[cmd_name]] if cmd_name in COMMANDS else COMMANDS.values())
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        self._take_in(COMMANDS.values())
        order = list(COMMANDS)
        return sorted(self.commands, key=lambda n: order.index(n) if n in order else len(order))

    def _take_in(self, modules: Iterable[str]) -> None:
        for module in modules:
            importlib.import_module(f"{__name__}.{module}")  # registers its commands on app
        if len(self.commands) < len(app.registered_commands) + len(app.registered_groups):
            # The click commands of what was just registered, built as typer builds them.
            built = typer.main.get_command(app)
            assert isinstance(built, TyperGroup)
            for name, command in built.commands.items():
                self.commands.setdefault(name, command)


app = typer.Typer(
    cls=_LazyCommands,
    help="pressdispatch: press releases to journalists by region and language, on time, once each.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class State:
    config: Path

    def settings(self) -> Settings:
        try:
            return load_settings(self.config)
        except PressDispatchError as exc:
            fail(str(exc))


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(code)


@asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[Service]:
    """The service, opened for one command and closed after it; a store that cannot be
    opened is one line naming the setting."""
    try:
        service = await Service.open(settings)
    except (PressDispatchError, SQLAlchemyError, OSError) as exc:
        fail(database_error(settings, exc))
    try:
        yield service
    finally:
        await service.close()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option("--config", "-c", envvar="PRESSDISPATCH_CONFIG", help="Path to config.toml."),
    ] = Path("config.toml"),
) -> None:
    ctx.obj = State(config)
    # click resolved the command (imported its module) before calling this: start-up is
    # over. The script turned the collector off for it (__main__.py); it freezes what was
    # loaded, which lives as long as the process, and turns the collector on again.
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def main() -> None:
    app()


__all__ = ["COMMANDS", "State", "app", "err", "fail", "main", "open_service", "out"]
