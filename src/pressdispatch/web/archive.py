"""The archive: ``/archive`` (every year and month with public releases), ``/archive/2026``
(that year's releases) and ``/archive/2026/11`` (that month's).

Months are the newsroom's (``timezone``): a release published at 23:30 in Geneva on
30 November is in November. A year or month page is a list like the home page
(web/listing.py: 20 a page, the same filters). The archive reads the public snapshot,
so a release under embargo is in no count and on no page before its ``publish_at``;
a period with no public release is a 404, whatever is waiting in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pressdispatch.model import Release
from pressdispatch.render import i18n
from pressdispatch.web.deps import web_state
from pressdispatch.web.listing import ListPage, release_list
from pressdispatch.web.pages import (
    negotiated_language,
    not_found,
    page_response,
    query_string,
    switch,
    visitor_language,
)

__all__ = ["router"]

router = APIRouter()

_GET = ["GET", "HEAD"]


def _months(releases: Iterable[Release], zone: ZoneInfo) -> Counter[tuple[int, int]]:
    """How many releases each (year, month) has, in the newsroom's time zone."""
    return Counter(
        (local.year, local.month)
        for local in (release.publish_at.astimezone(zone) for release in releases)
    )


@router.api_route("/archive", methods=_GET, response_class=HTMLResponse)
async def archive(request: Request, lang: str | None = None) -> Response:
    """Every year with public releases, newest first, and its months."""
    state = web_state(request)
    snapshot = await state.public.current()
    newsroom = state.settings.newsroom
    page_lang = visitor_language(request, newsroom.languages, newsroom.default_language, lang)
    counts = _months(snapshot.releases, newsroom.zone)
    years: dict[int, list[dict[str, Any]]] = {}
    for year, month in sorted(counts, reverse=True):
        years.setdefault(year, []).append(_month(year, month, counts, page_lang))
    context = {
        "page": "archive",
        "years": [
            {
                "year": year,
                "url": f"/archive/{year}?{query_string(lang=page_lang)}",
                "count": sum(month["count"] for month in months),
                "months": months,
            }
            for year, months in years.items()
        ],
        "switcher": [
            switch(other, page_lang, f"/archive?{query_string(lang=other)}")
            for other in newsroom.languages
        ],
    }
    return page_response(state, snapshot, page_lang, "archive.html.j2", context, vary=True)


@router.api_route("/archive/{year}", methods=_GET, response_class=HTMLResponse)
async def archive_year(request: Request, year: str) -> Response:
    return await _period(request, year, None)


@router.api_route("/archive/{year}/{month}", methods=_GET, response_class=HTMLResponse)
async def archive_month(request: Request, year: str, month: str) -> Response:
    return await _period(request, year, month)


async def _period(request: Request, year_text: str, month_text: str | None) -> Response:
    state = web_state(request)
    snapshot = await state.public.current()
    zone = state.settings.newsroom.zone
    counts = _months(snapshot.releases, zone)
    year = int(year_text) if year_text.isascii() and year_text.isdigit() else 0
    month = int(month_text) if month_text and month_text.isascii() and month_text.isdigit() else 0
    known = any(y == year for y, _ in counts) if month_text is None else (year, month) in counts
    if not known:
        return not_found(state, snapshot, negotiated_language(request, state))
    canonical = f"/archive/{year}" + ("" if month_text is None else f"/{month:02d}")
    if request.url.path != canonical:  # /archive/2026/1 and /archive/02026 name the same
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(canonical + query, status_code=301)

    def keep(release: Release) -> bool:
        local = release.publish_at.astimezone(zone)
        return local.year == year and (month_text is None or local.month == month)

    def context(lang: str) -> dict[str, Any]:
        title = str(year) if month_text is None else i18n.format_month(year, month, lang)
        return {
            "title": title,
            "year": year,
            "year_url": f"/archive/{year}?{query_string(lang=lang)}",
            "month": month,
            "months": [_month(y, m, counts, lang) for y, m in sorted(counts) if y == year],
        }

    period = ListPage(canonical, "period.html.j2", keep, context)
    return release_list(request, state, snapshot, period)


def _month(year: int, month: int, counts: Counter[tuple[int, int]], lang: str) -> dict[str, Any]:
    return {
        "month": month,
        "name": i18n.month_name(month, lang),
        "count": counts[year, month],
        "url": f"/archive/{year}/{month:02d}?{query_string(lang=lang)}",
    }
