"""No way into the press office without credentials: every /admin and /api route, enumerated.

The routes are read from the app itself (mounted sub-applications included), so a
route added later is covered without anyone remembering to add it here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from pressdispatch.web.app import create_app

from .dispatching import Clock, make_newsroom, runtime, sqlite_url

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
OPEN = {"/admin/login", "/api/v1/openapi.json"}  # reachable without credentials, by design


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or ())
        elif hasattr(route, "original_router"):  # FastAPI ≥ 0.165 keeps included routers whole
            included = prefix + route.include_context.prefix
            yield from _routes(list(route.original_router.routes), included)


def _guarded(app: object) -> list[tuple[str, str]]:
    found = []
    for path, methods in _routes(app.router.routes):  # type: ignore[attr-defined]
        if not path.startswith(("/admin", "/api")) or path in OPEN:
            continue
        url = re.sub(r"\{[^}]+\}", "someone@example.org", path)
        found.extend((method, url) for method in sorted(methods - {"HEAD"}))
    return found


@pytest.fixture
async def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", "correct horse battery staple")
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", "s3cret-api-token-for-tests")
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        app = create_app(rt, clock=Clock(NOW))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                http.app = app  # type: ignore[attr-defined]
                yield http


async def test_the_console_and_the_api_have_routes_to_guard(client: httpx.AsyncClient) -> None:
    paths = {url for _, url in _guarded(client.app)}  # type: ignore[attr-defined]
    assert any(p.startswith("/admin") for p in paths)
    assert any(p.startswith("/api/v1/releases") for p in paths)
    assert any(p.startswith("/api/v1/subscribers") for p in paths)
    assert {"/admin/imports/someone@example.org", "/api/v1/lists/someone@example.org"} <= paths
    assert "/api/v1/imports/someone@example.org" in paths


async def test_every_console_and_api_route_refuses_a_stranger(client: httpx.AsyncClient) -> None:
    for method, url in _guarded(client.app):  # type: ignore[attr-defined]
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Cookie": "pressdispatch_admin=forged"},
        ):
            response = await client.request(method, url, headers=headers, follow_redirects=False)
            where = f"{method} {url} with {headers or 'nothing'}"
            if url.startswith("/api"):
                assert response.status_code == 401, where
                assert response.headers["www-authenticate"].startswith("Bearer"), where
                assert response.headers["content-type"].startswith("application/problem+json")
            elif method == "GET":
                assert response.status_code in (303, 401), where
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/admin/login"), where
            else:
                assert response.status_code in (303, 401, 403), where
            assert "set-cookie" not in response.headers or url.startswith("/admin/login"), where
