"""pressdispatch serve: the newsroom web app alone (pages and feeds), reading the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

import typer

from pressdispatch import pipeline
from pressdispatch.cli import app
from pressdispatch.cli.dispatch import _runtime, _stop_on_signals
from pressdispatch.cli.logs import DebugSql, Verbose, setup_logging
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.web.app import create_app
from pressdispatch.web.server import serve_web

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
    rt = await _runtime(settings)
    stop = asyncio.Event()

    async def keep_in_sync() -> None:
        # Alone, the web app still reflects the files: the same scan as `run`, without sending.
        while not stop.is_set():
            try:
                await pipeline.sync_files(rt, utc_now(), pipeline.TickReport())
            except Exception:
                log.exception("could not sync the files into the store")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), settings.scheduler.scan_interval.total_seconds()
                )

    try:
        with _stop_on_signals(stop):
            syncing = asyncio.create_task(keep_in_sync())
            log.info("newsroom at http://%s:%d/", host, port)
            await serve_web(create_app(settings, runtime=rt), host, port, stop)
            stop.set()
            await syncing
    finally:
        await rt.close()
