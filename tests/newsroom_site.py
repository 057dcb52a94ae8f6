"""The public newsroom served over httpx's ASGI transport, for the tests of its pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from pressdispatch.render.sitemap import MAX_URLS
from pressdispatch.web.app import create_app

from .dispatching import Clock, make_newsroom, runtime, sqlite_url
from .test_pages import NOW, Site


@asynccontextmanager
async def served(
    tmp_path: Path, *, sitemap_limit: int = MAX_URLS, **config: Any
) -> AsyncIterator[Site]:
    """A newsroom at ``tmp_path`` (``config``: sections to add to its config.toml)."""
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    if config:
        newsroom.write_config(**config)
    clock = Clock(NOW)
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt, clock=clock, sitemap_limit=sitemap_limit)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Site(newsroom, clock, rt, client)
