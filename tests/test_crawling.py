"""What crawlers and sharing sites read: the sitemap (checked against the sitemaps.org
schema), robots.txt, the favicon, and the description, OpenGraph, Twitter and JSON-LD
tags of a release page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from pressdispatch.config import NewsroomSection
from pressdispatch.model import Release, Translation
from pressdispatch.render.sharing import DESCRIPTION_LENGTH, description, hero_image, sharing_parts
from pressdispatch.render.sitemap import sitemap_parts

from .conftest import FIXTURES, md
from .newsroom_site import served
from .test_pages import CONTACTS, HOUR, NOW, SECOND, Site

BASE = "https://press.example.org"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def schema(name: str) -> lxml.etree.XMLSchema:
    return lxml.etree.XMLSchema(lxml.etree.parse(str(FIXTURES / "sitemaps" / name)))


SITEMAP = schema("sitemap.xsd")
SITEINDEX = schema("siteindex.xsd")


def valid(body: bytes, against: lxml.etree.XMLSchema) -> lxml.etree._Element:
    root = lxml.etree.fromstring(body)
    against.assertValid(root)
    return root


def urls(root: lxml.etree._Element) -> dict[str, tuple[str | None, dict[str, str]]]:
    """loc → (lastmod, {hreflang: href})."""
    return {
        url.findtext(f"{SM}loc"): (
            url.findtext(f"{SM}lastmod"),
            {link.get("hreflang"): link.get("href") for link in url.iter(f"{XHTML}link")},
        )
        for url in root.iter(f"{SM}url")
    }


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with served(tmp_path) as s:
        yield s


# -- sitemap ------------------------------------------------------------------------------


async def test_sitemap_lists_every_version_with_its_alternates_and_lastmod(site: Site) -> None:
    texts = {"fr": md("Sahel"), "en": md("Sahel EN"), "ar": md("الساحل")}
    site.release("sahel", texts, publish_at=NOW - HOUR)
    site.release("andes", {"es": md("Andes")}, publish_at=NOW - 2 * HOUR)
    await site.sync()

    response = await site.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    found = urls(valid(response.content, SITEMAP))
    versions = {lang: f"{BASE}/releases/sahel/{lang}" for lang in ("fr", "en", "ar")}
    for href in versions.values():
        assert found[href] == ("2026-11-28T08:00:00+00:00", versions)
    assert found[f"{BASE}/releases/andes/es"] == (
        "2026-11-28T07:00:00+00:00",
        {"es": f"{BASE}/releases/andes/es"},
    )
    assert found[f"{BASE}/"] == ("2026-11-28T08:00:00+00:00", {})
    assert len(found) == 5
    head = await site.client.head("/sitemap.xml")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(response.content))


async def test_an_empty_newsroom_has_a_valid_sitemap(site: Site) -> None:
    found = urls(valid((await site.get("/sitemap.xml")).content, SITEMAP))
    assert found == {f"{BASE}/": (None, {})}


async def test_sitemap_is_split_into_an_index_over_the_threshold(tmp_path: Path) -> None:
    async with served(tmp_path, sitemap_limit=3) as site:
        for n in range(4):  # with the home page, 9 URLs: parts of 3
            texts = {"en": md(f"R{n}"), "fr": md(f"F{n}")}
            site.release(f"r{n}", texts, publish_at=NOW - HOUR - n * HOUR)
        await site.sync()

        index = valid((await site.get("/sitemap.xml")).content, SITEINDEX)
        entries = [
            (s.findtext(f"{SM}loc"), s.findtext(f"{SM}lastmod")) for s in index.iter(f"{SM}sitemap")
        ]
        assert [loc for loc, _ in entries] == [f"{BASE}/sitemaps/{n}.xml" for n in (1, 2, 3)]
        assert entries[0][1] == "2026-11-28T08:00:00+00:00"  # the newest of its part
        seen: dict[str, tuple[str | None, dict[str, str]]] = {}
        for loc, _ in entries:
            part = await site.get(loc.removeprefix(BASE))
            assert part.status_code == 200
            found = urls(valid(part.content, SITEMAP))
            assert len(found) == 3
            seen |= found
        assert len(seen) == 9
        assert seen[f"{BASE}/releases/r3/fr"][1] == {
            "en": f"{BASE}/releases/r3/en",
            "fr": f"{BASE}/releases/r3/fr",
        }
        for missing in ("/sitemaps/4.xml", "/sitemaps/0.xml", "/sitemaps/01.xml"):
            assert (await site.get(missing)).status_code == 404, missing
    # under the threshold there are no parts
    async with served(tmp_path / "small") as small:
        assert (await small.get("/sitemaps/1.xml")).status_code == 404


def test_sitemap_parts_also_split_by_size() -> None:
    releases = [
        Release(
            id=f"r{n}",
            publish_at=datetime(2026, 11, 28, 8, tzinfo=UTC),
            original_language="en",
            translations={"en": Translation("en", "T", "S", "", "", "<p>b</p>")},
        )
        for n in range(3)
    ]
    one = sitemap_parts(releases, BASE)
    assert len(one) == 1
    largest = max(len(line) for line in one[0].body.splitlines(keepends=True))
    # room for the frame and two URLs: four URLs (home page included) make two files
    frame = len(one[0].body) - sum(len(u) for u in one[0].body.splitlines(True)[2:-1])
    parts = sitemap_parts(releases, BASE, max_bytes=frame + 2 * largest)
    assert len(parts) == 2
    for part in parts:
        assert len(part.body) <= frame + 2 * largest
        valid(part.body, SITEMAP)
    # a URL larger than the limit alone still gets a file of its own
    assert len(sitemap_parts(releases, BASE, max_bytes=10)) == 4


async def test_embargoed_release_is_absent_from_the_sitemap_until_its_time(site: Site) -> None:
    publish_at = NOW + HOUR
    embargo = f"embargo_send_at = {(NOW - HOUR).isoformat()}"
    site.release("embargoed", {"en": md("Under embargo")}, publish_at=publish_at, extra=embargo)
    site.release("public", {"en": md("Public")}, publish_at=NOW - HOUR)
    await site.sync()

    site.clock.now = publish_at - SECOND
    before = (await site.get("/sitemap.xml")).content
    assert b"embargoed" not in before
    assert f"{BASE}/releases/public/en" in urls(valid(before, SITEMAP))

    site.clock.now = publish_at
    after = urls(valid((await site.get("/sitemap.xml")).content, SITEMAP))
    assert after[f"{BASE}/releases/embargoed/en"][0] == "2026-11-28T10:00:00+00:00"


# -- robots.txt and the favicon -----------------------------------------------------------


async def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out(site: Site) -> None:
    response = await site.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == (
        "User-agent: *\n"
        "Disallow: /admin\n"
        "Disallow: /api\n"
        "Disallow: /embargoed\n"
        "Disallow: /preferences\n"
        "Disallow: /unsubscribe\n"
        "Disallow: /confirm\n"
        "\n"
        f"Sitemap: {BASE}/sitemap.xml\n"
    )


async def test_the_shipped_favicon_is_served_and_linked(site: Site) -> None:
    response = await site.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    home = lxml.html.fromstring((await site.get("/")).text)
    assert home.xpath("//head/link[@rel='icon']/@href") == ["/favicon.ico"]


async def test_favicon_from_the_config(tmp_path: Path) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>'
    (tmp_path / "brand.svg").write_bytes(svg)
    async with served(tmp_path, web={"favicon": "brand.svg"}) as site:
        response = await site.get("/favicon.ico")
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content == svg


# -- sharing ------------------------------------------------------------------------------


def head_tags(html: str) -> dict[str, list[str]]:
    """Every <meta> of the head: name or property → contents, in order."""
    doc = lxml.html.fromstring(html)
    tags: dict[str, list[str]] = {}
    for meta in doc.xpath("//head/meta[@content]"):
        key = meta.get("property") or meta.get("name")
        tags.setdefault(key, []).append(meta.get("content"))
    return tags


async def test_release_page_has_description_opengraph_twitter_and_json_ld(site: Site) -> None:
    hostile = 'Water </script><script>alert("x")</script> & more'
    texts = {
        "fr": md("Eau potable", summary="Résumé en français", dateline="Douchanbé"),
        "en": md(hostile, "First paragraph.\n\nSecond <b>bold</b> paragraph."),
        "ru": md("Питьевая вода"),
    }
    site.release("water", texts, publish_at=NOW - HOUR, extra=CONTACTS)
    await site.sync()

    html = (await site.get("/releases/water/fr")).text
    tags = head_tags(html)
    assert tags["description"] == ["Résumé en français"]
    assert tags["og:type"] == ["article"]
    assert tags["og:title"] == ["Eau potable"]
    assert tags["og:description"] == ["Résumé en français"]
    assert tags["og:url"] == [f"{BASE}/releases/water/fr"]
    assert tags["og:site_name"] == ["Test Press Office"]
    assert tags["og:locale"] == ["fr_FR"]
    assert tags["og:locale:alternate"] == ["en_GB", "ru_RU"]
    assert "og:image" not in tags  # releases have no image yet
    assert tags["article:published_time"] == ["2026-11-28T08:00:00+00:00"]
    assert tags["twitter:card"] == ["summary"]
    assert tags["twitter:title"] == ["Eau potable"]
    assert tags["twitter:description"] == ["Résumé en français"]

    doc = lxml.html.fromstring(html)
    [script] = doc.xpath("//script[@type='application/ld+json']/text()")
    article = json.loads(script)
    assert article["@type"] == "NewsArticle"
    assert article["headline"] == "Eau potable"
    assert article["inLanguage"] == "fr"
    assert article["datePublished"] == "2026-11-28T08:00:00+00:00"
    assert article["url"] == article["mainEntityOfPage"] == f"{BASE}/releases/water/fr"
    assert article["dateline"] == "Douchanbé"
    publisher = article["publisher"]
    assert publisher["@type"] == "Organization"
    assert publisher["name"] == "Test Press Office"
    assert publisher["contactPoint"] == [
        {
            "@type": "ContactPoint",
            "name": "Iryna Zhuk",
            "contactType": "Press Officer, Minsk",
            "telephone": "+375 17 000 0000",
            "email": "i.zhuk@example.org",
        }
    ]

    # release text cannot close the script element; the JSON still reads back the same
    english = (await site.get("/releases/water/en")).text
    assert english.count("</script>") == 1
    [script] = lxml.html.fromstring(english).xpath("//script[@type='application/ld+json']/text()")
    assert "<" not in script
    assert json.loads(script)["headline"] == hostile
    tags = head_tags(english)
    assert tags["og:title"] == [hostile]
    # without a summary, the start of the text describes the release
    assert tags["description"] == ["First paragraph. Second bold paragraph."]
    assert tags["og:locale"] == ["en_GB"]


def test_og_image_and_large_card_when_the_release_has_an_image() -> None:
    release = Release(
        id="r",
        publish_at=datetime(2026, 11, 28, 8, tzinfo=UTC),
        original_language="en",
        translations={"en": Translation("en", "T", "S", "", "", "<p>b</p>")},
    )
    assert hero_image(release, BASE) is None  # the hook media support fills in
    image = f"{BASE}/media/r/hero.jpg"
    newsroom = NewsroomSection(name="Press", base_url=BASE, from_="press@example.org")
    parts = sharing_parts(release, "en", newsroom, f"{BASE}/releases/r/en", image)
    meta = {key: content for _, key, content in parts["meta"]}
    assert meta["og:image"] == meta["twitter:image"] == image
    assert meta["twitter:card"] == "summary_large_image"
    assert json.loads(parts["json_ld"])["image"] == [image]


def test_a_long_body_is_cut_at_a_word_for_the_description() -> None:
    words = " ".join(["word"] * 100)
    cut = description(Translation("en", "T", "", "", "", f"<p>{words}</p>"))
    assert len(cut) <= DESCRIPTION_LENGTH
    assert cut.endswith("word…")


async def test_a_page_not_found_has_no_sharing_tags(site: Site) -> None:
    page = (await site.get("/releases/nope/en")).text
    assert "og:title" not in page and "application/ld+json" not in page
