"""``/search?q=…[&lang=…][&region=…][&topic=…][&page=N]``: search of the public releases.

Each language version is searched in its own language (``store/search.py``): ``lang``
keeps the versions in one language, and is the page's language too; without it, every
language the newsroom publishes in is searched and the page speaks the visitor's. The
search box in every page's header sends the page's language, so a search starts in the
language being read; the search page's menu offers "All languages".

``region`` and ``topic`` filter as on the list of releases (``web/pages.py``), and an
unknown region or a topic that is not a slug is the same 404. Twenty results a page;
``page`` past the last one is an empty page, not an error.

A result is shown only if the public view has its release too (belt and braces beside the
store's own rule), with its title and a snippet of its text, the words found marked.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch.errors import UnknownRegion
from pressdispatch.regions import ROOT
from pressdispatch.render import i18n
from pressdispatch.render.snippets import highlight, snippet
from pressdispatch.searchtext import Clause, parse_query
from pressdispatch.store.search import Found
from pressdispatch.vocabulary import normalize_topic
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.listing import region_options
from pressdispatch.web.pages import (
    chosen_language,
    not_found,
    page_response,
    query_string,
    switch,
    visitor_language,
)
from pressdispatch.web.public import Snapshot

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter()

PAGE_SIZE = 20
_MAX_QUERY = 200  # characters: a query is a few words
_MAX_PAGE = 500  # deeper than anyone reads; bounds the work an address can ask for


@router.api_route("/search", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def search(
    request: Request,
    q: str = "",
    lang: str | None = None,
    region: str | None = None,
    topic: str | None = None,
    page: str | None = None,
) -> Response:
    """The releases a query finds, best first, twenty at a time."""
    state = web_state(request)
    snapshot = await state.public.current()
    newsroom = state.settings.newsroom
    chosen = chosen_language(lang, newsroom.languages)
    page_lang = visitor_language(request, newsroom.languages, newsroom.default_language, chosen)
    tree = state.runtime.regions
    region_slug: str | None = None
    if region and region.strip():
        try:
            region_slug = tree.resolve(region)
        except UnknownRegion:
            return not_found(state, snapshot, page_lang)
        if region_slug == ROOT:
            region_slug = None  # the whole world overlaps every release: no filter
    try:
        topic_key = normalize_topic(topic)
    except ValueError:
        return not_found(state, snapshot, page_lang)
    number = _page_number(page)

    text = q.strip()[:_MAX_QUERY]
    clauses = parse_query(text)
    found: list[Found] = []
    if clauses and number <= _MAX_PAGE:
        found = await state.runtime.search.search(
            clauses,
            state.clock(),
            languages=[chosen] if chosen else newsroom.languages,
            regions=None
            if region_slug is None
            else [r.slug for r in tree if tree.overlaps(region_slug, r.slug)],
            topic=topic_key,
            offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE + 1,  # one more: is there a next page?
        )
    filters = {"q": text, "lang": chosen, "region": region_slug, "topic": topic_key}
    context = {
        "page": "search",
        "search_query": text,
        "searched": bool(clauses),
        "results": _results(state, snapshot, found[:PAGE_SIZE], clauses, page_lang),
        "chosen": chosen or "",
        "region": region_slug or "",
        "topic": topic_key or "",
        "language_options": [
            {"lang": code, "name": i18n.language_name(code)} for code in newsroom.languages
        ],
        **_filter_options(state, snapshot, page_lang, region_slug, topic_key),
        "previous_url": _url(filters, number - 1) if number > 1 else "",
        "next_url": _url(filters, number + 1) if len(found) > PAGE_SIZE else "",
        "switcher": [
            switch(other, page_lang, _url(filters | {"lang": other}, 1))
            for other in newsroom.languages
        ],
    }
    return page_response(state, snapshot, page_lang, "search.html.j2", context, vary=True)


_OPTIONS: dict[tuple[str, str, str | None, str | None], dict[str, Any]] = {}


def _filter_options(
    state: WebState, snapshot: Snapshot, lang: str, region: str | None, topic: str | None
) -> dict[str, Any]:
    """The region and topic menus: what the public releases are about. Kept while the
    public view stays the same, since they read every release (ten thousand: more time
    than the search itself)."""
    key = (snapshot.version, lang, region, topic)
    if key not in _OPTIONS:
        if len(_OPTIONS) >= 256 or any(k[0] != snapshot.version for k in _OPTIONS):
            _OPTIONS.clear()
        topics = {t for r in snapshot.releases for t in r.topics} | {t for t in (topic,) if t}
        _OPTIONS[key] = {
            "region_options": region_options(
                state.runtime.regions, snapshot.releases, region, lang
            ),
            "topic_options": [
                {"slug": slug, "name": name}
                for slug, name in state.runtime.topics.named(topics, lang)
            ],
        }
    return _OPTIONS[key]


def _page_number(value: str | None) -> int:
    """``?page=``: a positive number; anything else is the first page."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else 1


def _url(filters: dict[str, str | None], number: int) -> str:
    return "/search?" + query_string(**filters, page=str(number) if number > 1 else None)


def _results(
    state: WebState,
    snapshot: Snapshot,
    found: list[Found],
    clauses: list[Clause],
    page_lang: str,
) -> list[dict[str, Any]]:
    zone = state.settings.newsroom.zone
    results = []
    for hit in found:
        release = snapshot.by_id.get(hit.release_id)
        if release is None or hit.language not in release.translations:
            continue  # not in the public view (yet): never shown
        lang = hit.language
        direction, comma, name = _language(lang)
        results.append(
            {
                "lang": lang,
                "dir": direction,
                "foreign": lang != page_lang,
                "comma": comma,
                "url": f"/releases/{release.id}/{lang}",
                "title": highlight(hit.title, lang, clauses),
                "snippet": snippet(hit.text, lang, clauses),
                "dateline": release.translations[lang].dateline,
                "date": _date(release.publish_at, lang, zone),
                "datetime": release.publish_at.isoformat(),
                "language_name": name,
            }
        )
    return results


# Babel's formatting costs more than a snippet; the same few values come back all the time.
@functools.lru_cache(maxsize=4096)
def _date(at: datetime, lang: str, zone: ZoneInfo) -> str:
    return i18n.format_date(at, lang, zone)


@functools.cache
def _language(lang: str) -> tuple[str, str, str]:
    return i18n.text_direction(lang), i18n.comma(lang), i18n.language_name(lang)
