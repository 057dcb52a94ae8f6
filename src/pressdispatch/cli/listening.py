"""What the commands that listen (run, serve) share: the web app's address options, the
sockets bound before anything starts, and a stop on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated

import typer

from pressdispatch.cli import err, fail
from pressdispatch.config import Settings
from pressdispatch.web.server import listen

__all__ = ["Host", "Port", "bind_inbound", "bind_web", "closing_all", "stop_on_signals"]

Host = Annotated[str | None, typer.Option(help="Where the web app listens. Default: web.host.")]
Port = Annotated[int | None, typer.Option(help="Default: web.port (0: any free port).")]


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def bind_web(
    settings: Settings, host: str | None, port: int | None
) -> tuple[Settings, list[socket.socket]]:
    """Bind where the web app will listen, before anything is announced; the settings
    served_at the port really taken. A port in use is one line and exit status 2."""
    host = settings.web.host if host is None else host
    port = settings.web.port if port is None else port
    try:
        sockets = listen(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            err.print(f"port {port} is in use: set [web] port or pass --port", markup=False)
            raise typer.Exit(2) from None
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 2)
    return settings.served_at(host, sockets[0].getsockname()[1]), sockets


def bind_inbound(settings: Settings) -> list[socket.socket]:
    """Bind where returned mail comes in (``[bounces] listen``; none when unset), as
    ``bind_web`` does: a port in use is one line and exit status 2."""
    where = settings.bounces.listen_at
    if where is None:
        return []
    host, port = where
    try:
        return listen(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            err.print(f"port {port} is in use: set [bounces] listen", markup=False)
            raise typer.Exit(2) from None
        fail(
            f"cannot listen on {settings.bounces.listen} ([bounces] listen): {exc.strerror or exc}",
            2,
        )


@contextmanager
def closing_all(sockets: Sequence[socket.socket]) -> Iterator[None]:
    """The sockets closed at the end, also when the service cannot open."""
    try:
        yield
    finally:
        for sock in sockets:
            sock.close()
