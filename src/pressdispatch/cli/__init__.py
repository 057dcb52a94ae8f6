"""The `pressdispatch` command: parse arguments, call the service (service.py), print.

Each submodule registers its commands on ``app``: content (check), intake (import), plan (plan,
preview), dispatch (run, worker, send, cancel, retry, send-test), status,
report, db, bounces (ingest, poll, list), sources (poll).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.config import Settings, load_settings
from pressdispatch.errors import PressDispatchError
from pressdispatch.runtime import database_error
from pressdispatch.service import Service

app = typer.Typer(
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


def main() -> None:
    app()


# Registration order is the order of `pressdispatch --help`.
from pressdispatch.cli import (  # noqa: E402
    bounces,
    content,
    database,
    dispatch,
    feeds,
    intake,
    plan,
    report,
    sources,
    status,
    subscribers,
    web,
)

__all__ = [
    "app",
    "bounces",
    "content",
    "database",
    "dispatch",
    "feeds",
    "intake",
    "main",
    "open_service",
    "plan",
    "report",
    "sources",
    "status",
    "subscribers",
    "web",
]
