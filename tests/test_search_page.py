"""``/search`` and the search box of every page: the ASGI app over a real store.

Release files are synced as the service syncs them (``pipeline.sync_files``); the app's
clock is the test's, so the embargo edge is exact to the second.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import httpx
import pytest

from pressdispatch import pipeline
from pressdispatch.web.app import create_app

from .conftest import md
from .dispatching import Clock, make_newsroom, runtime
from .test_pages import HOUR, NOW, SECOND, Site
from .test_search import opened


@pytest.fixture(params=["sqlite", "postgresql"])
async def site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Site]:
    async with opened(request.param, tmp_path) as store:
        newsroom = make_newsroom(tmp_path, store.db.url)
        clock = Clock(NOW)
        async with runtime(newsroom.settings()) as rt:
            app = create_app(rt, clock=clock)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    yield Site(newsroom, clock, rt, client)


def results(html: str) -> list[tuple[str, str]]:
    """(address, title as shown, marks as ``[word]``) of each result, in order."""
    found = re.findall(r'<h2><a href="(/releases/[^"]+)" hreflang="\w+">(.*?)</a></h2>', html)
    return [(url, unescape(re.sub(r"<mark>(.*?)</mark>", r"[\1]", title))) for url, title in found]


def unescape_marks(html: str) -> str:
    return re.sub(r"<mark>(.*?)</mark>", r"[\1]", html)


def snippets(html: str) -> list[str]:
    found = re.findall(r'<p class="snippet">(.*?)</p>', html, re.S)
    return [unescape(re.sub(r"<mark>(.*?)</mark>", r"[\1]", text)) for text in found]


async def sync(site: Site) -> None:
    report = pipeline.TickReport()
    await pipeline.sync_files(site.rt, site.clock(), report, lists=False)
    assert not report.problems, report.problems


async def test_results_mark_the_words_found_and_escape_the_text(site: Site) -> None:
    body = "Talks `<script>alert(1)</script>` resumed. " + "Filler words here. " * 40
    body += "The negotiators met again & agreed."
    site.release("talks", {"en": md("Negotiations <b>resume</b>", body)})
    site.release("other", {"en": md("Unrelated", "Nothing to see.")})
    await sync(site)
    page = await site.get("/search?q=negotiation&lang=en")
    assert page.status_code == 200
    assert results(page.text) == [("/releases/talks/en", "[Negotiations] <b>resume</b>")]
    assert "<script>" not in page.text and "<b>resume" not in page.text
    near = await site.get("/search?q=talks&lang=en")  # the snippet shows the code as text
    assert "<script>" not in near.text
    assert snippets(near.text)[0].startswith("[Talks] <script>alert(1)</script> resumed.")
    assert "[Talks] &lt;script&gt;alert(1)&lt;/script&gt;" in unescape_marks(near.text)
    [text] = snippets(page.text)
    assert text.startswith("…") and "The [negotiators] met again & agreed." in text
    assert page.headers["cache-control"].startswith("public, max-age=")


async def test_an_embargoed_release_is_not_found_before_its_time(site: Site) -> None:
    site.release("open", {"en": md("Open", "Common words.")})
    site.release(
        "secret",
        {"en": md("Briefing", "The zanzibarite findings.")},
        publish_at=NOW + HOUR,
        extra=f"embargo_send_at = {(NOW - HOUR).isoformat()}",
    )
    await sync(site)
    for url in ("/search?q=zanzibarite", "/search?q=zanzibarite&lang=en", "/search?q=briefing"):
        assert results((await site.get(url)).text) == []
    site.clock.now = NOW + HOUR - SECOND
    assert results((await site.get("/search?q=zanzibarite")).text) == []
    site.clock.now = NOW + HOUR
    found = results((await site.get("/search?q=zanzibarite")).text)
    assert found == [("/releases/secret/en", "Briefing")]


async def test_twenty_results_a_page_with_links_to_the_others(site: Site) -> None:
    for i in range(45):
        site.release(f"r{i:02}", {"fr": md(f"Communiqué {i}", "Les négociations continuent.")},
                     publish_at=NOW - (i + 1) * HOUR)  # fmt: skip
    await sync(site)
    first = await site.get("/search?q=négocier&lang=fr")
    assert len(results(first.text)) == 20
    assert (
        '<a class="next" href="/search?q=n%C3%A9gocier&amp;lang=fr&amp;page=2" rel="next">'
        in first.text
    )
    assert 'rel="prev"' not in first.text
    last = await site.get("/search?q=négocier&lang=fr&page=3")
    assert [url for url, _ in results(last.text)] == [f"/releases/r{i}/fr" for i in range(40, 45)]
    assert '<a href="/search?q=n%C3%A9gocier&amp;lang=fr&amp;page=2" rel="prev">' in last.text
    assert 'rel="next"' not in last.text
    seen = {url for n in (1, 2, 3) for url, _ in results(
        (await site.get(f"/search?q=négocier&lang=fr&page={n}")).text)}  # fmt: skip
    assert len(seen) == 45
    assert results((await site.get("/search?q=négocier&lang=fr&page=9")).text) == []
    assert results((await site.get("/search?q=négocier&lang=fr&page=x")).text) == results(
        first.text
    )


async def test_the_language_filter_and_all_languages(site: Site) -> None:
    site.release(
        "water", {"en": md("Clean water", "Water points."), "fr": md("Eau", "Eau potable.")}
    )
    site.release("rain", {"fr": md("Pluie", "De l'eau partout.")}, publish_at=NOW - 2 * HOUR)
    await sync(site)
    french = results((await site.get("/search?q=eau&lang=fr")).text)
    assert {url for url, _ in french} == {"/releases/water/fr", "/releases/rain/fr"}
    everywhere = await site.get("/search?q=water", "fr")  # the page speaks French
    assert results(everywhere.text) == [("/releases/water/en", "Clean [water]")]
    assert 'lang="fr"' in everywhere.text and 'lang="en" dir="ltr"' in everywhere.text


async def test_region_and_topic_filters_combine(site: Site) -> None:
    text = "Vaccination campaign."
    site.release("by-health", {"en": md("Belarus", text)}, regions=("BY",), topics=("health",))
    site.release("eu-water", {"en": md("Europe", text)}, regions=("europe",), topics=("water",))
    site.release("pe-health", {"en": md("Peru", text)}, regions=("PE",), topics=("health",))
    await sync(site)

    async def found(query: str) -> set[str]:
        return {url for url, _ in results((await site.get(f"/search?q=vaccine{query}")).text)}

    assert await found("&region=eastern-europe") == {
        "/releases/by-health/en",
        "/releases/eu-water/en",
    }
    assert await found("&region=BY&topic=health") == {"/releases/by-health/en"}
    assert await found("&topic=health") == {"/releases/by-health/en", "/releases/pe-health/en"}
    assert (await site.get("/search?q=vaccine&region=atlantis")).status_code == 404
    assert (await site.get("/search?q=vaccine&topic=Not a slug")).status_code == 404


async def test_every_public_page_has_a_search_box_in_its_language(site: Site) -> None:
    site.release("water", {"fr": md("Eau", "Eau potable.")})
    await sync(site)
    for url in ("/?lang=fr", "/releases/water/fr", "/releases/missing/fr", "/subscribe?lang=fr"):
        page = await site.get(url)
        box = re.search(
            r'<form class="search" method="get" action="/search".*?</form>', page.text, re.S
        )
        assert box is not None, url
        assert '<input type="hidden" name="lang" value="fr">' in box.group(), url
        assert 'placeholder="Rechercher dans les communiqués"' in box.group(), url
    empty = await site.get("/search?lang=fr")
    assert "Saisissez un ou plusieurs mots" in empty.text
    nothing = await site.get("/search?q=aardvark&lang=fr")
    assert "Aucun communiqué ne correspond à votre recherche." in nothing.text
    assert 'value="aardvark"' in nothing.text  # the box keeps the query
