"""pressdispatch serve: the newsroom web app alone (pages and feeds), reading the store."""

from __future__ import annotations

import asyncio
import logging
import socket

import typer

from pressdispatch import eventloop
from pressdispatch.cli import app, open_service
from pressdispatch.cli.listening import Host, Port, bind_web, closing_all, stop_on_signals
from pressdispatch.cli.logs import DebugSql, Verbose, setup_logging
from pressdispatch.config import Settings

log = logging.getLogger("pressdispatch")


@app.command()
def serve(
    ctx: typer.Context,
    host: Host = None,
    port: Port = None,
    verbose: Verbose = False,
    debug_sql: DebugSql = False,
) -> None:
    """Serve the public newsroom and its feeds (no sending; `run` does both)."""
    settings = ctx.obj.settings()
    setup_logging(verbose, debug_sql)
    settings, sockets = bind_web(settings, host, port)
    eventloop.run(_serve(settings, sockets))


async def _serve(settings: Settings, sockets: list[socket.socket]) -> None:
    with closing_all(sockets):
        async with open_service(settings) as service:
            stop = asyncio.Event()
            with stop_on_signals(stop):
                await service.serve_web(stop, sockets)
