"""The ASGI app, on the running parts the composition root built (service.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pressdispatch.clock import Clock, utc_now
from pressdispatch.import_runner import ImportRunner
from pressdispatch.render.images import MediaFiles
from pressdispatch.render.sitemap import MAX_URLS
from pressdispatch.runtime import Runtime
from pressdispatch.web import (
    admin,
    archive,
    embargoed,
    favicon,
    feedpages,
    feeds,
    listing,
    media,
    pages,
    probes,
    search,
    signup,
    sitemap,
    subscriptions,
)
from pressdispatch.web.api import create_api
from pressdispatch.web.deps import WebState
from pressdispatch.web.proxies import ProxyHeaders
from pressdispatch.web.public import PublicView


def create_app(rt: Runtime, *, clock: Clock = utc_now, sitemap_limit: int = MAX_URLS) -> FastAPI:
    """The newsroom web app, on ``rt``'s store, renderer and transport.

    While it runs, it also merges the list uploads of the console and the API
    (``ImportRunner``), whether `run` or `serve` serves it. ``sitemap_limit``: the most
    URLs in one sitemap before it is split (web/sitemap.py); the protocol's unless a
    test wants a split without writing 50,000 releases.
    """
    settings = rt.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = ImportRunner(rt, clock)
        media = MediaFiles(settings.paths.data / "media")
        state = WebState(settings, rt, PublicView(rt.catalog, clock), clock, runner, media)
        app.state.web = api.state.web = state  # the API shares the newsroom's parts
        stop = asyncio.Event()
        importing = asyncio.create_task(runner.run(stop), name="list imports")
        try:
            yield
        finally:
            stop.set()  # the job under way lets go at its next step; the next start resumes it
            await importing

    app = FastAPI(title=settings.newsroom.name, lifespan=lifespan, docs_url=None, redoc_url=None)
    # Outermost, so every route and the API see the client a trusted proxy names.
    app.add_middleware(ProxyHeaders, trusted=settings.web.trusted_proxies)
    # Routes are registered explicitly, one module per concern.
    app.include_router(feeds.router)
    app.include_router(feedpages.router)
    app.include_router(listing.router)
    app.include_router(pages.router)
    app.include_router(archive.router)
    app.include_router(sitemap.router)
    app.include_router(favicon.router)
    app.include_router(search.router)
    app.include_router(embargoed.router)
    app.include_router(media.router)
    app.include_router(probes.router)
    app.include_router(subscriptions.router)
    app.include_router(signup.router)
    app.include_router(admin.router)
    app.add_exception_handler(404, pages.not_found_handler)
    app.state.sitemap_limit = sitemap_limit
    api = create_api(rt)
    app.mount("/api/v1", api)  # the JSON API: docs/api.md
    return app
