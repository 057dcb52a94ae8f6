"""The public newsroom pages, /healthz and /metrics: the ASGI app over a real SQLite store.

Release files are synced into the store as the service does (``pipeline.sync_files``);
the app's clock is the test's, so the embargo edge is exact to the second.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest

from pressdispatch import pipeline
from pressdispatch.render.i18n import negotiate
from pressdispatch.runtime import Runtime
from pressdispatch.web.app import create_app
from pressdispatch.web.pages import not_found_handler

from .conftest import md
from .dispatching import ROOT, Clock, Newsroom, make_newsroom, runtime, sqlite_url

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 10:00 in Paris, the newsroom's zone
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


@dataclass
class Site:
    newsroom: Newsroom
    clock: Clock
    rt: Runtime
    client: httpx.AsyncClient

    def release(
        self,
        release_id: str,
        texts: Mapping[str, str],
        *,
        publish_at: datetime = NOW - HOUR,
        regions: tuple[str, ...] = ("world",),
        topics: tuple[str, ...] = (),
        status: str = "ready",
        extra: str = "",
    ) -> None:
        folder = self.newsroom.root / "releases" / release_id
        folder.mkdir(parents=True)
        meta = [
            f"publish_at = {publish_at.isoformat()}",
            f'status = "{status}"',
            f'original_language = "{next(iter(texts))}"',
            "regions = [" + ", ".join(f'"{r}"' for r in regions) + "]",
            "topics = [" + ", ".join(f'"{t}"' for t in topics) + "]",
            textwrap.dedent(extra),
        ]
        (folder / "release.toml").write_text("\n".join(meta), encoding="utf-8")
        for lang, text in texts.items():
            (folder / f"{lang}.md").write_text(text, encoding="utf-8")

    def sample(self, *release_ids: str) -> None:
        """Releases of the sample newsroom, as the project ships them."""
        for release_id in release_ids:
            source = ROOT / "releases" / release_id
            shutil.copytree(source, self.newsroom.root / "releases" / release_id)

    async def sync(self) -> None:
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, self.clock(), report)
        assert not report.problems, report.problems

    async def get(self, url: str, language: str | None = None) -> httpx.Response:
        headers = {"Accept-Language": language} if language else {}
        return await self.client.get(url, headers=headers)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    settings = newsroom.settings()
    clock = Clock(NOW)
    async with runtime(settings) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Site(newsroom, clock, rt, client)


def titles(html: str) -> list[str]:
    """The release titles of the list, in order."""
    return re.findall(r'<h2><a href="/releases/[^"]+" hreflang="\w+">([^<]*)</a></h2>', html)


def versions(html: str) -> list[tuple[str, str]]:
    """(language, label) of the links to the versions a missing language points to."""
    _, found, rest = html.partition('<ul class="versions"')
    if not found:
        return []
    items = rest.partition("</ul>")[0]
    link = r'<li><a href="/releases/[^/"]+/(\w+)" hreflang="\1" lang="\1">([^<]+)</a></li>'
    return re.findall(link, items)


SAHEL = "sahel-food-security"  # French original, Arabic and English versions
SAHEL_EN = "Sahel: 4.7 million people at risk of hunger in the coming lean season, Northwind"
ANDES_EN = "Central Andes glaciers have lost 38% of their area in four decades, Northwind"
WATER_EN = "140 new water points bring safe drinking water to 85,000 people in rural Central"
WATER_FR = "140 nouveaux points d'eau apportent l'eau potable à 85\u00a0000 habitants"
SAHEL_FR = "Sahel\u00a0: 4,7 millions de personnes menacées par la faim lors de la prochaine"


def starts(found: list[str], expected: list[str]) -> bool:
    """``found`` are titles of the page that begin as ``expected`` say, in that order."""
    texts = [unescape(title) for title in found]
    return len(texts) == len(expected) and all(map(str.startswith, texts, expected))


CONTACTS = """
[[contacts]]
name = "Iryna Zhuk"
role = "Press Officer, Minsk"
phone = "+375 17 000 0000"
email = "i.zhuk@example.org"
"""


# -- the list -------------------------------------------------------------------------


async def test_list_is_newest_first_in_the_visitors_language(site: Site) -> None:
    old = {"en": md("Old news"), "fr": md("Vieilles nouvelles")}
    site.release("old", old, publish_at=NOW - 3 * HOUR)
    site.release("english-only", {"en": md("Only English")}, publish_at=NOW - 2 * HOUR)
    site.release("newest", {"ru": md("Новости"), "fr": md("Nouvelles")}, publish_at=NOW - HOUR)
    await site.sync()

    response = await site.get("/", "fr-CH, fr;q=0.9, en;q=0.8")
    assert response.status_code == 200
    assert response.headers["content-language"] == "fr"
    assert response.headers["vary"] == "Accept-Language"
    html = response.text
    assert '<html lang="fr" dir="ltr">' in html
    assert "Derniers communiqués" in html
    assert titles(html) == ["Nouvelles", "Only English", "Vieilles nouvelles"]
    # shown in its original language, and marked as such
    assert '<article lang="en" dir="ltr">' in html
    assert html.count("<article lang=") == 1
    # links to the other versions
    assert '<a href="/releases/newest/ru" hreflang="ru" lang="ru">Русский</a>' in html
    assert '<a href="/releases/old/en" hreflang="en" lang="en">English</a>' in html
    # localised date in the newsroom's zone
    assert '<time datetime="2026-11-28T08:00:00+00:00">28 novembre 2026</time>' in html


async def test_list_falls_back_to_the_default_language_then_the_original(site: Site) -> None:
    site.sample(SAHEL, "andes-glacier-report", "water-points-central-asia")
    solo = {"es": md("Solo en español")}
    site.release("solo", solo, regions=("PE",), publish_at=NOW - 30 * timedelta(days=1))
    await site.sync()

    # Chinese readers: no release has a Chinese version, so English where one exists
    chinese = (await site.get("/", "zh")).text
    assert '<html lang="zh" dir="ltr">' in chinese
    assert starts(titles(chinese), [ANDES_EN, SAHEL_EN, WATER_EN, "Solo en español"])
    assert chinese.count('<article lang="en" dir="ltr">') == 3
    assert '<a href="/releases/sahel-food-security/en" hreflang="en">' in chinese
    assert '<a href="/releases/sahel-food-security/fr" hreflang="fr" lang="fr">' in chinese
    # the visitor's other languages come before the newsroom's default
    french_too = (await site.get("/?lang=zh", "zh, fr;q=0.5")).text
    assert starts(titles(french_too), [ANDES_EN, SAHEL_FR, WATER_FR, "Solo en español"])
    # the same choice on a filtered list
    africa = (await site.get("/?region=africa", "zh")).text
    assert starts(titles(africa), [SAHEL_EN])


async def test_lang_parameter_beats_accept_language_and_the_switcher_keeps_filters(
    site: Site,
) -> None:
    site.release("a", {"en": md("In English"), "ru": md("По-русски")}, topics=("health",))
    await site.sync()

    html = (await site.get("/?lang=ru&topic=health", "fr")).text
    assert '<html lang="ru" dir="ltr">' in html
    assert titles(html) == ["По-русски"]
    assert "Последние пресс-релизы" in html
    switcher = re.findall(r'<li><a href="([^"]+)" hreflang="(\w+)" lang="\w+"([^>]*)>', html)
    assert ("/?lang=fr&amp;topic=health", "fr", "") in switcher
    assert ("/?lang=ru&amp;topic=health", "ru", ' aria-current="true"') in switcher
    assert len(switcher) == 6  # the newsroom's languages

    # a language the newsroom does not offer is ignored: Accept-Language decides
    assert '<html lang="fr"' in (await site.get("/?lang=de", "fr")).text
    # nothing usable: the newsroom's default language
    response = await site.get("/", "de-DE, *;q=0.5")
    assert response.headers["content-language"] == "en"
    assert titles(response.text) == ["In English"]


async def test_region_filter_follows_the_matching_rule(site: Site) -> None:
    site.release("belarus", {"en": md("Belarus")}, regions=("BY",), publish_at=NOW - 4 * HOUR)
    site.release("east", {"en": md("East")}, regions=("eastern-europe",), publish_at=NOW - 3 * HOUR)
    site.release("france", {"en": md("France")}, regions=("FR",), publish_at=NOW - 2 * HOUR)
    site.release("peru", {"en": md("Peru")}, regions=("PE",), publish_at=NOW - HOUR)
    await site.sync()

    assert titles((await site.get("/?region=europe")).text) == ["France", "East", "Belarus"]
    html = (await site.get("/?region=by")).text
    assert titles(html) == ["East", "Belarus"]  # the region around it too, not France
    assert '<option value="by" selected>' in html
    assert titles((await site.get("/?region=Eastern%20Europe")).text) == ["East", "Belarus"]
    everything = ["Peru", "France", "East", "Belarus"]
    assert titles((await site.get("/?region=")).text) == everything
    world = (await site.get("/?region=world")).text  # contains every region: no filter
    assert titles(world) == everything
    assert 'href="https://press.example.org/feeds/en/all.atom"' in world
    # region names in the visitor's language, countries under their regions
    french = (await site.get("/?lang=fr&region=by")).text
    assert "\u00a0\u00a0\u00a0\u00a0Biélorussie</option>" in french
    # feed discovery for the language and region shown
    assert (
        '<link rel="alternate" type="application/atom+xml" '
        'href="https://press.example.org/feeds/fr/by.atom" hreflang="fr"'
    ) in french
    assert 'type="application/rss+xml" href="https://press.example.org/feeds/fr/by.rss"' in french

    unknown = await site.get("/?region=atlantis")
    assert unknown.status_code == 404
    assert "Page not found" in unknown.text


async def test_topic_filter_and_empty_states(site: Site) -> None:
    empty = await site.get("/?lang=es")
    assert empty.status_code == 200
    assert "Todavía no hay comunicados" in empty.text
    assert titles(empty.text) == []

    site.clock.now += 10 * SECOND  # let the cached view be taken again
    site.release("water", {"en": md("Water")}, topics=("water", "health"))
    site.release("food", {"en": md("Food")}, topics=("food",))
    await site.sync()
    site.clock.now += 10 * SECOND

    html = (await site.get("/?topic=water")).text
    assert titles(html) == ["Water"]
    assert '<option value="water" selected>water</option>' in html
    assert '<option value="food">food</option>' in html
    nothing = (await site.get("/?topic=sport&lang=fr")).text
    assert "Aucun communiqué ne correspond à ces critères." in nothing
    assert '<a href="/?lang=fr">Afficher tous les communiqués</a>' in nothing
    # feed discovery for the same filter
    assert 'href="https://press.example.org/feeds/fr/all.atom?topic=sport"' in nothing
    assert (await site.get("/?topic=not%20a%20slug")).status_code == 404


# -- one release ------------------------------------------------------------------------


async def test_release_redirects_to_the_best_language(site: Site) -> None:
    site.release("r", {"en": md("English"), "fr": md("Français"), "ar": md("عربي")})
    await site.sync()

    response = await site.get("/releases/r", "ru, fr-CA;q=0.8, en;q=0.5")
    assert response.status_code == 302
    assert response.headers["location"] == "/releases/r/fr"
    assert response.headers["vary"] == "Accept-Language"
    assert (await site.get("/releases/r", "ar;q=0.9, en")).headers["location"] == "/releases/r/en"
    # nothing the visitor reads: the original language
    assert (await site.get("/releases/r", "zh")).headers["location"] == "/releases/r/en"
    assert (await site.get("/releases/r")).headers["location"] == "/releases/r/en"
    assert (await site.get("/releases/nope", "fr")).status_code == 404


async def test_release_redirect_falls_back_to_the_default_language(site: Site) -> None:
    site.sample(SAHEL)
    await site.sync()

    response = await site.get(f"/releases/{SAHEL}", "zh")
    assert response.headers["location"] == f"/releases/{SAHEL}/en"  # not the French original
    arabic = await site.get(f"/releases/{SAHEL}", "zh, ar;q=0.5")
    assert arabic.headers["location"] == f"/releases/{SAHEL}/ar"


async def test_missing_language_links_to_the_versions_that_exist(site: Site) -> None:
    site.sample(SAHEL)
    await site.sync()

    response = await site.get(f"/releases/{SAHEL}/zh", "zh, ar;q=0.8, fr;q=0.5")
    assert response.status_code == 404
    assert response.headers["content-language"] == "zh"
    assert response.headers["vary"] == "Accept-Language"
    page = response.text
    assert '<html lang="zh" dir="ltr">' in page
    assert "未找到页面" in page
    assert "本新闻稿没有这种语言的版本。" in page
    assert '<meta name="robots" content="noindex">' in page
    # the visitor's languages first, each named in itself
    assert versions(page) == [("ar", "العربية"), ("fr", "Français"), ("en", "English")]
    english_first = (await site.get(f"/releases/{SAHEL}/zh", "zh, en, fr;q=0.9")).text
    assert [lang for lang, _ in versions(english_first)] == ["en", "fr", "ar"]
    # no preference that helps: the newsroom's default, then the original
    plain = (await site.get(f"/releases/{SAHEL}/zh")).text
    assert [lang for lang, _ in versions(plain)] == ["en", "fr", "ar"]
    # a language the newsroom does not offer: the page speaks the visitor's language
    german = await site.get(f"/releases/{SAHEL}/de", "ru, fr;q=0.5")
    assert german.status_code == 404
    assert '<html lang="ru" dir="ltr">' in german.text
    assert "Этот пресс-релиз не опубликован на этом языке." in german.text
    assert [lang for lang, _ in versions(german.text)] == ["fr", "en", "ar"]
    # an address that is not a language at all gets the same help
    odd = await site.get(f"/releases/{SAHEL}/klingon", "fr")
    assert odd.status_code == 404
    assert [lang for lang, _ in versions(odd.text)] == ["fr", "en", "ar"]


async def test_releases_redirects_to_the_list(site: Site) -> None:
    response = await site.get("/releases?language=fr&region=by&topic=health")
    assert response.status_code == 301
    assert response.headers["location"] == "/?lang=fr&region=by&topic=health"
    everything = await site.get("/releases?language=all&region=all")
    assert everything.headers["location"] == "/"


def test_accept_language_negotiation() -> None:
    offered = ("en", "fr", "ru")
    assert negotiate("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", offered) == "fr"
    assert negotiate("de, ru;q=0.5, en;q=0.7", offered) == "en"
    assert negotiate("en;q=0, ru;q=0.1", offered) == "ru"
    assert negotiate("EN_gb", offered) == "en"
    assert negotiate("ru;q=abc, fr;q=2, en;q=0.3", offered) == "en"
    assert negotiate("*", offered) is None
    assert negotiate("", offered) is None
    assert negotiate("de, ja", offered) is None


async def test_release_page(site: Site) -> None:
    site.release(
        "minsk",
        {
            "ru": md("Кампания в Минске", summary="Вакцинация детей.", dateline="Минск"),
            "fr": md(
                "Campagne à Minsk",
                "Les **polycliniques** ouvrent.",
                summary="Vaccination des enfants.",
                dateline="Minsk",
            ),
            "en": md("Minsk campaign"),
        },
        regions=("BY",),
        topics=("health",),
        publish_at=NOW,
        extra=CONTACTS,
    )
    await site.sync()

    response = await site.get("/releases/minsk/fr", "en")
    assert response.status_code == 200
    assert response.headers["content-language"] == "fr"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<html lang="fr" dir="ltr">' in html
    assert "<title>Campagne à Minsk · Test Press Office</title>" in html
    assert "<h1>Campagne à Minsk</h1>" in html
    assert '<p class="summary">Vaccination des enfants.</p>' in html
    assert (
        '<span class="dateline">Minsk</span>, '
        '<time datetime="2026-11-28T09:00:00+00:00" title="28 novembre 2026, 10:00 UTC+1">'
        "28 novembre 2026</time>"
    ) in html
    assert "<strong>polycliniques</strong>" in html
    assert "Régions\u202f: Biélorussie · Thèmes\u202f: health" in html  # French spacing
    assert "Contacts presse" in html
    assert "<strong>Iryna Zhuk</strong>, Press Officer, Minsk" in html
    assert '<a href="tel:+375170000000" dir="ltr">+375 17 000 0000</a>' in html
    assert '<a href="mailto:i.zhuk@example.org">i.zhuk@example.org</a>' in html
    assert "Également disponible en" in html
    assert '<li><a href="/releases/minsk/ru" hreflang="ru" lang="ru">Русский</a></li>' in html
    assert '<li><a href="/releases/minsk/en" hreflang="en" lang="en">English</a></li>' in html
    assert (
        '<link rel="alternate" hreflang="ru" href="https://press.example.org/releases/minsk/ru">'
    ) in html
    assert '<link rel="canonical" href="https://press.example.org/releases/minsk/fr">' in html
    # feeds: every region in this language, and the release's own region
    assert 'href="https://press.example.org/feeds/fr/all.atom"' in html
    assert 'Biélorussie: <a href="https://press.example.org/feeds/fr/by.atom"' in html
    assert 'href="https://press.example.org/feeds.opml"' in html

    russian = (await site.get("/releases/minsk/ru")).text
    assert "28 ноября 2026" in russian
    assert '<span class="dateline">Минск</span>' in russian
    assert (await site.get("/releases/minsk/es")).status_code == 404


async def test_arabic_is_right_to_left(site: Site) -> None:
    arabic = md("الأمن الغذائي", dateline="نيامي")
    site.release("sahel", {"ar": arabic, "en": md("Food security")}, regions=("NE", "TD"))
    await site.sync()

    html = (await site.get("/releases/sahel/ar")).text
    assert '<html lang="ar" dir="rtl">' in html
    assert '<span class="dateline">نيامي</span>، <time' in html  # the Arabic comma
    assert "المناطق: النيجر، تشاد" in html
    assert "متاح أيضا باللغات" in html
    listing = (await site.get("/?lang=ar")).text
    assert '<html lang="ar" dir="rtl">' in listing
    assert titles(listing) == ["الأمن الغذائي"]
    # in an English page, a release written only in Arabic keeps its own direction
    site.release("gulf", {"ar": md("الخليج")}, publish_at=NOW - 2 * HOUR)
    await site.sync()
    site.clock.now += 10 * SECOND  # past the view's refresh
    english = (await site.get("/?lang=en")).text
    assert '<html lang="en" dir="ltr">' in english
    assert english.count('<article lang="ar" dir="rtl">') == 1
    assert titles(english) == ["Food security", "الخليج"]


async def test_titles_are_escaped(site: Site) -> None:
    site.release("x", {"en": md("<script>alert(1)</script> & more")})
    await site.sync()

    for url in ("/", "/releases/x/en"):
        html = (await site.get(url)).text
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


# -- what is not public ---------------------------------------------------------------


async def assert_like_unknown(site: Site, release_id: str, lang: str = "en") -> None:
    """Every address of the release gives exactly what an id that never existed gives."""
    for template in ("/releases/{}/" + lang, "/releases/{}"):
        hidden = await site.get(template.format(release_id), "fr")
        unknown = await site.get(template.format("no-such-release"), "fr")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.text == unknown.text
        assert hidden.headers == unknown.headers
    listing = await site.get("/")
    assert f"/releases/{release_id}/" not in listing.text


async def test_embargo_edge(site: Site) -> None:
    publish_at = NOW + HOUR
    embargo = f"embargo_send_at = {(NOW - HOUR).isoformat()}"
    site.release("embargoed", {"en": md("Under embargo")}, publish_at=publish_at, extra=embargo)
    await site.sync()

    site.clock.now = publish_at - SECOND
    await assert_like_unknown(site, "embargoed")
    unknown = await site.get("/releases/no-such-release/en")
    assert unknown.headers["cache-control"] == "public, max-age=1"  # not cached past publish_at
    assert "Page not found" in unknown.text

    for moment in (publish_at, publish_at + SECOND):
        site.clock.now = moment
        page = await site.get("/releases/embargoed/en")
        assert page.status_code == 200, moment
        assert "<h1>Under embargo</h1>" in page.text
        assert titles((await site.get("/")).text) == ["Under embargo"]
        assert (await site.get("/releases/embargoed")).headers["location"] == (
            "/releases/embargoed/en"
        )


async def test_embargoed_release_missing_language_is_a_plain_not_found(site: Site) -> None:
    publish_at = NOW + HOUR
    texts = {"fr": md("Sous embargo"), "en": md("Under embargo")}
    site.release("embargoed", texts, publish_at=publish_at)
    await site.sync()

    await assert_like_unknown(site, "embargoed", "zh")
    hidden = (await site.get("/releases/embargoed/zh", "zh, fr")).text
    assert versions(hidden) == []
    assert "/releases/embargoed" not in hidden
    assert "本新闻稿没有这种语言的版本。" not in hidden

    site.clock.now = publish_at  # published: now the versions may be named
    public = (await site.get("/releases/embargoed/zh", "zh, fr")).text
    assert [lang for lang, _ in versions(public)] == ["fr", "en"]


@pytest.mark.parametrize("status", ["draft", "cancelled"])
async def test_drafts_and_cancelled_releases_are_not_found(site: Site, status: str) -> None:
    site.release("hidden", {"en": md("Hidden")}, status=status, publish_at=NOW - HOUR)
    site.release("shown", {"en": md("Shown")}, publish_at=NOW - 2 * HOUR)
    await site.sync()

    await assert_like_unknown(site, "hidden")
    assert titles((await site.get("/")).text) == ["Shown"]


async def test_not_found_page_is_localised(site: Site) -> None:
    french = await site.get("/releases/nope/fr", "ru")  # the address's language first
    assert french.status_code == 404
    assert '<html lang="fr" dir="ltr">' in french.text
    assert "Page introuvable" in french.text
    assert french.headers["content-language"] == "fr"
    russian = await site.get("/releases/nope", "ru")
    assert "Страница не найдена" in russian.text
    assert '<meta name="robots" content="noindex">' in russian.text


async def test_not_found_handler_for_unknown_addresses(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        app = create_app(rt, clock=Clock(NOW))
        app.add_exception_handler(404, not_found_handler)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.get("/no/such/page", headers={"Accept-Language": "es"})
    assert response.status_code == 404
    assert "Página no encontrada" in response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"


# -- caching ------------------------------------------------------------------------------


async def test_cache_lifetime_never_passes_the_next_publication(site: Site) -> None:
    site.release("now", {"en": md("Now")}, publish_at=NOW - HOUR)
    await site.sync()
    assert (await site.get("/")).headers["cache-control"] == "public, max-age=60"

    site.release("soon", {"en": md("Soon")}, publish_at=NOW + 30 * SECOND)
    await site.sync()
    site.clock.now += 10 * SECOND  # past the view's refresh: it sees "soon" coming
    for url in ("/", "/releases/now/en", "/releases/now", "/releases/soon/en"):
        response = await site.get(url)
        assert response.headers["cache-control"] == "public, max-age=20", url

    head = await site.client.head("/releases/now/en")
    assert head.status_code == 200
    assert head.headers["cache-control"] == "public, max-age=20"


# -- probes -------------------------------------------------------------------------------


async def test_healthz(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    response = await site.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

    async def broken(now: datetime) -> None:
        raise OSError("database is gone")

    monkeypatch.setattr(site.rt.catalog, "next_publication", broken)
    failing = await site.get("/healthz")
    assert failing.status_code == 503
    assert failing.json() == {"status": "unavailable"}


SAMPLE = re.compile(r'^([a-z_]+)(?:\{((?:[a-z_]+="[^"]*",?)*)\})? (-?[0-9.e+]+)$')


def parse_metrics(text: str) -> dict[str, dict[str, float]]:
    """name → {labels: value}, checking that every family has HELP and TYPE first."""
    families: dict[str, dict[str, float]] = {}
    described: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            kind, name, _ = line[2:].split(" ", 2)
            assert kind in ("HELP", "TYPE"), line
            described.setdefault(name, set()).add(kind)
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        assert described.get(name) == {"HELP", "TYPE"}, f"{name} sampled before HELP/TYPE"
        families.setdefault(name, {})[labels or ""] = float(value)
    assert text.endswith("\n")
    return families


async def test_metrics(site: Site) -> None:
    site.release("sent", {"en": md("Sent")}, regions=("world",), publish_at=NOW - HOUR)
    site.release("later", {"en": md("Later")}, publish_at=NOW + HOUR)
    site.newsroom.subscribers(
        "press", ["a@example.org,A,en,,,no", "b@example.org,B,en,,,no", "c@example.org,C,,,,no"]
    )
    report = await pipeline.tick(site.rt, NOW)
    assert not report.problems

    before = await site.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    metrics = parse_metrics(before.text)
    deliveries = metrics["pressdispatch_deliveries"]
    assert deliveries['status="queued"'] == 3
    assert deliveries['status="sent"'] == 0
    assert set(deliveries) == {
        f'status="{s}"' for s in ("queued", "sending", "sent", "deferred", "failed", "cancelled")
    }
    assert metrics["pressdispatch_queue_depth"] == {"": 3}
    assert metrics["pressdispatch_public_releases"] == {"": 1}
    for name in ("pressdispatch_feed_requests_total", "pressdispatch_feed_not_modified_total"):
        assert set(metrics[name]) == {'format="atom"', 'format="rss"', 'format="opml"'}
    assert "# TYPE pressdispatch_feed_requests_total counter" in before.text
    assert "# TYPE pressdispatch_queue_depth gauge" in before.text

    feed = await site.get("/feeds/en/all.atom")
    assert feed.status_code == 200
    after = parse_metrics((await site.get("/metrics")).text)
    requests = after["pressdispatch_feed_requests_total"]
    assert (
        requests['format="atom"']
        == metrics["pressdispatch_feed_requests_total"]['format="atom"'] + 1
    )
