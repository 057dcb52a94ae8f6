"""The lists of the newsroom: pages of 20 on the home page, filters that combine with
them, and the archive by year and month (embargo included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import lxml.html
import pytest

from .conftest import md
from .newsroom_site import served
from .test_pages import HOUR, NOW, SECOND, Site, titles

MINUTE = timedelta(minutes=1)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with served(tmp_path) as s:
        yield s


def links(html: str) -> dict[str, str]:
    """``<link rel=prev|next>`` of the head and the pager's visible links, by rel."""
    doc = lxml.html.fromstring(html)
    found = {f"head-{e.get('rel')}": e.get("href") for e in doc.xpath("//head/link[@rel]")}
    found |= {e.get("rel"): e.get("href") for e in doc.xpath("//nav[@class='pager']//a")}
    return {key: value for key, value in found.items() if key.split("-")[-1] in ("prev", "next")}


def numbered(site: Site, count: int) -> None:
    """``count`` releases, newest first as r00, r01…: even ones about Europe and health,
    odd ones about Africa; every third has a French version."""
    for n in range(count):
        texts = {"en": md(f"r{n:02d}")}
        if n % 3 == 0:
            texts["fr"] = md(f"fr{n:02d}")
        site.release(
            f"r{n:02d}",
            texts,
            publish_at=NOW - HOUR - n * MINUTE,
            regions=("europe",) if n % 2 == 0 else ("africa",),
            topics=("health",) if n % 2 == 0 else ("water",),
        )


async def test_45_releases_make_three_pages_linked_both_ways(site: Site) -> None:
    numbered(site, 45)
    await site.sync()

    first = await site.get("/", "en")
    assert titles(first.text) == [f"r{n:02d}" for n in range(20)]
    assert links(first.text) == {"head-next": "/?lang=en&page=2", "next": "/?lang=en&page=2"}
    assert "Page 1 of 3" in first.text

    second = (await site.get("/?lang=en&page=2")).text
    assert titles(second) == [f"r{n:02d}" for n in range(20, 40)]
    assert links(second) == {
        "head-prev": "/?lang=en",  # page 1 has no page number: the address people bookmark
        "prev": "/?lang=en",
        "head-next": "/?lang=en&page=3",
        "next": "/?lang=en&page=3",
    }
    third = (await site.get("/?lang=en&page=3")).text
    assert titles(third) == [f"r{n:02d}" for n in range(40, 45)]
    assert links(third) == {"head-prev": "/?lang=en&page=2", "prev": "/?lang=en&page=2"}
    assert "Page 3 of 3" in third

    for wrong in ("4", "0", "-1", "two", "1.5", "²", "9" * 12):
        response = await site.get(f"/?page={wrong}")
        assert response.status_code == 404, wrong
        assert "Page not found" in response.text


async def test_filters_and_language_combine_with_pages(site: Site) -> None:
    numbered(site, 45)
    await site.sync()

    # 23 releases about Europe and health (the even ones): pages of 20 and 3
    url = "/?lang=fr&region=europe&topic=health"
    first = (await site.get(url)).text
    expected = [f"fr{n:02d}" if n % 3 == 0 else f"r{n:02d}" for n in range(0, 45, 2)]
    assert [unescape(t) for t in titles(first)] == expected[:20]
    assert links(first)["next"] == "/?lang=fr&region=europe&topic=health&page=2"
    second = await site.get(url + "&page=2")
    assert titles(second.text) == expected[20:]
    assert links(second.text)["prev"] == "/?lang=fr&region=europe&topic=health"
    assert (await site.get(url + "&page=3")).status_code == 404
    # the language switcher keeps the filters and the page
    doc = lxml.html.fromstring(second.text)
    assert doc.xpath("//nav[@class='languages']//a[@hreflang='ru']/@href") == [
        "/?lang=ru&region=europe&topic=health&page=2"
    ]
    # the filter form starts again from the first page
    assert not doc.xpath("//form[@class='filters']//input[@name='page']")

    # one filter at a time, and a region that matches none
    assert len(titles((await site.get("/?region=africa")).text)) == 20
    assert len(titles((await site.get("/?region=africa&page=2")).text)) == 2
    assert titles((await site.get("/?topic=water&region=europe")).text) == []
    assert (await site.get("/?region=atlantis&page=2")).status_code == 404


async def test_archive_by_year_and_month_in_the_newsrooms_zone(site: Site) -> None:
    # 23:30 in Paris on 31 October is 22:30 UTC: October in the newsroom
    late_october = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)
    site.release("october", {"en": md("October")}, publish_at=late_october)
    site.release("november", {"en": md("November")}, publish_at=NOW - HOUR)
    site.release(
        "last-year",
        {"en": md("Last year"), "fr": md("L'an dernier")},
        publish_at=datetime(2025, 3, 2, 12, tzinfo=UTC),
        regions=("FR",),
    )
    await site.sync()

    home = lxml.html.fromstring((await site.get("/", "en")).text)
    assert home.xpath("//a[text()='Archive']/@href") == ["/archive?lang=en"]

    archive = await site.get("/archive?lang=fr")
    assert archive.status_code == 200
    doc = lxml.html.fromstring(archive.text)
    assert doc.xpath("//h1/text()") == ["Archives"]
    assert doc.xpath("//div[@class='years']/h2/a/text()") == ["2026", "2025"]
    months = doc.xpath("//ul[@class='periods']/li/a")
    assert [(a.text, a.get("href")) for a in months] == [
        ("Novembre", "/archive/2026/11?lang=fr"),
        ("Octobre", "/archive/2026/10?lang=fr"),
        ("Mars", "/archive/2025/03?lang=fr"),
    ]

    october = await site.get("/archive/2026/10?lang=en")
    assert titles(october.text) == ["October"]
    assert "<h1>October 2026</h1>" in october.text
    assert titles((await site.get("/archive/2026", "en")).text) == ["November", "October"]
    assert titles((await site.get("/archive/2025?lang=fr")).text) == ["L&#39;an dernier"]
    # the filters of the home page work here too
    assert titles((await site.get("/archive/2025?region=europe")).text) == ["Last year"]
    assert titles((await site.get("/archive/2025?region=africa")).text) == []

    # another spelling of a period is sent to its address; a period without releases is 404
    moved = await site.get("/archive/2026/1?lang=en")
    assert moved.status_code == 404  # no release in January
    moved = await site.get("/archive/2026/3", "en")
    assert moved.status_code == 404
    redirect = await site.get("/archive/2025/3?lang=en")
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "/archive/2025/03?lang=en"
    for wrong in ("/archive/2027", "/archive/2026/13", "/archive/year", "/archive/2026/00"):
        assert (await site.get(wrong)).status_code == 404, wrong


async def test_archive_and_lists_hide_an_embargoed_release_until_its_time(site: Site) -> None:
    publish_at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # December: no other release then
    embargo = f"embargo_send_at = {(NOW - HOUR).isoformat()}"
    site.release("embargoed", {"en": md("Under embargo")}, publish_at=publish_at, extra=embargo)
    site.release("public", {"en": md("Public")}, publish_at=NOW - HOUR)
    await site.sync()

    site.clock.now = publish_at - SECOND
    archive = (await site.get("/archive", "en")).text
    assert "/archive/2026/12" not in archive
    assert "(1)" in archive and "(2)" not in archive
    assert (await site.get("/archive/2026/12")).status_code == 404
    assert titles((await site.get("/archive/2026")).text) == ["Public"]

    site.clock.now = publish_at
    archive = (await site.get("/archive", "en")).text
    assert "/archive/2026/12?lang=en" in archive
    assert titles((await site.get("/archive/2026/12")).text) == ["Under embargo"]
    assert titles((await site.get("/archive/2026")).text) == ["Under embargo", "Public"]
