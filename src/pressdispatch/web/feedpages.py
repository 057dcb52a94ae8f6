"""Feeds for people: ``/feeds`` (every feed, by language and region, to copy into a
reader) and ``/feeds/<language>.xsl``, the stylesheet each feed names so that a
browser opening it shows a page rather than XML (render/feeds.py ``stylesheet_href``).

Browsers are giving up XSLT (Chromium runs it behind a deprecation banner, and is
due to drop it), so a browser that asks the app for a feed gets the page itself,
made here with the same stylesheet (:func:`feed_page`); a static export keeps only
the stylesheet.

``/feeds`` lists what the OPML lists (``listed_specs``): every region's feed, and a
country's once a public release is about it. Each address is on the page as text a
visitor can select and copy; a small script adds a "Copy" button where JavaScript runs.
"""

from __future__ import annotations

from typing import Any

import lxml.etree
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch.config import Settings
from pressdispatch.regions import RegionTree
from pressdispatch.render import i18n
from pressdispatch.render.feeds import ALL, FeedSite, FeedSpec, listed_specs
from pressdispatch.render.pages import stylesheet
from pressdispatch.web.deps import web_state
from pressdispatch.web.pages import page_response, query_string, switch, visitor_language

__all__ = ["feed_page", "router"]

router = APIRouter()

_GET = ["GET", "HEAD"]
_XSL = "application/xslt+xml; charset=utf-8"
_XSL_MAX_AGE = 3600


def feed_page(settings: Settings, lang: str, feed: bytes) -> bytes:
    """``feed`` (Atom or RSS, as built) as the page its stylesheet in ``lang`` makes of it."""
    transform = lxml.etree.XSLT(lxml.etree.fromstring(stylesheet(settings, lang)))
    return bytes(transform(lxml.etree.fromstring(feed)))


@router.api_route("/feeds/{lang}.xsl", methods=_GET, include_in_schema=False)
async def feed_stylesheet(request: Request, lang: str) -> Response:
    settings = web_state(request).settings
    if lang not in settings.newsroom.languages:
        raise HTTPException(status_code=404)
    body = stylesheet(settings, lang)
    headers = {"Cache-Control": f"public, max-age={_XSL_MAX_AGE}"}
    return Response(b"" if request.method == "HEAD" else body, media_type=_XSL, headers=headers)


@router.api_route("/feeds", methods=_GET, response_class=HTMLResponse, include_in_schema=False)
async def feeds_page(request: Request, lang: str | None = None) -> Response:
    """Every feed worth subscribing to, grouped by language, to copy into a reader."""
    state = web_state(request)
    snapshot = await state.public.current()
    newsroom = state.settings.newsroom
    page_lang = visitor_language(request, newsroom.languages, newsroom.default_language, lang)
    tree = state.runtime.regions
    site = FeedSite.of(state.settings, tree, state.runtime.topics)
    groups: dict[str, list[dict[str, Any]]] = {language: [] for language in site.languages()}
    for spec in listed_specs(site, snapshot.releases):
        if spec.kind == "atom":
            groups[spec.language].append(_row(spec, site, tree, page_lang))
    context = {
        "page": "feeds",
        "groups": [
            {
                "lang": language,
                "name": (
                    i18n.gettext(page_lang, "All languages")
                    if language == ALL
                    else i18n.language_name(language)
                ),
                "open": language == page_lang,
                "feeds": rows,
            }
            for language, rows in groups.items()
        ],
        "switcher": [
            switch(other, page_lang, f"/feeds?{query_string(lang=other)}")
            for other in newsroom.languages
        ],
    }
    return page_response(state, snapshot, page_lang, "feeds.html.j2", context, vary=True)


def _row(spec: FeedSpec, site: FeedSite, tree: RegionTree, lang: str) -> dict[str, Any]:
    region = spec.region
    return {
        "name": (
            i18n.gettext(lang, "All regions")
            if region == ALL
            else i18n.region_name(tree, region, lang)
        ),
        "depth": 0 if region == ALL else len(tree.ancestors(region)) - 1,
        "atom": spec.url(site.base_url),
        "rss": FeedSpec(spec.language, region, "rss").url(site.base_url),
    }
