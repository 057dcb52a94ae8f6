"""The public newsroom: the list of releases, each release in each language, a localised
404, and a 410 for a withdrawn release.

Every page reads the public snapshot (``web/public.py``). A release before its
``publish_at``, a draft and a release cancelled before anything of it was sent are not
in it, so their addresses give the very same 404 page (status, headers and body) as an
id that never existed. A withdrawn release's addresses answer 410 Gone, saying when and
why it was withdrawn, in the address's language.

Language, in this order: the address (``/releases/<id>/<lang>``, or ``?lang=`` on the
list, which is what the language switcher sets), then the visitor's ``Accept-Language``,
then the newsroom's ``default_language``. Each release is shown in the first version in
this order: the language the visitor chose on the page (``?lang=``), the languages of their
``Accept-Language`` in its order, the newsroom's ``default_language``, the release's
original language. ``/releases/<id>`` redirects by the same order.

A release that exists but not in the address's language answers 404 with links to the
versions that exist, in that order. Only a public release gets this help: an unknown id,
a draft and an embargoed release share the one plain 404.

The lists (the home page and the archive) are in ``web/listing.py``;
``/releases?language=&region=&topic=``, the page the feeds name as theirs, redirects
to the home page.

Feed discovery (``<link rel="alternate">``) names the feeds of ``web/feeds.py`` for the
page's language and filters: ``all`` regions when there is no region filter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from pressdispatch.model import Release
from pressdispatch.render import gallery, i18n
from pressdispatch.render.email import release_url
from pressdispatch.render.feeds import ALL, FeedSite, FeedSpec, feed_title
from pressdispatch.render.pages import page_environment
from pressdispatch.render.sharing import hero_image, sharing_parts
from pressdispatch.store.ports import Withdrawal
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.public import Snapshot

__all__ = [
    "CACHE_CEILING",
    "chosen_language",
    "feed_links",
    "language_preferences",
    "negotiated_language",
    "not_found",
    "not_found_handler",
    "not_found_page",
    "page_response",
    "public_release_parts",
    "query_string",
    "release_parts",
    "render_page",
    "router",
    "switch",
    "version_link",
    "version_order",
    "visitor_language",
]

router = APIRouter()

#: The longest a browser or proxy may keep a page; never past the next publication.
CACHE_CEILING = timedelta(minutes=1)

_GET = ["GET", "HEAD"]  # HEAD for monitors and caches


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.api_route("/releases", methods=_GET)
async def releases(request: Request) -> Response:
    """``/releases?language=fr&region=by&topic=health`` (the feeds' ``htmlUrl``) → ``/?lang=…``."""
    params = request.query_params
    language = params.get("lang") or params.get("language")
    region = params.get("region")
    query = query_string(
        lang=None if language == ALL else language,
        region=None if region == ALL else region,
        topic=params.get("topic"),
    )
    return RedirectResponse("/?" + query if query else "/", status_code=301)


@router.api_route("/releases/{release_id}", methods=_GET, response_class=HTMLResponse)
async def release_redirect(request: Request, release_id: str) -> Response:
    """To the version the visitor reads best, else the original language."""
    state = web_state(request)
    snapshot = await state.public.current()
    release = snapshot.by_id.get(release_id)
    if release is None:
        lang = negotiated_language(request, state)
        if (withdrawal := snapshot.withdrawn.get(release_id)) is not None:
            return _gone(state, snapshot, lang, withdrawal)
        return not_found(state, snapshot, lang)
    best = _release_order(request, state, release)[0]
    response = RedirectResponse(f"/releases/{release.id}/{best}", status_code=302)
    response.headers.update(_cache_headers(state, snapshot, best, vary=True))
    return response


@router.api_route("/releases/{release_id}/{lang}", methods=_GET, response_class=HTMLResponse)
async def release_page(request: Request, release_id: str, lang: str) -> Response:
    """One language version of a release, with links to the others."""
    state = web_state(request)
    snapshot = await state.public.current()
    release = snapshot.by_id.get(release_id)
    newsroom = state.settings.newsroom
    if release is None and (withdrawal := snapshot.withdrawn.get(release_id)) is not None:
        page_lang = lang if lang in newsroom.languages else negotiated_language(request, state)
        return _gone(state, snapshot, page_lang, withdrawal)
    if release is None or lang not in release.translations:
        # The 404's language never depends on the release: an embargoed id and an
        # unknown id must give the same page. The snapshot holds only public releases,
        # so a release found here may name its versions.
        fallback = lang if lang in newsroom.languages else negotiated_language(request, state)
        versions = [] if release is None else _release_order(request, state, release)
        return not_found(state, snapshot, fallback, release_id, versions)

    context = public_release_parts(state, release, lang)
    return page_response(state, snapshot, lang, "release.html.j2", context, vary=False)


def public_release_parts(state: WebState, release: Release, lang: str) -> dict[str, Any]:
    """What the public page of ``release`` in ``lang`` shows: the newsroom's page, and the
    console's preview of a release being written."""
    newsroom = state.settings.newsroom
    base = newsroom.base_url
    canonical = release_url(base, release.id, lang)
    image = hero_image(release, base)
    return (
        release_parts(state, release, lang, gallery.public_base("", release.id))
        | sharing_parts(release, lang, newsroom, canonical, image)
        | {
            "canonical": canonical,
            "alternates": [
                version_link(release.id, other) | {"absolute": release_url(base, release.id, other)}
                for other in release.translations
                if other != lang
            ],
            "switcher": [
                switch(other, lang, f"/releases/{release.id}/{other}")
                for other in release.translations
            ],
        }
    )


def release_parts(state: WebState, release: Release, lang: str, media_base: str) -> dict[str, Any]:
    """What a release page shows of ``release`` in ``lang``, but its links to versions:
    the public page and the embargoed one (web/embargoed.py) alike. Its media are under
    ``media_base`` (render/gallery.py)."""
    newsroom = state.settings.newsroom
    translation = release.translations[lang]
    tree = state.runtime.regions
    return {
        "page": "release",
        "release": release,
        "t": translation,
        "body_html": Markup(translation.body_html),  # noqa: S704 - sanitised by nh3 on load
        "date": i18n.format_date(release.publish_at, lang, newsroom.zone),
        "published": i18n.format_datetime(release.publish_at, lang, newsroom.zone),
        "regions": [i18n.region_name(tree, slug, lang) for slug in release.regions],
        "topics": [state.runtime.topics.name(slug, lang) for slug in release.topics],
        "contacts": list(release.contacts),
        "feeds": [feed_links(state, lang, slug) for slug in (ALL, *release.regions)],
        "media": gallery.gallery(release, lang, media_base),
        "media_zip": gallery.zip_url(media_base),
    }


# --------------------------------------------------------------------------- #
# Language
# --------------------------------------------------------------------------- #


def chosen_language(chosen: str | None, offered: Collection[str]) -> str | None:
    """The language of ``?lang=`` when the newsroom offers it."""
    code = (chosen or "").strip().lower()
    return code if code in offered else None


def visitor_language(
    request: Request, offered: Sequence[str], default: str, chosen: str | None
) -> str:
    return (
        chosen_language(chosen, offered)
        or i18n.negotiate(request.headers.get("accept-language", ""), offered)
        or default
    )


def language_preferences(
    request: Request, chosen: str | None, available: Collection[str], default: str
) -> list[str]:
    """The languages to show releases in, best first: ``chosen``, then those of
    ``available`` the visitor's ``Accept-Language`` asks for in its order, then ``default``.
    """
    header = request.headers.get("accept-language", "")
    order = [chosen] if chosen else []
    remaining = set(available)
    while (best := i18n.negotiate(header, tuple(remaining))) is not None:
        order.append(best)
        remaining.discard(best)
    order.append(default)
    return list(dict.fromkeys(order))


def version_order(release: Release, preferences: Iterable[str]) -> list[str]:
    """The release's languages in the order to offer them: the visitor's preferences, the
    original, then the others as the press office wrote them."""
    preferred = [code for code in preferences if code in release.translations]
    return list(dict.fromkeys([*preferred, release.original_language, *release.translations]))


def _release_order(request: Request, state: WebState, release: Release) -> list[str]:
    """The versions of one release in the order this visitor should be offered them."""
    default = state.settings.newsroom.default_language
    offered = language_preferences(request, None, release.translations, default)
    return version_order(release, offered)


def negotiated_language(request: Request, state: WebState) -> str:
    newsroom = state.settings.newsroom
    return visitor_language(request, newsroom.languages, newsroom.default_language, None)


# --------------------------------------------------------------------------- #
# Page parts
# --------------------------------------------------------------------------- #


def version_link(release_id: str, lang: str) -> dict[str, str]:
    """A link to one version of a release, labelled with its language's own name."""
    return {"lang": lang, "name": i18n.language_name(lang), "url": f"/releases/{release_id}/{lang}"}


def switch(lang: str, current: str, url: str) -> dict[str, Any]:
    """One entry of a page's language switcher (``switcher``)."""
    return {"lang": lang, "name": i18n.language_name(lang), "url": url, "current": lang == current}


def feed_links(state: WebState, lang: str, region: str, topic: str | None = None) -> dict[str, str]:
    """The Atom and RSS feeds of ``region`` (or ``all``) in ``lang``, served by web/feeds.py."""
    site = FeedSite.of(state.settings, state.runtime.regions, state.runtime.topics)
    atom = FeedSpec(lang, region, "atom", topic)
    name = (
        i18n.gettext(lang, "All regions")
        if region == ALL
        else i18n.region_name(state.runtime.regions, region, lang)
    )
    return {
        "lang": lang,
        "region": region,
        "name": f"{name} · {state.runtime.topics.name(topic, lang)}" if topic else name,
        "title": feed_title(atom, site),
        "atom": atom.url(site.base_url),
        "rss": FeedSpec(lang, region, "rss", topic).url(site.base_url),
    }


def query_string(**params: str | None) -> str:
    return urlencode({key: value for key, value in params.items() if value})


# --------------------------------------------------------------------------- #
# Responses
# --------------------------------------------------------------------------- #


def _cache_headers(state: WebState, snapshot: Snapshot, lang: str, *, vary: bool) -> dict[str, str]:
    headers = {
        "Cache-Control": f"public, max-age={state.public.max_age(snapshot, CACHE_CEILING)}",
        "Content-Language": lang,
    }
    if vary:
        headers["Vary"] = "Accept-Language"
    return headers


def page_response(
    state: WebState,
    snapshot: Snapshot,
    lang: str,
    template: str,
    context: dict[str, Any],
    *,
    vary: bool,
    status_code: int = 200,
) -> Response:
    headers = _cache_headers(state, snapshot, lang, vary=vary)
    return render_page(state, lang, template, context, headers=headers, status_code=status_code)


def render_page(
    state: WebState,
    lang: str,
    template: str,
    context: dict[str, Any],
    *,
    headers: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    """A page of ``templates/web``: what every one of them expects, plus ``context``."""
    newsroom = state.settings.newsroom
    values = {
        "newsroom": newsroom,
        "lang": lang,
        "dir": i18n.text_direction(lang),
        "language_name": i18n.language_name(lang),
        "comma": i18n.comma(lang),
        "colon": i18n.colon(lang),
        "home_url": "/?" + query_string(lang=lang) if lang in newsroom.languages else "/",
        "opml_url": f"{newsroom.base_url}/feeds.opml",
        "switcher": [],
        "feeds": [],
        "search_query": "",  # what the header's search box holds (web/search.py)
        **context,
    }
    env = page_environment(state.settings.paths.templates / "web", lang)
    html = env.get_template(template).render(values)
    headers = headers | {"Content-Language": lang}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def not_found(
    state: WebState,
    snapshot: Snapshot,
    lang: str,
    release_id: str = "",
    versions: Sequence[str] = (),
) -> Response:
    """The one 404 page: the same for an unknown id, a draft and an embargoed release.

    ``versions``, for a public release without the language asked for, are linked to.
    """
    newsroom = state.settings.newsroom
    context = {
        "page": "not-found",
        "versions": [version_link(release_id, code) for code in versions],
        "switcher": [
            switch(other, lang, "/?" + query_string(lang=other)) for other in newsroom.languages
        ],
        "feeds": [],
    }
    return page_response(state, snapshot, lang, "404.html.j2", context, vary=True, status_code=404)


def _gone(state: WebState, snapshot: Snapshot, lang: str, withdrawal: Withdrawal) -> Response:
    """410 Gone for a withdrawn release: when (in the newsroom's zone) and why."""
    newsroom = state.settings.newsroom
    titles = withdrawal.titles
    title = titles.get(lang) or next(iter(titles.values()), "")
    context = {
        "page": "gone",
        "title": title,
        "title_lang": lang if lang in titles else next(iter(titles), lang),
        "withdrawn": i18n.format_datetime(withdrawal.at, lang, newsroom.zone),
        "reason": withdrawal.reason,
        "switcher": [
            switch(other, lang, f"/releases/{withdrawal.release_id}/{other}")
            for other in newsroom.languages
        ],
    }
    return page_response(state, snapshot, lang, "410.html.j2", context, vary=False, status_code=410)


async def not_found_handler(request: Request, exc: Exception) -> Response:
    """The localised 404 page for addresses no route knows.

    For ``app.add_exception_handler(404, not_found_handler)`` in ``create_app``.
    """
    return await not_found_page(request)


async def not_found_page(request: Request) -> Response:
    """The one 404, in the visitor's language: what an unknown release answers."""
    state = web_state(request)
    snapshot = await state.public.current()
    return not_found(state, snapshot, negotiated_language(request, state))
