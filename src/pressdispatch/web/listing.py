"""Lists of public releases: the home page, and each period of the archive (web/archive.py).

A list is newest first, 20 releases a page (web/pagination.py), and takes the same
parameters wherever it is: ``?lang=`` (the language of the page, and the version each
release is shown in when it has one), ``?region=``, ``?topic=`` and ``?page=``. They
combine; every link of a list (its pages, the language switcher) keeps the others.

``?region=`` takes a region as ``resolve`` accepts it (``by``, ``BY``,
``eastern-europe``, ``151``) and keeps the releases that overlap it, the rule used to
match journalists (``europe`` shows a release about ``by``; ``by`` shows one about
``eastern-europe``). An unknown region is a 404: a bookmarked filter must never quietly
show everything. ``?topic=`` keeps releases with that topic; a topic no release uses
gives an empty list, a topic that is not a slug is a 404 (as for the feeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch.errors import UnknownRegion
from pressdispatch.model import Release
from pressdispatch.regions import ROOT, RegionTree
from pressdispatch.render import i18n
from pressdispatch.render.feeds import ALL
from pressdispatch.vocabulary import normalize_topic
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.pages import (
    chosen_language,
    feed_links,
    language_preferences,
    not_found,
    page_response,
    query_string,
    switch,
    version_link,
    version_order,
    visitor_language,
)
from pressdispatch.web.pagination import pager
from pressdispatch.web.public import Snapshot

__all__ = ["ListPage", "region_options", "release_list", "router"]

router = APIRouter()

_GET = ["GET", "HEAD"]


@router.api_route("/", methods=_GET, response_class=HTMLResponse)
async def index(request: Request) -> Response:
    """Published releases, newest first, in the visitor's language."""
    state = web_state(request)
    snapshot = await state.public.current()
    return release_list(request, state, snapshot, ListPage("/", "index.html.j2"))


@dataclass(frozen=True, slots=True)
class ListPage:
    """Which list: its address, its template, the releases it may show (``keep``) and
    what its template needs besides the list (``context``, given the page's language)."""

    path: str
    template: str
    keep: Callable[[Release], bool] = lambda release: True
    context: Callable[[str], Mapping[str, Any]] = lambda lang: {}


def release_list(request: Request, state: WebState, snapshot: Snapshot, page: ListPage) -> Response:
    """One page of ``page``'s list, filtered and in the language the request asks for."""
    params = request.query_params
    newsroom = state.settings.newsroom
    lang = params.get("lang")
    page_lang = visitor_language(request, newsroom.languages, newsroom.default_language, lang)
    tree = state.runtime.regions
    try:
        region = _region(tree, params.get("region"))
        topic = normalize_topic(params.get("topic"))
    except (UnknownRegion, ValueError):
        return not_found(state, snapshot, page_lang)
    shown = [
        release
        for release in snapshot.releases
        if page.keep(release)
        and (region is None or tree.matches((region,), release.regions))
        and (topic is None or topic in release.topics)
    ]
    at = pager(len(shown), params.get("page"))
    if at is None:
        return not_found(state, snapshot, page_lang)
    filters = {"region": region, "topic": topic}

    def url(number: int | None, lang: str = page_lang) -> str:
        query = query_string(lang=lang, **filters, page=str(number) if number else None)
        return f"{page.path}?{query}"

    preferences = language_preferences(
        request,
        chosen_language(lang, newsroom.languages),
        {code for release in snapshot.releases for code in release.translations},
        newsroom.default_language,
    )
    context = {
        "page": page.template.partition(".")[0],
        "list_path": page.path,
        "entries": [
            _entry(release, page_lang, preferences, newsroom.zone) for release in at.window(shown)
        ],
        "pager": at.links(url),
        "filtered": region is not None or topic is not None,
        "region": region or "",
        "topic": topic or "",
        "region_options": region_options(tree, snapshot.releases, region, page_lang),
        "topic_options": [
            {"slug": slug, "name": name}
            for slug, name in state.runtime.topics.named(
                {t for r in snapshot.releases for t in r.topics} | {t for t in (topic,) if t},
                page_lang,
            )
        ],
        "switcher": [
            switch(other, page_lang, url(at.number if at.number > 1 else None, other))
            for other in newsroom.languages
        ],
        "feeds": [feed_links(state, page_lang, region or ALL, topic)],
        "all_url": f"{page.path}?{query_string(lang=page_lang)}",
        "archive_url": f"/archive?{query_string(lang=page_lang)}",
        **page.context(page_lang),
    }
    return page_response(state, snapshot, page_lang, page.template, context, vary=True)


def _region(tree: RegionTree, region: str | None) -> str | None:
    """The canonical slug of ``?region=``; None for no filter (the world overlaps every
    release). Raises UnknownRegion."""
    if not region or not region.strip():
        return None
    slug = tree.resolve(region)
    return None if slug == ROOT else slug


def _entry(
    release: Release, page_lang: str, preferences: Sequence[str], zone: ZoneInfo
) -> dict[str, Any]:
    """One release in the list, in the first of its versions the visitor prefers."""
    lang = version_order(release, preferences)[0]
    t = release.translations[lang]
    return {
        "id": release.id,
        "lang": lang,
        "dir": i18n.text_direction(lang),
        "comma": i18n.comma(lang),
        "colon": i18n.colon(lang),
        "foreign": lang != page_lang,
        "url": f"/releases/{release.id}/{lang}",
        "title": t.title,
        "summary": t.summary,
        "dateline": t.dateline,
        "date": i18n.format_date(release.publish_at, lang, zone),
        "datetime": release.publish_at.isoformat(),
        "alternates": [
            version_link(release.id, other) for other in release.translations if other != lang
        ],
    }


def region_options(
    tree: RegionTree, releases: Iterable[Release], selected: str | None, lang: str
) -> list[dict[str, Any]]:
    """The regions public releases are about, with the regions around them, in tree order."""
    wanted: set[str] = set()
    for slug in [slug for release in releases for slug in release.regions] + (
        [selected] if selected else []
    ):
        wanted.update(tree.ancestors(slug))
    wanted.discard(ROOT)  # "All regions" stands for it
    return [
        {
            "slug": region.slug,
            "name": i18n.region_name(tree, region.slug, lang),
            "depth": len(tree.ancestors(region.slug)) - 2,
            "selected": region.slug == selected,
        }
        for region in tree
        if region.slug in wanted
    ]
