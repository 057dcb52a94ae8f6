"""pressdispatch serve: the newsroom web app alone (pages and feeds), reading the store."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from pressdispatch.cli import app
from pressdispatch.cli.dispatch import _service, _stop_on_signals
from pressdispatch.cli.logs import DebugSql, Verbose, setup_logging
from pressdispatch.config import Settings

log = logging.getLogger("pressdispatch")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default: web.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: web.port.")] = None,
    verbose: Verbose = False,
    debug_sql: DebugSql = False,
) -> None:
    """Serve the public newsroom and its feeds (no sending; `run` does both)."""
    settings = ctx.obj.settings()
    setup_logging(verbose, debug_sql)
    asyncio.run(_serve(settings, host or settings.web.host, port or settings.web.port))


async def _serve(settings: Settings, host: str, port: int) -> None:
    async with _service(settings) as service:
        stop = asyncio.Event()
        with _stop_on_signals(stop):
            await service.serve_web(stop, host, port)
