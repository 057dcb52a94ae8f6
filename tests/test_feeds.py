"""Atom and RSS feeds, the OPML, the static export and WebSub.

The app runs over a real store (SQLite; one PostgreSQL smoke test) with the
release files synced in as the service does, and a clock the test moves, so
the embargo edge is exact to the second. Every feed of the sample newsroom is
built with the pure builder and parsed with feedparser; a representative set
goes through HTTP and is checked byte for byte against the builder and the
static export.
"""

from __future__ import annotations

import gzip
import logging
import textwrap
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest
from feedgen.entry import FeedEntry
from typer.testing import CliRunner

import pressdispatch.web.feeds as web_feeds
from pressdispatch import pipeline
from pressdispatch.cli import app as cli_app
from pressdispatch.cli.feeds import MANIFEST, export
from pressdispatch.config import Settings
from pressdispatch.dispatch.websub import PING_BATCH, ping_hub
from pressdispatch.errors import ConfigError
from pressdispatch.model import Release, Translation
from pressdispatch.regions import RegionTree, load_regions
from pressdispatch.render.feeds import (
    ALL,
    FeedSite,
    FeedSpec,
    build_feed,
    feed_specs,
    feed_urls_for,
    listed_specs,
)
from pressdispatch.runtime import Runtime
from pressdispatch.web.app import create_app
from pressdispatch.web.feeds import FEED_BUILDS, FEED_NOT_MODIFIED, FEED_REQUESTS

from .conftest import md
from .dispatching import Clock, copy_sample, database_url, make_newsroom, runtime, sqlite_url

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # after every sample release
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
BASE = "https://press.example.org"
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
IDENTITY = {"accept-encoding": "identity"}
LANGUAGES = ("en", "fr", "ru", "ar", "es", "zh")


@dataclass
class Site:
    root: Path
    settings: Settings
    clock: Clock
    rt: Runtime
    client: httpx.AsyncClient
    app: Any

    def release(
        self,
        release_id: str,
        texts: Mapping[str, str],
        *,
        publish_at: datetime,
        regions: tuple[str, ...] = ("world",),
        topics: tuple[str, ...] = (),
        status: str = "ready",
        extra: str = "",
    ) -> None:
        folder = self.root / "releases" / release_id
        folder.mkdir(parents=True, exist_ok=True)
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

    async def sync(self) -> None:
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, self.clock(), report)
        assert not report.problems, report.problems

    async def get(self, url: str, **headers: str) -> httpx.Response:
        wanted = {**IDENTITY, **{k.replace("_", "-"): v for k, v in headers.items()}}  # lower
        return await self.client.get(url, headers=wanted)

    def later(self, seconds: float = 10) -> None:
        """Move the clock past the public view's refresh, as time passes between requests."""
        self.clock.now += timedelta(seconds=seconds)

    def feed_site(self) -> FeedSite:
        return FeedSite.of(self.settings, self.rt.regions)


@asynccontextmanager
async def open_site(
    tmp_path: Path, db_url: str | None = None, *, sample: bool = False, **config: Any
) -> AsyncIterator[Site]:
    """The web app over a newsroom in ``tmp_path`` (the shipped sample with ``sample``)."""
    url = db_url or sqlite_url(tmp_path)
    newsroom = make_newsroom(tmp_path, url)
    if sample:
        copy_sample(tmp_path)
    newsroom.write_config(**config)
    settings = newsroom.settings()
    clock = Clock(NOW)
    async with runtime(settings) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                site = Site(tmp_path, settings, clock, rt, client, app)
                if sample:
                    await site.sync()
                yield site


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site(tmp_path) as opened:
        yield opened


@pytest.fixture
async def sample(tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site(tmp_path, sample=True) as opened:
        yield opened


def parse(body: bytes) -> Any:
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


EMPTY = {("zh", "all"), ("all", "fr")}  # empty feeds read by feedparser as well
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def empty_feed_language(body: bytes, kind: str) -> str | None:
    """The language of a well-formed feed without entries."""
    root = ET.fromstring(body)
    if kind == "atom":
        assert root.tag == "{http://www.w3.org/2005/Atom}feed"
        assert root.find("{http://www.w3.org/2005/Atom}entry") is None
        return root.get(XML_LANG)
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert root.find("channel/item") is None
    return root.findtext("channel/language")


def tag(release: Release, lang: str) -> str:
    day = release.publish_at.astimezone(UTC).date().isoformat()
    return f"tag:example.org,{day}:{release.id}/{lang}"


def expected_entries(
    spec: FeedSpec, releases: tuple[Release, ...], regions: RegionTree
) -> list[tuple[Release, str]]:
    """What the issue asks for, written out: public releases of the region, in the language."""
    chosen = []
    for release in releases:
        if spec.region != ALL and not regions.matches({spec.region}, release.regions):
            continue
        lang = release.original_language if spec.language == ALL else spec.language
        if lang in release.translations:
            chosen.append((release, lang))
    return chosen


def page(release_id: str, lang: str) -> str:
    return f"{BASE}/releases/{release_id}/{lang}"


MINSK = {
    "ru": md(
        "Кампания в Минске",
        "Текст на русском.",
        summary="Кратко по-русски.",
        dateline="Минск",
    ),
    "en": md("Campaign in Minsk", "Text in English.", summary="In short.", dateline="Minsk"),
    "fr": md(
        "Campagne à Minsk",
        "Texte en français & <em>plus</em>.",
        summary="En bref.",
        dateline="Minsk",
    ),
}


# -- every feed of the sample newsroom -----------------------------------------------


async def test_every_feed_of_the_sample_parses_with_the_expected_entries(sample: Site) -> None:
    snapshot = await sample.rt.catalog.public(NOW)
    releases = tuple(snapshot)
    assert [r.id for r in releases] == [
        "minsk-vaccination-campaign",
        "andes-glacier-report",
        "sahel-food-security",
        "water-points-central-asia",
    ]  # the draft is not public
    site = sample.feed_site()
    regions = sample.rt.regions
    specs = list(feed_specs(site))
    assert len(specs) == (len(LANGUAGES) + 1) * (len(regions) + 1) * 2

    seen: dict[tuple[str, str, str], Any] = {}
    for spec in specs:
        body = build_feed(spec, releases, site)
        feed_lang = "en" if spec.language == ALL else spec.language
        expected = expected_entries(spec, releases, regions)
        if not expected and spec.region != ALL and (spec.language, spec.region) not in EMPTY:
            # Most feeds of a country are empty and differ only in their names: read as XML.
            assert empty_feed_language(body, spec.kind) == feed_lang, spec
            continue
        parsed = parse(body)
        assert parsed.feed.language == feed_lang, spec
        assert [e.id for e in parsed.entries] == [tag(r, lang) for r, lang in expected], spec
        for entry, (release, lang) in zip(parsed.entries, expected, strict=True):
            if spec.kind == "atom":
                assert entry.title_detail.language == lang
                alternates = [(link.hreflang, link.href) for link in entry.links]
                assert alternates[0] == (lang, page(release.id, lang))
                assert sorted(alternates) == sorted(
                    (other, page(release.id, other)) for other in release.translations
                )
            else:
                assert entry.language == lang
                assert entry.link == page(release.id, lang)
            terms = [(t.term, t.scheme) for t in entry.tags]
            assert terms == [(r, f"{BASE}/regions/") for r in release.regions] + [
                (t, f"{BASE}/topics/") for t in release.topics
            ]
        seen[(spec.language, spec.region, spec.kind)] = parsed

    # Atom and RSS carry the same entries
    for (language, region, kind), atom in seen.items():
        if kind != "atom":
            continue
        rss = seen[(language, region, "rss")]
        assert [e.id for e in atom.entries] == [e.id for e in rss.entries]
        assert [e.title for e in atom.entries] == [e.title for e in rss.entries]
        assert [e.published_parsed for e in atom.entries] == [
            e.published_parsed for e in rss.entries
        ]
        assert [e.links[0].href for e in atom.entries] == [e.link for e in rss.entries]
        assert [e.content[0].value for e in atom.entries] == [
            e.content[0].value for e in rss.entries
        ]

    def ids(language: str, region: str) -> list[str]:
        return [e.id.rsplit(":", 1)[1] for e in seen[(language, region, "atom")].entries]

    # the containment rule, spelled out on a few feeds
    assert ids("all", "all") == [
        "minsk-vaccination-campaign/ru",
        "andes-glacier-report/es",
        "sahel-food-security/fr",
        "water-points-central-asia/en",
    ]
    assert ids("fr", "europe") == ["minsk-vaccination-campaign/fr"]
    assert ids("ru", "by") == ["minsk-vaccination-campaign/ru"]
    assert ids("ru", "asia") == ["water-points-central-asia/ru"]
    assert ids("all", "kz") == ["water-points-central-asia/en"]  # inside Central Asia
    assert ids("all", "middle-africa") == ["sahel-food-security/fr"]  # Chad
    assert ids("ar", ALL) == ["sahel-food-security/ar"]
    assert ids("es", "americas") == ["andes-glacier-report/es"]
    assert len(ids("en", "world")) == 4
    assert ids("zh", ALL) == []
    assert ids("all", "fr") == []  # France: nothing about it, nothing around it


async def test_http_serves_the_builders_bytes_for_a_representative_set(sample: Site) -> None:
    releases = tuple(await sample.rt.catalog.public(NOW))
    site = sample.feed_site()
    for language, region, kind in [
        ("all", "all", "atom"),
        ("all", "all", "rss"),
        ("fr", "europe", "atom"),
        ("ru", "by", "atom"),
        ("en", "world", "rss"),
        ("ar", "western-africa", "rss"),
        ("zh", "all", "atom"),
        ("es", "south-america", "atom"),
    ]:
        spec = FeedSpec(language, region, kind)
        response = await sample.get(spec.path)
        assert response.status_code == 200, spec
        assert response.content == build_feed(spec, releases, site), spec
        parse(response.content)


# -- what an entry carries --------------------------------------------------------------


async def test_atom_entry_fields_links_language_and_categories(site: Site) -> None:
    published = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    site.release(
        "minsk", MINSK, publish_at=published, regions=("BY",), topics=("health", "vaccines")
    )
    await site.sync()

    response = await site.get("/feeds/fr/europe.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.get(XML_LANG) == "fr"
    assert root.findtext(f"{ATOM}title") == "Test Press Office · Europe · Français"
    assert root.findtext(f"{ATOM}updated") == "2026-12-02T08:00:00+01:00"
    assert root.findtext(f"{ATOM}generator") == "pressdispatch"
    links = {link.get("rel"): link.attrib for link in root.findall(f"{ATOM}link")}
    assert links["self"]["href"] == f"{BASE}/feeds/fr/europe.atom"
    assert links["self"]["type"] == "application/atom+xml"
    assert links["alternate"]["href"] == f"{BASE}/releases?language=fr&region=europe"
    assert "hub" not in links  # no WebSub hub configured

    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.get(XML_LANG) == "fr"
    assert entry.findtext(f"{ATOM}id") == "tag:example.org,2026-12-02:minsk/fr"
    assert entry.findtext(f"{ATOM}title") == "Campagne à Minsk"
    assert entry.findtext(f"{ATOM}summary") == "En bref."
    assert entry.findtext(f"{ATOM}published") == "2026-12-02T08:00:00+01:00"
    assert entry.findtext(f"{ATOM}updated") == "2026-12-02T08:00:00+01:00"
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Test Press Office"
    content = entry.find(f"{ATOM}content")
    assert content is not None
    assert content.get("type") == "html"
    assert content.text is not None
    assert content.text.startswith(
        '<p class="dateline"><strong>MINSK</strong>, '
        '<time datetime="2026-12-02T08:00:00+01:00">2 décembre 2026</time></p>'
    )
    assert "<p>Texte en français &amp; <em>plus</em>.</p>" in content.text  # sanitised HTML
    # feedgen #135 worked around: rel, type and hreflang survive, own language first
    assert [link.attrib for link in entry.findall(f"{ATOM}link")] == [
        {"href": page("minsk", lang), "rel": "alternate", "type": "text/html", "hreflang": lang}
        for lang in ("fr", "ru", "en")
    ]
    assert [c.attrib for c in entry.findall(f"{ATOM}category")] == [
        {"term": "by", "scheme": f"{BASE}/regions/", "label": "Biélorussie"},
        {"term": "health", "scheme": f"{BASE}/topics/", "label": "health"},
        {"term": "vaccines", "scheme": f"{BASE}/topics/", "label": "vaccines"},
    ]

    # the all-languages feed: the original language, with the translations as alternates
    root = ET.fromstring((await site.get("/feeds/all/all.atom")).content)
    assert root.get(XML_LANG) == "en"  # the feed's own text is in the default language
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.get(XML_LANG) == "ru"
    assert entry.findtext(f"{ATOM}id") == "tag:example.org,2026-12-02:minsk/ru"
    assert [link.get("hreflang") for link in entry.findall(f"{ATOM}link")] == ["ru", "en", "fr"]
    assert entry.find(f"{ATOM}category").get("label") == "Беларусь"  # type: ignore[union-attr]

    # and feedparser sees the same
    parsed = parse((await site.get("/feeds/all/all.atom")).content)
    (item,) = parsed.entries
    assert item.title_detail.language == "ru"
    assert [(link.rel, link.type, link.hreflang) for link in item.links] == [
        ("alternate", "text/html", "ru"),
        ("alternate", "text/html", "en"),
        ("alternate", "text/html", "fr"),
    ]


def test_feedgen_still_drops_atom_entry_link_attributes() -> None:
    """The upstream bug our _Entry repairs (feedgen #135). If this fails, feedgen fixed it."""
    entry = FeedEntry()
    entry.id("tag:example.org,2026-01-01:x")
    entry.title("x")
    entry.link(href="https://example.org/x/fr", rel="alternate", hreflang="fr")
    (link,) = entry.atom_entry().findall("link")
    assert link.attrib == {"href": "https://example.org/x/fr"}


async def test_rss_item_fields(site: Site) -> None:
    site.release(
        "minsk",
        MINSK,
        publish_at=datetime(2026, 12, 2, 7, 0, tzinfo=UTC),
        regions=("BY",),
        topics=("health",),
    )
    await site.sync()

    response = await site.get("/feeds/fr/by.rss")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("language") == "fr"
    assert channel.findtext("title") == "Test Press Office · Biélorussie · Français"
    assert channel.findtext("lastBuildDate") == "Wed, 02 Dec 2026 08:00:00 +0100"
    (self_link,) = channel.findall(f"{ATOM}link")
    assert self_link.attrib == {
        "href": f"{BASE}/feeds/fr/by.rss",
        "rel": "self",
        "type": "application/rss+xml",
    }
    (item,) = channel.findall("item")
    guid = item.find("guid")
    assert guid is not None
    assert guid.get("isPermaLink") == "false"
    assert guid.text == "tag:example.org,2026-12-02:minsk/fr"
    assert item.findtext("link") == page("minsk", "fr")
    assert item.findtext("pubDate") == "Wed, 02 Dec 2026 08:00:00 +0100"
    assert item.findtext("description") == "En bref."
    assert item.findtext(f"{DC}language") == "fr"
    assert item.findtext("author") == "media@example.org (Test Press Office)"
    encoded = item.findtext(f"{CONTENT}encoded")
    assert encoded is not None
    assert "<strong>MINSK</strong>" in encoded
    assert "<p>Texte en français &amp; <em>plus</em>.</p>" in encoded
    assert [(c.get("domain"), c.text) for c in item.findall("category")] == [
        (f"{BASE}/regions/", "by"),
        (f"{BASE}/topics/", "health"),
    ]


async def test_newest_first_and_at_most_max_entries(tmp_path: Path) -> None:
    async with open_site(tmp_path, feeds={"max_entries": 3}) as site:
        for n in range(5):
            site.release(f"r{n}", {"en": md(f"Release {n}")}, publish_at=NOW - (5 - n) * HOUR)
        await site.sync()
        for kind in ("atom", "rss"):
            parsed = parse((await site.get(f"/feeds/en/all.{kind}")).content)
            assert [e.title for e in parsed.entries] == ["Release 4", "Release 3", "Release 2"]
        root = ET.fromstring((await site.get("/feeds/en/all.atom")).content)
        assert (
            root.findtext(f"{ATOM}updated")
            == (NOW - HOUR).astimezone(site.settings.newsroom.zone).isoformat()
        )
        # an empty feed: the newsroom's first publication, never the clock's nor 1970
        root = ET.fromstring((await site.get("/feeds/zh/all.atom")).content)
        assert root.findtext(f"{ATOM}updated") == "2026-12-10T05:00:00+01:00"  # NOW - 5 h
        rss = ET.fromstring((await site.get("/feeds/zh/all.rss")).content)
        assert rss.findtext("channel/lastBuildDate") == "Thu, 10 Dec 2026 05:00:00 +0100"


async def test_topic_filter(site: Site) -> None:
    site.release("water", {"en": md("Water")}, publish_at=NOW - 2 * HOUR, topics=("water",))
    site.release("both", {"en": md("Both")}, publish_at=NOW - HOUR, topics=("water", "health"))
    site.release("none", {"en": md("None")}, publish_at=NOW - 3 * HOUR)
    await site.sync()

    for kind in ("atom", "rss"):
        parsed = parse((await site.get(f"/feeds/all/all.{kind}?topic=water")).content)
        assert [e.title for e in parsed.entries] == ["Both", "Water"]
        assert parsed.feed.title == "Test Press Office · water"
    health = parse((await site.get("/feeds/en/world.atom?topic=Health")).content)  # any case
    assert [e.title for e in health.entries] == ["Both"]
    assert [link.href for link in health.feed.links if link.rel == "self"] == [
        f"{BASE}/feeds/en/world.atom?topic=health"
    ]
    unused = await site.get("/feeds/all/all.atom?topic=elections")
    assert unused.status_code == 200  # a topic no release uses yet: subscribe now, read later
    assert parse(unused.content).entries == []
    assert (await site.get("/feeds/all/all.atom?topic=not%20a%20slug")).status_code == 404
    unfiltered = parse((await site.get("/feeds/all/all.atom?topic=")).content)
    assert len(unfiltered.entries) == 3


async def test_unknown_language_or_region_is_404(site: Site) -> None:
    for path in [
        "/feeds/de/all.atom",  # a language the newsroom does not offer
        "/feeds/xx/all.rss",
        "/feeds/en/atlantis.atom",
        "/feeds/en/BY.atom",  # slugs are lowercase
        "/feeds/EN/all.atom",
        "/feeds/en/eastern%20europe.rss",
        "/feeds/en/all.json",
        "/feeds/en.atom",
    ]:
        response = await site.get(path)
        assert response.status_code == 404, path
    for path in ["/feeds/all/all.atom", "/feeds/en/by.rss", "/feeds/zh/eastern-europe.atom"]:
        assert (await site.get(path)).status_code == 200, path


# -- the embargo edge ------------------------------------------------------------------


async def test_embargo_edge_feeds_and_opml(site: Site) -> None:
    at = NOW + HOUR
    site.release(
        "embargoed",
        {"en": md("Secret until noon"), "fr": md("Secret jusqu'à midi")},
        publish_at=at,
        regions=("BY",),
        extra=f"embargo_send_at = {(at - 24 * HOUR).isoformat()}",
    )
    site.release("draft", {"en": md("A draft")}, publish_at=NOW - HOUR, status="draft")
    site.release("cancelled", {"en": md("Called off")}, publish_at=NOW - HOUR, status="cancelled")
    site.release("old", {"en": md("Old news")}, publish_at=NOW - 2 * HOUR)
    await site.sync()

    paths = [
        f"/feeds/{language}/{region}.{kind}"
        for language in ("all", "en", "fr")
        for region in ("all", "europe", "by", "world")
        for kind in ("atom", "rss")
    ]

    async def visible() -> dict[str, bool]:
        found = {}
        for path in paths:
            body = (await site.get(path)).content
            assert b"A draft" not in body and b"Called off" not in body
            assert b"draft" not in body and b"cancelled" not in body
            found[path] = b"embargoed" in body
            assert (b"Secret" in body) == found[path]
        return found

    site.clock.now = at - SECOND
    assert not any((await visible()).values())
    opml_before = (await site.get("/feeds.opml")).content
    assert b"embargoed" not in opml_before and b"Secret" not in opml_before
    # the OPML lists a country once a public release is about it: not a day early
    assert b"/by.atom" not in opml_before and b"/europe.atom" in opml_before

    site.clock.now = at  # no scan in between: the view is keyed to the next publication
    assert all((await visible()).values())
    opml_at = (await site.get("/feeds.opml")).content
    assert b"embargoed" not in opml_at and b"Secret" not in opml_at
    assert f"{BASE}/feeds/fr/by.atom".encode() in opml_at
    assert f"{BASE}/feeds/ru/by.atom".encode() not in opml_at  # no Russian version

    site.clock.now = at + SECOND
    assert all((await visible()).values())
    assert (await site.get("/feeds.opml")).content == opml_at
    # newest first: the release that just went public leads
    parsed = parse((await site.get("/feeds/all/all.atom")).content)
    assert [e.title for e in parsed.entries] == ["Secret until noon", "Old news"]


async def test_cache_control_never_outlives_the_next_publication(tmp_path: Path) -> None:
    async with open_site(tmp_path, feeds={"max_age": "2m"}) as site:
        site.release("now", {"en": md("Now")}, publish_at=NOW - HOUR)
        await site.sync()
        response = await site.get("/feeds/all/all.atom")
        assert response.headers["cache-control"] == "public, max-age=120"

        site.release("soon", {"en": md("Soon")}, publish_at=NOW + 45 * SECOND)
        await site.sync()
        site.later(10)  # 35 s before it
        response = await site.get("/feeds/all/all.atom")
        assert response.headers["cache-control"] == "public, max-age=35"
        response = await site.get("/feeds/zh/all.rss")  # even a feed it will not be in
        assert response.headers["cache-control"] == "public, max-age=35"
        # the OPML too: a publication can add a country to it
        assert (await site.get("/feeds.opml")).headers["cache-control"] == "public, max-age=35"

        site.clock.now = NOW + 45 * SECOND
        response = await site.get("/feeds/all/all.atom")
        assert response.headers["cache-control"] == "public, max-age=120"
        assert [e.title for e in parse(response.content).entries] == ["Soon", "Now"]


# -- HTTP: validators, 304, HEAD, gzip, the build cache ----------------------------------


async def test_conditional_get(site: Site) -> None:
    site.release("first", {"en": md("First")}, publish_at=NOW - HOUR)
    site.release("next", {"en": md("Next")}, publish_at=NOW + HOUR)
    await site.sync()
    url = "/feeds/all/all.atom"

    first = await site.get(url)
    etag = first.headers["etag"]
    last_modified = first.headers["last-modified"]
    assert etag.startswith('"') and etag.endswith('"')
    assert parsedate_to_datetime(last_modified) == NOW
    assert first.headers["vary"] == "Accept, Accept-Encoding"

    again = await site.get(url, if_none_match=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "cache-control" in again.headers
    assert (await site.get(url, if_none_match=f"W/{etag}")).status_code == 304
    assert (await site.get(url, if_none_match=f'"other", {etag}')).status_code == 304
    assert (await site.get(url, if_none_match="*")).status_code == 304
    assert (await site.get(url, if_modified_since=last_modified)).status_code == 304
    later = format_datetime(NOW + HOUR, usegmt=True)
    assert (await site.get(url, if_modified_since=later)).status_code == 304
    earlier = format_datetime(NOW - SECOND, usegmt=True)
    assert (await site.get(url, if_modified_since=earlier)).status_code == 200
    assert (await site.get(url, if_modified_since="not a date")).status_code == 200
    # If-None-Match decides when both are sent
    mismatch = await site.get(url, if_none_match='"other"', if_modified_since=last_modified)
    assert mismatch.status_code == 200

    # time passes, the public view is taken again, nothing changed: still 304
    site.later(30)
    assert (await site.get(url, if_none_match=etag)).status_code == 304

    # a publication changes the feed, its ETag and its Last-Modified
    site.clock.now = NOW + HOUR
    changed = await site.get(url, if_none_match=etag, if_modified_since=last_modified)
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert parsedate_to_datetime(changed.headers["last-modified"]) == NOW + HOUR
    assert [e.title for e in parse(changed.content).entries] == ["Next", "First"]
    new = await site.get(url, if_none_match=changed.headers["etag"])
    assert new.status_code == 304

    # a feed the publication did not touch keeps its validators
    untouched = "/feeds/zh/all.rss"
    site.clock.now = NOW + 2 * HOUR
    before = await site.get(untouched)
    site.release("later", {"en": md("Later")}, publish_at=NOW + 3 * HOUR)
    await site.sync()
    site.clock.now = NOW + 3 * HOUR
    after = await site.get(untouched, if_none_match=before.headers["etag"])
    assert after.status_code == 304
    assert after.headers["last-modified"] == before.headers["last-modified"]


async def test_last_modified_moves_for_a_release_published_late(site: Site) -> None:
    """A file added with a past publish_at changes the feed without a newer entry."""
    site.release("newer", {"en": md("Newer")}, publish_at=NOW - HOUR)
    await site.sync()
    first = await site.get("/feeds/en/all.rss")

    site.later(60)
    site.release("backdated", {"en": md("Backdated")}, publish_at=NOW - 5 * HOUR)
    await site.sync()
    site.later(10)
    response = await site.get("/feeds/en/all.rss", if_modified_since=first.headers["last-modified"])
    assert response.status_code == 200
    assert [e.title for e in parse(response.content).entries] == ["Newer", "Backdated"]


async def test_head_and_gzip(site: Site) -> None:
    site.release("one", MINSK, publish_at=NOW - HOUR)
    await site.sync()
    url = "/feeds/all/all.rss"
    plain = await site.get(url)
    body = plain.content

    head = await site.client.head(url, headers=IDENTITY)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(body))
    assert head.headers["etag"] == plain.headers["etag"]
    assert head.headers["content-type"] == "application/rss+xml; charset=utf-8"
    head_304 = await site.client.head(url, headers={"If-None-Match": plain.headers["etag"]})
    assert head_304.status_code == 304

    zipped = await site.get(url, accept_encoding="gzip")
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept, Accept-Encoding"
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert zipped.content == body  # httpx undoes the gzip
    assert int(zipped.headers["content-length"]) == len(gzip.compress(body, mtime=0))
    assert int(zipped.headers["content-length"]) < len(body)
    # either representation's tag revalidates
    assert (await site.get(url, if_none_match=zipped.headers["etag"])).status_code == 304
    again = await site.get(url, accept_encoding="gzip", if_none_match=plain.headers["etag"])
    assert again.status_code == 304
    head_zipped = await site.client.head(url, headers={"Accept-Encoding": "br, gzip;q=0.5"})
    assert head_zipped.headers["content-encoding"] == "gzip"
    assert head_zipped.content == b""

    for refused in ("gzip;q=0", "identity", "br", "*;q=0"):
        response = await site.get(url, accept_encoding=refused)
        assert "content-encoding" not in response.headers, refused
        assert response.content == body
    assert (await site.get(url, accept_encoding="*")).headers["content-encoding"] == "gzip"


async def test_building_is_cached_per_public_version(site: Site) -> None:
    site.release("one", {"en": md("One")}, publish_at=NOW - HOUR)
    site.release("two", {"en": md("Two")}, publish_at=NOW + HOUR)
    site.release("three", {"fr": md("Trois")}, publish_at=NOW + 2 * HOUR)
    await site.sync()
    start = FEED_BUILDS["atom"] + FEED_BUILDS["rss"]

    def built() -> int:
        return FEED_BUILDS["atom"] + FEED_BUILDS["rss"] - start

    url = "/feeds/en/all.atom"
    await site.get(url)
    await site.get(url)
    await site.get(url, accept_encoding="gzip")
    await site.client.head(url)
    site.later(30)  # the view is taken again; same version
    await site.get(url)
    assert built() == 1

    await site.get("/feeds/en/all.rss")
    assert built() == 2
    site.clock.now = NOW + HOUR  # a publication: a new version
    await site.get(url)
    assert built() == 3
    site.clock.now = NOW + 2 * HOUR  # another, in French only: the English feed is the same
    same = await site.get(url)
    assert built() == 3
    assert (await site.get(url, if_none_match=same.headers["etag"])).status_code == 304
    assert built() == 3


async def test_a_304_is_answered_without_building_even_out_of_the_cache(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polling every feed of the OPML: the ETags stay known when the bytes do not fit."""
    for n, region in enumerate(("BY", "PE", "TD", "KZ")):
        site.release(
            f"r{n}",
            {"en": md(f"R{n}"), "fr": md(f"F{n}")},
            publish_at=NOW - n * HOUR,
            regions=(region,),
        )
    await site.sync()
    opml = ET.fromstring((await site.get("/feeds.opml")).content)
    urls = [
        str(o.get("xmlUrl")).removeprefix(BASE) for o in opml.iter("outline") if o.get("xmlUrl")
    ]
    etags = {url: (await site.get(url)).headers["etag"] for url in urls}
    feeds = site.app.state.feeds
    feeds.cache.budget = 1  # as if only one feed fitted: every other one's bytes are gone
    feeds.cache.body(_ONE, "x", lambda: b"x")
    assert len(feeds.cache) == 1
    site.later(30)  # the view is taken again; same version
    before = dict(FEED_BUILDS), FEED_NOT_MODIFIED["atom"] + FEED_NOT_MODIFIED["rss"]
    for url, etag in etags.items():
        response = await site.get(url, if_none_match=etag)
        assert response.status_code == 304, url
        assert response.headers["etag"] == etag
    assert dict(FEED_BUILDS) == before[0]
    assert FEED_NOT_MODIFIED["atom"] + FEED_NOT_MODIFIED["rss"] - before[1] == len(urls)


_ONE = FeedSpec("en", "all", "atom", "filler")


async def test_a_change_of_regions_after_publication_reaches_the_feeds(site: Site) -> None:
    site.release("moved", {"en": md("Moved")}, publish_at=NOW - HOUR, regions=("BY",))
    await site.sync()
    assert len(parse((await site.get("/feeds/all/by.atom")).content).entries) == 1

    site.release("moved", {"en": md("Moved")}, publish_at=NOW - HOUR, regions=("PE",))
    await site.sync()
    site.later(10)
    assert parse((await site.get("/feeds/all/by.atom")).content).entries == []


async def test_counters_for_metrics(site: Site) -> None:
    before = (FEED_REQUESTS["rss"], FEED_NOT_MODIFIED["rss"], FEED_REQUESTS["opml"])
    first = await site.get("/feeds/all/all.rss")
    await site.get("/feeds/all/all.rss", if_none_match=first.headers["etag"])
    await site.get("/feeds.opml")
    after = (FEED_REQUESTS["rss"], FEED_NOT_MODIFIED["rss"], FEED_REQUESTS["opml"])
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]


# -- OPML ---------------------------------------------------------------------------


async def test_opml_lists_region_feeds_and_the_countries_written_about(site: Site) -> None:
    site.release("minsk", MINSK, publish_at=NOW - HOUR, regions=("BY",))
    site.release("lima", {"es": md("Lima")}, publish_at=NOW - HOUR, regions=("PE", "world"))
    await site.sync()
    response = await site.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-opml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "opml"
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Test Press Office"
    feeds = [o for o in root.iter("outline") if o.get("xmlUrl")]
    # Every region feed, for every language and format, whether it has entries or not
    # (zh has none): the ones a reader picks from. Countries only where a release names
    # them in that language: by in all, ru, en, fr; pe in all, es. Not the 250 others,
    # whose feeds only repeat their region's.
    areas = len(site.rt.regions) - len(list(site.rt.regions.countries())) + 1
    countries = 4 + 2
    assert len(feeds) == ((len(LANGUAGES) + 1) * areas + countries) * 2
    urls = [o.get("xmlUrl") for o in feeds]
    assert len(set(urls)) == len(urls)
    assert f"{BASE}/feeds/all/all.atom" in urls
    assert f"{BASE}/feeds/fr/europe.atom" in urls
    assert f"{BASE}/feeds/zh/oceania.atom" in urls
    assert f"{BASE}/feeds/ru/by.rss" in urls
    assert f"{BASE}/feeds/all/pe.rss" in urls and f"{BASE}/feeds/es/pe.atom" in urls
    assert f"{BASE}/feeds/en/pe.atom" not in urls  # no English version of that one
    assert f"{BASE}/feeds/all/fr.atom" not in urls  # carries the world release, names nothing
    assert (await site.get("/feeds/all/fr.atom")).status_code == 200  # served all the same
    for outline in feeds:
        assert outline.get("type") == "rss"
        assert outline.get("text")
        assert outline.get("htmlUrl", "").startswith(f"{BASE}/releases")
    # folders: format, then language; titles in the feed's language
    folders = [o.get("text") for o in root.findall("body/outline")]
    assert folders == ["Atom", "RSS 2.0"]
    french = next(o for o in feeds if o.get("xmlUrl") == f"{BASE}/feeds/fr/by.atom")
    assert french.get("text") == "Test Press Office · Biélorussie · Français"
    assert french.get("language") == "fr"
    # every listed feed exists
    for url in [urls[0], urls[len(urls) // 3], urls[-1]]:
        assert url is not None
        assert (await site.get(url.removeprefix(BASE))).status_code == 200

    head = await site.client.head("/feeds.opml", headers=IDENTITY)
    assert head.content == b""
    assert head.headers["content-length"] == str(len(response.content))
    revalidated = await site.get("/feeds.opml", if_none_match=response.headers["etag"])
    assert revalidated.status_code == 304


# -- the static export -----------------------------------------------------------------


def exported(out: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``out`` (the manifest included): inode and mtime, to see rewrites."""
    found = {}
    for path in out.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[str(path.relative_to(out))] = (stat.st_ino, stat.st_mtime_ns)
    return found


async def test_export_is_byte_identical_to_http(sample: Site, tmp_path: Path) -> None:
    out = tmp_path / "public"
    done = await export(sample.settings, out, sample.clock)
    releases = tuple(await sample.rt.catalog.public(NOW))
    listed = list(listed_specs(sample.feed_site(), releases))
    languages = sample.settings.newsroom.languages
    files = len(listed) + 1 + len(languages)  # and the OPML, and the feeds' stylesheets
    assert (done.written, done.unchanged, done.removed, done.problems) == (files, 0, 0, [])
    assert set(exported(out)) == {
        *(spec.path.lstrip("/") for spec in listed),
        "feeds.opml",
        *(f"feeds/{language}.xsl" for language in languages),
        MANIFEST,
    }
    # no file for a country nobody wrote about, nor for a language it was not written in
    assert (out / "feeds/ru/by.atom").is_file()
    assert not (out / "feeds/all/fr.atom").exists()
    assert not (out / "feeds/zh/by.atom").exists()
    assert (out / "feeds/zh/oceania.atom").is_file()  # region feeds: always

    for path in [
        "/feeds.opml",
        "/feeds/all/all.atom",
        "/feeds/all/all.rss",
        "/feeds/fr/europe.atom",
        "/feeds/ru/by.atom",
        "/feeds/ru/by.rss",
        "/feeds/es/south-america.rss",
        "/feeds/zh/oceania.atom",
        "/feeds/fr.xsl",
        "/feeds/ar.xsl",
    ]:
        response = await sample.get(path)
        assert response.status_code == 200
        assert (out / path.lstrip("/")).read_bytes() == response.content, path


async def test_export_twice_writes_nothing_then_only_what_changed(
    site: Site, tmp_path: Path
) -> None:
    site.release("minsk", MINSK, publish_at=NOW - 2 * HOUR, regions=("BY",))
    site.release("lima", {"es": md("Lima")}, publish_at=NOW - HOUR, regions=("PE",))
    out = tmp_path / "public"
    first = await export(site.settings, out, site.clock)
    files = exported(out)
    assert first.written == len(files) - 1  # all but the manifest

    site.later(60)
    again = await export(site.settings, out, site.clock)
    assert (again.written, again.unchanged, again.removed) == (0, len(files) - 1, 0)
    assert exported(out) == files  # not one file touched, the manifest neither

    # A French version of the Lima release: the French feeds of Peru and around it
    # change; so do the Spanish and all-languages Atom feeds there, whose entry now
    # links to the French version. Not the RSS ones (one link per item), not Belarus.
    site.release(
        "lima", {"es": md("Lima"), "fr": md("Lima (fr)")}, publish_at=NOW - HOUR, regions=("PE",)
    )
    site.later(60)
    changed = await export(site.settings, out, site.clock)
    now = exported(out)
    touched = {path for path in now if now[path] != files.get(path)}
    around = ("all", "world", "americas", "latin-america-and-the-caribbean", "south-america")
    assert touched == {
        MANIFEST,
        "feeds.opml",  # lists fr/pe now
        *(f"feeds/fr/{region}.{kind}" for region in (*around, "pe") for kind in ("atom", "rss")),
        *(f"feeds/{language}/{region}.atom" for language in ("es", "all") for region in around),
        "feeds/es/pe.atom",
        "feeds/all/pe.atom",
    }
    assert changed.written == len(touched) - 1

    # The only release about Belarus moves to Peru: the Belarus feeds had entries, so
    # their files stay, emptied, rather than go stale or vanish under a subscriber.
    site.release("minsk", MINSK, publish_at=NOW - 2 * HOUR, regions=("PE",))
    site.later(60)
    await export(site.settings, out, site.clock)
    assert parse((out / "feeds/ru/by.atom").read_bytes()).entries == []
    assert b"feeds/ru/by.atom" not in (out / "feeds.opml").read_bytes()
    assert (out / "feeds/ru/by.atom").read_bytes() == (await site.get("/feeds/ru/by.atom")).content


async def test_export_deletes_only_its_own_files_of_feeds_that_are_gone(tmp_path: Path) -> None:
    texts = {"en": md("Minsk"), "fr": md("Minsk (fr)")}
    out = tmp_path / "public"
    async with open_site(tmp_path / "a", newsroom={"languages": ["en", "fr"]}) as site:
        site.release("minsk", texts, publish_at=NOW - HOUR, regions=("BY",))
        await export(site.settings, out, site.clock)
    french = list((out / "feeds/fr").iterdir())
    assert out / "feeds/fr/by.atom" in french
    (out / "feeds/de").mkdir()
    (out / "feeds/de/all.atom").write_text("someone else's")
    async with open_site(tmp_path / "a", newsroom={"languages": ["en"]}) as site:
        done = await export(site.settings, out, site.clock)
        assert (await site.get("/feeds/fr/all.atom")).status_code == 404
    assert done.removed == len(french) + 1  # and feeds/fr.xsl
    assert not (out / "feeds/fr.xsl").exists()
    assert list((out / "feeds/fr").iterdir()) == []
    assert (out / "feeds/de/all.atom").read_text() == "someone else's"
    assert (out / "feeds/en/by.atom").is_file()


def test_feeds_command(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    config = newsroom.write_config(newsroom={"languages": ["en", "fr"]})
    newsroom.release("old", publish_at=datetime(2020, 1, 1, tzinfo=UTC))
    argv = ["--config", str(config), "feeds", "--out", str(tmp_path / "site")]
    result = CliRunner().invoke(cli_app, argv)
    assert result.exit_code == 0, result.output
    regions = load_regions()
    areas = len(regions) - len(list(regions.countries())) + 1
    # (en, fr, all) x (regions and all) x 2, the OPML, a stylesheet for en and fr
    files = 3 * areas * 2 + 1 + 2
    assert f"{files} files written, 0 unchanged" in result.output
    parsed = parse((tmp_path / "site" / "feeds" / "fr" / "all.atom").read_bytes())
    assert [e.title for e in parsed.entries] == ["Title (fr)"]
    again = CliRunner().invoke(cli_app, argv)
    assert f"0 files written, {files} unchanged" in again.output


# -- WebSub ---------------------------------------------------------------------------


async def test_websub_hub_link(tmp_path: Path) -> None:
    hub = "https://hub.example.net/"
    async with open_site(tmp_path, feeds={"websub_hub": hub}) as site:
        site.release("one", {"en": md("One")}, publish_at=NOW - HOUR)
        await site.sync()
        atom = ET.fromstring((await site.get("/feeds/en/all.atom")).content)
        assert [link.get("href") for link in atom.findall(f"{ATOM}link[@rel='hub']")] == [hub]
        rss = ET.fromstring((await site.get("/feeds/en/all.rss")).content)
        hubs = rss.findall(f"channel/{ATOM}link[@rel='hub']")
        assert [link.get("href") for link in hubs] == [hub]
        for kind in ("atom", "rss"):
            parsed = parse((await site.get(f"/feeds/en/all.{kind}")).content)
            assert hub in [link.href for link in parsed.feed.links if link.rel == "hub"]


def test_feed_urls_for_a_release(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, "sqlite://")
    site = FeedSite.of(newsroom.settings(), load_regions())
    release = Release(
        id="minsk",
        publish_at=NOW,
        original_language="ru",
        translations={
            lang: Translation(lang, "Title", "", "", "Body", "<p>Body</p>")
            for lang in ("ru", "en", "fr")
        },
        regions=("by",),
        topics=("health",),
    )
    urls = feed_urls_for(release, site)
    # (all + 3 languages) x (all + world, europe, eastern-europe, by) x 2 kinds, x 2 topics
    assert len(urls) == 4 * 5 * 2 * 2
    assert f"{BASE}/feeds/ru/europe.atom?topic=health" in urls
    assert f"{BASE}/feeds/all/all.atom" in urls
    assert f"{BASE}/feeds/ru/by.rss" in urls
    assert f"{BASE}/feeds/fr/europe.atom" in urls
    assert f"{BASE}/feeds/en/world.rss" in urls
    assert f"{BASE}/feeds/es/by.atom" not in urls
    assert f"{BASE}/feeds/all/fr.atom" not in urls


async def test_ping_hub_posts_publish_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[dict[str, list[str]]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.content.decode()))
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        return httpx.Response(204)

    urls = [f"{BASE}/feeds/all/{n}.atom" for n in range(PING_BATCH + 5)]
    async with httpx.AsyncClient(transport=httpx.MockTransport(hub)) as client:
        accepted = await ping_hub("https://hub.example.net/", urls, client=client)
    assert accepted == len(urls)
    assert [len(form["hub.url"]) for form in seen] == [PING_BATCH, 5]
    assert all(form["hub.mode"] == ["publish"] for form in seen)
    assert [u for form in seen for u in form["hub.url"]] == urls

    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="hub is sad")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to hub", request=request)

    caplog.set_level(logging.WARNING, logger="pressdispatch.web.feeds")
    for handler in (refusing, unreachable):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            assert await ping_hub("https://hub.example.net/", urls[:3], client=client) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("refused: 500 hub is sad" in m for m in messages)
    assert any("no route to hub" in m for m in messages)
    assert await ping_hub("", urls) == 0  # no hub configured: nothing to do


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    urls = database_url("postgresql", tmp_path)
    yield next(urls)
    for _ in urls:  # drop the throwaway database
        pass


async def test_sample_feeds_over_postgresql(tmp_path: Path, postgres_url: str) -> None:
    async with open_site(tmp_path, postgres_url, sample=True) as site:
        first = await site.get("/feeds/all/all.atom")
        assert first.status_code == 200
        assert len(parse(first.content).entries) == 4
        assert parse(first.content).entries[0].id.endswith(":minsk-vaccination-campaign/ru")
        etag = first.headers["etag"]
        assert (await site.get("/feeds/all/all.atom", if_none_match=etag)).status_code == 304
        ru = parse((await site.get("/feeds/ru/by.rss")).content)
        assert [e.language for e in ru.entries] == ["ru"]


# -- settings and the cache's memory bound ---------------------------------------------


def test_feeds_settings(tmp_path: Path) -> None:
    newsroom = make_newsroom(tmp_path, "sqlite://")
    defaults = newsroom.settings().feeds
    assert (defaults.max_entries, defaults.max_age, defaults.websub_hub) == (
        50,
        timedelta(minutes=5),
        "",
    )
    newsroom.write_config(feeds={"max_entries": 0})
    with pytest.raises(ConfigError, match=r"feeds\.max_entries"):
        newsroom.settings()
    newsroom.write_config(feeds={"websub_hub": "ftp://hub.example.net"})
    with pytest.raises(ConfigError, match=r"feeds\.websub_hub: expected an http"):
        newsroom.settings()


def test_the_cache_stays_within_its_byte_budget() -> None:
    cache = web_feeds._FeedCache(budget=10_000)
    for n in range(20):
        cache.body(FeedSpec("en", f"r{n}", "atom"), "e1", lambda: b"x" * 1000)
    assert cache.used <= 10_000
    assert len(cache) < 20
    kept = cache.body(FeedSpec("en", "r19", "atom"), "e1", lambda: b"other")
    assert kept.body == b"x" * 1000  # the same ETag: the same bytes, not built again
    fresh = cache.body(FeedSpec("en", "r19", "atom"), "e2", lambda: b"new")
    assert fresh.body == b"new"


def test_last_modified_moves_with_the_etag_only() -> None:
    cache = web_feeds._FeedCache(keys=3)
    t0 = NOW
    key = FeedSpec("en", "r0", "atom")
    first = cache.validators(key, "v1", lambda: "e1", t0)
    assert first.last_modified == t0
    # a new public version with the same ETag: Last-Modified stays
    assert cache.validators(key, "v2", lambda: "e1", t0 + HOUR).last_modified == t0
    # dropped from the index (more keys than it holds), then asked again: it can only move on
    for n in range(1, 4):
        cache.validators(FeedSpec("en", f"r{n}", "atom"), "v2", lambda: "e", t0)
    again = cache.validators(key, "v2", lambda: "e1", t0 + 2 * HOUR)
    assert again.last_modified == t0 + 2 * HOUR


def test_a_change_within_the_same_second_gets_a_later_last_modified() -> None:
    """A reader sending only If-Modified-Since must not get 304 for changed bytes."""
    cache = web_feeds._FeedCache()
    moment = datetime(2026, 11, 28, 9, 0, 0, 300_000, tzinfo=UTC)
    first = cache.validators("feed", "v1", lambda: "one", moment)
    later = moment.replace(microsecond=900_000)
    second = cache.validators("feed", "v2", lambda: "two", later)
    assert second.last_modified > first.last_modified
    same = cache.validators("feed", "v3", lambda: "two", later.replace(second=5))
    assert same.last_modified == second.last_modified  # same ETag: still not modified
