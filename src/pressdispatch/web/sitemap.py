"""For crawlers: ``/sitemap.xml``, its parts ``/sitemaps/<n>.xml``, and ``/robots.txt``.

The sitemap (render/sitemap.py) is built from the public snapshot, once per public
version: a release under embargo is not in it before its ``publish_at``, and is at
once after. Up to the split threshold (``sitemap_limit`` of ``create_app``: the
protocol's 50,000 URLs) ``/sitemap.xml`` is the sitemap itself; above it,
``/sitemap.xml`` is a sitemap index naming ``/sitemaps/1.xml``, ``/sitemaps/2.xml``…
which exist only then.

``robots.txt`` names the sitemap and keeps crawlers out of what is private (the
console, the API) or personal (each journalist's signed links).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from pressdispatch.render.sitemap import MAX_URLS, SitemapPart, build_index, sitemap_parts
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.pages import CACHE_CEILING
from pressdispatch.web.public import Snapshot

__all__ = ["DISALLOWED", "router"]

router = APIRouter()

_GET = ["GET", "HEAD"]
_XML = "application/xml; charset=utf-8"

#: What robots.txt keeps crawlers out of.
DISALLOWED = ("/admin", "/api", "/embargoed", "/preferences", "/unsubscribe", "/confirm")


@dataclass(frozen=True, slots=True)
class _Built:
    version: str
    limit: int
    parts: list[SitemapPart]


def _parts(request: Request, state: WebState, snapshot: Snapshot) -> list[SitemapPart]:
    limit: int = getattr(request.app.state, "sitemap_limit", MAX_URLS)
    built: _Built | None = getattr(request.app.state, "sitemap", None)
    if built is None or built.version != snapshot.version or built.limit != limit:
        base = state.settings.newsroom.base_url
        parts = sitemap_parts(snapshot.releases, base, max_urls=limit)
        built = request.app.state.sitemap = _Built(snapshot.version, limit, parts)
    return built.parts


def _xml(request: Request, state: WebState, snapshot: Snapshot, body: bytes) -> Response:
    max_age = state.public.max_age(snapshot, CACHE_CEILING)
    headers = {"Cache-Control": f"public, max-age={max_age}"}
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(b"", media_type=_XML, headers=headers)
    return Response(body, media_type=_XML, headers=headers)


@router.api_route("/sitemap.xml", methods=_GET, include_in_schema=False)
async def sitemap(request: Request) -> Response:
    state = web_state(request)
    snapshot = await state.public.current()
    parts = _parts(request, state, snapshot)
    if len(parts) == 1:
        return _xml(request, state, snapshot, parts[0].body)
    base = state.settings.newsroom.base_url
    locations = [f"{base}/sitemaps/{n}.xml" for n in range(1, len(parts) + 1)]
    return _xml(request, state, snapshot, build_index(locations, parts))


@router.api_route("/sitemaps/{number}.xml", methods=_GET, include_in_schema=False)
async def sitemap_part(request: Request, number: str) -> Response:
    state = web_state(request)
    snapshot = await state.public.current()
    parts = _parts(request, state, snapshot)
    index = int(number) if number.isascii() and number.isdigit() and len(number) < 9 else 0
    if len(parts) == 1 or not 1 <= index <= len(parts) or str(index) != number:
        raise HTTPException(status_code=404)
    return _xml(request, state, snapshot, parts[index - 1].body)


@router.api_route("/robots.txt", methods=_GET, include_in_schema=False)
async def robots(request: Request) -> Response:
    base = web_state(request).settings.newsroom.base_url
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOWED), ""]
    lines.append(f"Sitemap: {base}/sitemap.xml")
    return PlainTextResponse(
        "\n".join(lines) + "\n", headers={"Cache-Control": "public, max-age=3600"}
    )
