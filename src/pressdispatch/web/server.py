"""Run the web app with uvicorn inside our own event loop, stopped by our own signals."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service handles SIGINT/SIGTERM itself (stop claiming, finish in-flight sends);
        # uvicorn must not take the signals over or re-raise them on exit.
        yield


async def serve_web(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> bool:
    """Serve until ``stop`` is set, then finish open requests; False if it could not start."""
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        log.warning("FORWARDED_ALLOW_IPS is ignored: list your proxies in web.trusted_proxies")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        # The app decides the client address itself, from web.trusted_proxies (web/proxies.py).
        proxy_headers=False,
        # No access log: the paths of journalists' links carry their tokens (docs/operations.md).
        access_log=False,
        log_config=None,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopper.cancel()
    try:
        await task
    except SystemExit:  # uvicorn exits when it cannot bind (port taken): say so, don't crash
        log.error("the web app could not start on %s:%d (is the port in use?)", host, port)
        return False
    return True
