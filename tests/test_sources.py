"""``[[sources]]``: the press office's feeds and sitemaps, served by the test's own website,
polled by the scans of `run --once` and by `sources poll`; each new entry becomes one
release folder, once, whatever restarts in between."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import tomllib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from pressdispatch.config import load_settings
from pressdispatch.errors import ConfigError

from .dispatching import Newsroom, cli, run_once
from .website import Site, cms_page, website

pytestmark = pytest.mark.databases("sqlite")

PLACES = ["Haïti", "au Niger", "au Mali", "au Tchad", "en Bolivie", "au Népal"]


def article(n: int) -> str:
    """Release number ``n``: a page of its own, with a text of its own."""
    place = PLACES[n % len(PLACES)]
    return cms_page(
        lang="fr",
        title=f"Mission numéro {n} de l'agence {place}",
        paragraphs=[
            f"L'agence a lancé aujourd'hui sa mission numéro {n} {place}, où les pluies ont "
            "détruit les réseaux de distribution d'eau potable dans plusieurs districts.",
            f"Les équipes de la mission {n} travaillent avec les autorités locales pour réparer "
            "les puits et former des techniciens avant la saison sèche.",
            "Une deuxième phase doit commencer en janvier, avec le soutien des donateurs.",
        ],
    )


def rss(site: Site, items: list[tuple[str, str, datetime | None]], **extra: object) -> str:
    """The feed at /fr/feed.xml, listing (path, guid, published) newest first."""
    entries = "".join(
        f"<item><title>{path}</title><link>{site.url(path)}</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + "</item>"
        for path, guid, when in items
    )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Communiqués</title><link>{site.url('/fr/news')}</link>{entries}</channel></rss>"
    )
    return site.page("/fr/feed.xml", feed, content_type="application/rss+xml", **extra)


def configure(newsroom: Newsroom, *sources: str, extra: str = "") -> None:
    newsroom.write_config()
    path = newsroom.root / "config.toml"
    tables = "".join(f'\n[[sources]]\nurl = "{url}"\n{extra}' for url in sources)
    path.write_text(path.read_text(encoding="utf-8") + tables, encoding="utf-8")


def releases(newsroom: Newsroom) -> dict[str, dict[str, object]]:
    """Each release folder's release.toml, by folder name."""
    found = {}
    for path in sorted((newsroom.root / "releases").glob("*/release.toml")):
        found[path.parent.name] = tomllib.loads(path.read_text(encoding="utf-8"))
    return found


def sources_of(newsroom: Newsroom) -> list[str]:
    urls = []
    for meta in releases(newsroom).values():
        source = meta["source"]
        assert isinstance(source, dict)
        urls.append(source["url"])
    return sorted(urls)


def scan(newsroom: Newsroom, minutes: int = 0) -> None:
    """One `run --once` ``minutes`` from now, in a service of its own: a restart each time.
    The sources are polled every second (the tests' scan_interval): a minute apart, each
    scan polls."""
    asyncio.run(run_once(newsroom.settings(), now=now() + timedelta(minutes=minutes)))


def now() -> datetime:
    return datetime.now(UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_feed_entry_becomes_one_release_and_a_new_one_is_taken_at_the_next_scan(
    newsroom: Newsroom,
) -> None:
    with website() as site:
        site.page("/fr/news/1", article(1))
        site.page("/fr/news/2", article(2))
        feed = rss(site, [("/fr/news/1", "news-1", now() - timedelta(hours=2))])
        configure(newsroom, feed, extra='status = "ready"\nhold = "30m"\ntopics = ["water"]\n')
        scan(newsroom)
        assert sources_of(newsroom) == [site.url("/fr/news/1")]
        rss(site, [("/fr/news/2", "news-2", now()), ("/fr/news/1", "news-1", now())])
        scan(newsroom, 1)
        scan(newsroom, 2)
    assert sources_of(newsroom) == [site.url("/fr/news/1"), site.url("/fr/news/2")]
    for meta in releases(newsroom).values():
        assert meta["status"] == "ready" and meta["topics"] == ["water"]
        source = meta["source"]
        assert isinstance(source, dict) and source["guid"] in ("news-1", "news-2")
        publish_at = meta["publish_at"]
        assert isinstance(publish_at, datetime)
        assert publish_at >= now() + timedelta(minutes=25)  # the hold: a window to stop it
    cli(newsroom, "check")


def test_a_feed_that_has_not_changed_is_not_read_again(newsroom: Newsroom) -> None:
    with website() as site:
        site.page("/fr/news/1", article(1))
        feed = rss(site, [("/fr/news/1", "news-1", now())], etag='"v1"')
        configure(newsroom, feed)
        scan(newsroom)
        scan(newsroom, 1)
        feed_requests = [headers for path, headers in site.requests if path == "/fr/feed.xml"]
    assert len(feed_requests) == 2
    assert "If-None-Match" not in feed_requests[0]
    assert feed_requests[1]["If-None-Match"] == '"v1"'  # and the site answered 304
    assert site.hits("/fr/news/1") == 2  # read once to compare its text, once to import it
    assert len(releases(newsroom)) == 1


@pytest.mark.databases("sqlite", "postgresql")
def test_a_restart_neither_imports_nor_fetches_a_page_again(newsroom: Newsroom) -> None:
    with website() as site:
        site.page("/fr/news/1", article(1))
        configure(newsroom, rss(site, [("/fr/news/1", "news-1", now())]))  # no ETag: read whole
        scan(newsroom)
        fetched = site.hits("/fr/news/1")
        scan(newsroom, 1)  # a new service on the same store
        assert site.hits("/fr/feed.xml") == 2
        assert site.hits("/fr/news/1") == fetched
    assert len(releases(newsroom)) == 1


def test_a_source_that_is_down_is_shown_while_the_others_go_on(newsroom: Newsroom) -> None:
    down = f"http://127.0.0.1:{free_port()}/fr/feed.xml"  # nothing listens there
    with website() as site:
        site.page("/fr/news/1", article(1))
        missing = site.url("/en/feed.xml")  # 404
        configure(newsroom, down, missing, rss(site, [("/fr/news/1", "news-1", now())]))
        scan(newsroom)
        scan(newsroom, 1)
    assert sources_of(newsroom) == [site.url("/fr/news/1")]
    text = cli(newsroom, "status").output
    assert f"source {down}: failing since " in text and "cannot connect" in text
    assert f"source {missing}: failing since " in text and "404" in text
    document = json.loads(cli(newsroom, "status", "--json").stdout)
    by_url = {s["url"]: s for s in document["sources"]}
    assert by_url[site.url("/fr/feed.xml")]["last_error"] is None
    assert by_url[site.url("/fr/feed.xml")]["imported"] == 1
    assert "cannot connect" in by_url[down]["last_error"]
    assert by_url[down]["last_poll"] is not None and by_url[down]["imported"] == 0


def test_a_page_imported_by_hand_is_not_imported_again(newsroom: Newsroom) -> None:
    with website() as site:
        page = site.page("/fr/news/1", article(1))
        cli(newsroom, "import", page)
        fetched = site.hits("/fr/news/1")
        configure(newsroom, rss(site, [("/fr/news/1", "news-1", now())]))
        scan(newsroom)
        assert site.hits("/fr/news/1") == fetched
    assert len(releases(newsroom)) == 1


def test_the_same_text_at_a_new_address_is_not_imported_twice(newsroom: Newsroom) -> None:
    with website() as site:
        site.page("/fr/news/1", article(1))
        site.page("/fr/news/mission-1", article(1))  # the CMS moved it
        configure(newsroom, rss(site, [("/fr/news/1", "news-1", now())]))
        scan(newsroom)
        rss(site, [("/fr/news/mission-1", "mission-1", now()), ("/fr/news/1", "news-1", now())])
        scan(newsroom, 1)
        assert site.hits("/fr/news/mission-1") == 1  # read, found the same, left
    assert sources_of(newsroom) == [site.url("/fr/news/1")]


def test_the_first_poll_of_a_sitemap_imports_only_recent_pages(newsroom: Newsroom) -> None:
    def sitemap(site: Site, pages: dict[str, str]) -> str:
        urls = "".join(
            f"<url><loc>{site.url(path)}</loc>"
            + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
            + "</url>"
            for path, lastmod in pages.items()
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )
        site.page("/sitemap-news.xml", body, content_type="application/xml")
        index = (
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site.url('/sitemap-news.xml')}</loc></sitemap></sitemapindex>"
        )
        return site.page("/sitemap.xml", index, content_type="text/xml")

    today = now().date().isoformat()
    with website() as site:
        for n in range(1, 5):
            site.page(f"/fr/news/{n}", article(n))
        pages = {
            "/fr/news/1": today,
            "/fr/news/2": (now() - timedelta(days=30)).isoformat(timespec="seconds"),
            "/fr/news/3": "",
        }
        configure(newsroom, sitemap(site, pages))
        scan(newsroom)
        assert sources_of(newsroom) == [site.url("/fr/news/1")]
        assert site.hits("/fr/news/2") == site.hits("/fr/news/3") == 0
        sitemap(site, {**pages, "/fr/news/4": ""})  # after the first poll: every new page
        scan(newsroom, 1)
    assert sources_of(newsroom) == [site.url("/fr/news/1"), site.url("/fr/news/4")]


def test_a_first_poll_takes_a_feeds_old_entries_as_known(newsroom: Newsroom) -> None:
    with website() as site:
        site.page("/fr/news/1", article(1))
        site.page("/fr/news/2", article(2))
        old = now() - timedelta(days=10)
        configure(newsroom, rss(site, [("/fr/news/2", "2", now()), ("/fr/news/1", "1", old)]))
        scan(newsroom)
    assert sources_of(newsroom) == [site.url("/fr/news/2")]


@pytest.mark.databases("sqlite", "postgresql")
def test_an_entry_that_fails_is_tried_again_and_said_once(
    newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    with website() as site:
        feed = rss(site, [("/fr/news/1", "news-1", now())], etag='"v1"')
        configure(newsroom, feed)
        with caplog.at_level(logging.WARNING, logger="pressdispatch"):
            scan(newsroom)
            scan(newsroom, 1)
        assert caplog.text.count("not imported (tried again at the next poll)") == 1
        assert "404" in caplog.text
        assert releases(newsroom) == {}
        site.page("/fr/news/1", article(1))  # the page is online now
        scan(newsroom, 2)
        feed_requests = [headers for path, headers in site.requests if path == "/fr/feed.xml"]
    assert all("If-None-Match" not in headers for headers in feed_requests)
    assert sources_of(newsroom) == [site.url("/fr/news/1")]


def test_sources_poll_prints_each_new_release(newsroom: Newsroom) -> None:
    with website() as site:
        site.page("/fr/news/1", article(1))
        configure(newsroom, rss(site, [("/fr/news/1", "news-1", now())]))
        listed = cli(newsroom, "sources").output
        assert "not polled yet" in listed
        output = cli(newsroom, "sources", "poll").output
        again = cli(newsroom, "sources", "poll").output
        listed = cli(newsroom, "sources").output
    folder = Path(output.split()[0])
    assert folder.parent == newsroom.root / "releases" and (folder / "fr.md").exists()
    assert output.split()[1] == site.url("/fr/news/1")
    assert again == ""
    assert "1 imported" in listed


def test_sources_in_config_are_checked(newsroom: Newsroom) -> None:
    for extra, said in (
        ('regions = ["XX"]\n', "unknown region 'XX'"),
        ('topics = ["Not a slug"]\n', "must be a slug"),
        ('status = "sent"\n', "draft"),
        ('interval = "0s"\n', "longer than zero"),
    ):
        configure(newsroom, "https://www.example.org/fr/feed.xml", extra=extra)
        with pytest.raises(ConfigError, match=said):
            load_settings(newsroom.root / "config.toml")
    configure(newsroom, "ftp://www.example.org/feed.xml")
    with pytest.raises(ConfigError, match="http"):
        load_settings(newsroom.root / "config.toml")
    configure(newsroom, "https://www.example.org/fr/feed.xml", extra='regions = ["BY"]\n')
    assert load_settings(newsroom.root / "config.toml").sources[0].regions == ("by",)
