"""Feeds for people: a feed opened in a browser reads as a page (its XSL stylesheet), the
/feeds page lists every feed to copy, and the OPML is served as OPML."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from .conftest import md
from .newsroom_site import served
from .test_pages import HOUR, NOW, Site

BASE = "https://press.example.org"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with served(tmp_path) as s:
        s.release(
            "minsk",
            {"fr": md("Minsk en français", summary="Résumé"), "en": md("Minsk in English")},
            publish_at=NOW - HOUR,
            regions=("BY",),
        )
        await s.sync()
        yield s


@pytest.mark.parametrize("kind", ["atom", "rss"])
async def test_a_feed_names_its_stylesheet_and_still_parses(site: Site, kind: str) -> None:
    response = await site.get(f"/feeds/fr/europe.{kind}")
    lines = response.content.split(b"\n")
    assert lines[0].startswith(b"<?xml version=")
    assert lines[1] == b'<?xml-stylesheet type="text/xsl" href="/feeds/fr.xsl"?>'
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [entry.title for entry in parsed.entries] == ["Minsk en français"]
    # the all-languages feed's own text is in the default language
    every = await site.get(f"/feeds/all/all.{kind}")
    assert b'href="/feeds/en.xsl"' in every.content
    # conditional requests still answer 304
    etag = response.headers["etag"]
    again = await site.client.get(f"/feeds/fr/europe.{kind}", headers={"If-None-Match": etag})
    assert again.status_code == 304


@pytest.mark.parametrize("kind", ["atom", "rss"])
async def test_the_stylesheet_shows_the_feed_as_a_page_with_its_address(
    site: Site, kind: str
) -> None:
    response = await site.get("/feeds/fr.xsl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xslt+xml; charset=utf-8"
    transform = lxml.etree.XSLT(lxml.etree.fromstring(response.content))
    feed = (await site.get(f"/feeds/fr/europe.{kind}")).content
    page = lxml.html.fromstring(str(transform(lxml.etree.fromstring(feed))))

    assert page.get("lang") == "fr"
    assert page.xpath("//code[@class='address']/text()") == [f"{BASE}/feeds/fr/europe.{kind}"]
    about = page.xpath("string(//div[@class='about'])")
    assert "Ceci est un flux d'actualités." in about
    assert "Copiez cette adresse dans votre lecteur de flux" in about
    assert page.xpath("//h1/text()") == ["Test Press Office · Europe · Français"]
    entry = page.xpath("//article//h2/a")[0]
    assert (entry.text, entry.get("href")) == ("Minsk en français", f"{BASE}/releases/minsk/fr")
    assert page.xpath("//article/p[@class='summary']/text()") == ["Résumé"]
    assert page.xpath("//a[text()='Tous les flux']/@href") == ["/feeds?lang=fr"]

    assert (await site.get("/feeds/de.xsl")).status_code == 404
    arabic = lxml.etree.fromstring((await site.get("/feeds/ar.xsl")).content)
    assert arabic.find(".//html").get("dir") == "rtl"


async def test_opml_is_served_as_opml(site: Site) -> None:
    response = await site.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-opml; charset=utf-8"


async def test_feeds_page_lists_every_feed_by_language_and_region(site: Site) -> None:
    response = await site.get("/feeds?lang=fr")
    assert response.status_code == 200
    doc = lxml.html.fromstring(response.text)
    groups = doc.xpath("//details")
    assert [g.xpath("string(summary)") for g in groups] == [
        "Toutes les langues",
        "English",
        "Français",
        "Русский",
        "العربية",
        "Español",
        "中文",
    ]
    assert [g.get("open") is not None for g in groups] == [False, False, True, *[False] * 4]
    french = groups[2]
    addresses = french.xpath(".//code[@data-copy]/text()")
    assert f"{BASE}/feeds/fr/all.atom" in addresses
    assert f"{BASE}/feeds/fr/all.rss" in addresses
    assert f"{BASE}/feeds/fr/europe.atom" in addresses
    assert f"{BASE}/feeds/fr/by.rss" in addresses  # a country once a release is about it
    assert f"{BASE}/feeds/zh/by.rss" not in doc.xpath("//code/text()")  # none in Chinese
    names = [name.strip() for name in french.xpath(".//span[@class='name']/text()")]
    assert names[0] == "Toutes les régions"
    assert "Biélorussie" in names
    # the OPML beside it; the copy buttons come from the script only
    assert doc.xpath("//main//a[@type='text/x-opml']/@href") == [f"{BASE}/feeds.opml"]
    assert not doc.xpath("//main//button")  # the header has its search button
    assert '"Copier"' in response.text
    # every page's footer leads here
    home = lxml.html.fromstring((await site.get("/?lang=fr")).text)
    assert home.xpath("//footer/a[text()='Tous les flux']/@href") == ["/feeds?lang=fr"]


CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


@pytest.mark.parametrize("kind", ["atom", "rss"])
async def test_a_browser_asking_for_a_feed_gets_the_page_its_stylesheet_makes(
    site: Site, kind: str
) -> None:
    url = f"/feeds/fr/europe.{kind}"
    response = await site.client.get(url, headers={"Accept": CHROME_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    assert response.content.startswith(b"<!DOCTYPE html")
    page = lxml.html.fromstring(response.content)
    assert page.get("lang") == "fr"
    assert page.xpath("//code[@class='address']/text()") == [f"{BASE}/feeds/fr/europe.{kind}"]
    assert "Ceci est un flux d'actualités." in page.xpath("string(//div[@class='about'])")
    assert page.xpath("//article//h2/a/text()") == ["Minsk en français"]
    assert b"xmlns:atom" not in response.content

    # Its own validator: the page and the feed are not the same representation.
    etag = response.headers["etag"]
    assert etag.endswith(('-html"', '-html-gzip"'))
    again = await site.client.get(url, headers={"Accept": CHROME_ACCEPT, "If-None-Match": etag})
    assert again.status_code == 304
    feed = await site.client.get(url, headers={"If-None-Match": etag})
    assert feed.status_code == 200
    assert "Accept" in feed.headers["vary"]
    assert feedparser.parse(feed.content).entries[0].title == "Minsk en français"


@pytest.mark.parametrize(
    "accept",
    [
        "",
        "*/*",
        "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.8",
        "application/atom+xml,text/html",  # as high as a feed type: the feed
        "text/html;q=0.5, application/xml",
        "text/html;q=nonsense",
    ],
)
async def test_a_feed_reader_gets_the_feed_whatever_else_it_accepts(
    site: Site, accept: str
) -> None:
    response = await site.client.get("/feeds/fr/europe.atom", headers={"Accept": accept})
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert not feedparser.parse(response.content).bozo
