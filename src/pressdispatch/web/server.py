"""Run the web app with uvicorn inside our own event loop, stopped by our own signals.

The commands bind the port first (``listen``): a port in use is then one clear line
before anything is announced, and with port 0 the links can name the port really taken.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

__all__ = ["listen", "serve_web"]

log = logging.getLogger(__name__)


def _server(config: uvicorn.Config) -> uvicorn.Server:
    # uvicorn is imported here: the commands that only bind a port (``listen``) or serve
    # nothing need not pay its import.
    import uvicorn  # noqa: PLC0415

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            # The service handles SIGINT/SIGTERM itself (stop claiming, finish in-flight
            # sends); uvicorn must not take the signals over or re-raise them on exit.
            yield

    return Server(config)


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of ``host`` (as asyncio's own server would bind
    them), all on one port: ``port``, or with 0 the one the system picks first.
    Raises OSError (errno EADDRINUSE when the port is taken), with nothing left open."""
    sockets: list[socket.socket] = []
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: one socket per family
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], port, *address[2:]))
            port = sock.getsockname()[1]
            sock.listen()
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def serve_web(app: FastAPI, sockets: Sequence[socket.socket], stop: asyncio.Event) -> bool:
    """Serve on ``sockets`` (from ``listen``) until ``stop`` is set, then finish open
    requests and close them; False if the app could not start."""
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        log.warning("FORWARDED_ALLOW_IPS is ignored: list your proxies in web.trusted_proxies")
    import uvicorn  # noqa: PLC0415 - see _server

    config = uvicorn.Config(
        app,
        lifespan="on",
        # The app decides the client address itself, from web.trusted_proxies (web/proxies.py).
        proxy_headers=False,
        # No access log: the paths of journalists' links carry their tokens (docs/operations.md).
        access_log=False,
        log_config=None,
    )
    server = _server(config)
    task = asyncio.create_task(server.serve(sockets=list(sockets)))
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopper.cancel()
    try:
        await task
    except SystemExit:  # uvicorn exits when the app's startup fails: say so, don't crash
        log.error("the web app could not start")
        return False
    finally:
        for sock in sockets:
            sock.close()
    return True
