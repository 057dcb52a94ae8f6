"""The ASGI app: built from Settings, reading the same store as the dispatch engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from pressdispatch.config import Settings
from pressdispatch.dispatch.engine import utc_now
from pressdispatch.import_runner import ImportRunner
from pressdispatch.runtime import Runtime, open_runtime
from pressdispatch.web.proxies import ProxyHeaders
from pressdispatch.web.public import Clock, PublicView


@dataclass
class WebState:
    """Everything a route needs, reachable as ``request.app.state.web``."""

    settings: Settings
    runtime: Runtime
    public: PublicView
    clock: Clock
    imports: ImportRunner  # list uploads, merged in the background


def create_app(
    settings: Settings, *, clock: Clock = utc_now, runtime: Runtime | None = None
) -> FastAPI:
    """The newsroom web app. Pass ``runtime`` to share an open store (as `run` does).

    While it runs, it also merges the list uploads of the console and the API
    (``ImportRunner``), whether `run` or `serve` serves it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or await open_runtime(settings)
        runner = ImportRunner(rt, clock)
        app.state.web = WebState(settings, rt, PublicView(rt.catalog, clock), clock, runner)
        stop = asyncio.Event()
        importing = asyncio.create_task(runner.run(stop), name="list imports")
        try:
            yield
        finally:
            stop.set()  # the job under way lets go at its next step; the next start resumes it
            await importing
            if runtime is None:
                await rt.close()

    app = FastAPI(title=settings.newsroom.name, lifespan=lifespan, docs_url=None, redoc_url=None)
    # Outermost, so every route and the API see the client a trusted proxy names.
    app.add_middleware(ProxyHeaders, trusted=settings.web.trusted_proxies)
    # Routes are registered explicitly, one module per concern.
    from pressdispatch.web import (  # noqa: PLC0415 - they import this module
        admin,
        feeds,
        pages,
        probes,
        signup,
        subscriptions,
    )

    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.include_router(probes.router)
    app.include_router(subscriptions.router)
    app.include_router(signup.router)
    app.include_router(admin.router)
    app.add_exception_handler(404, pages.not_found_handler)
    from pressdispatch.web.api import create_api  # noqa: PLC0415 - it imports this module

    app.mount("/api/v1", create_api(settings, app))  # the JSON API: docs/api.md
    return app
