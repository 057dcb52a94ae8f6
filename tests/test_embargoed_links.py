"""Embargoed links: the links of an embargoed copy are the journalist's own signed pages.

A real dispatch (``run --once`` in-process) writes the copies to the outbox; the links
are parsed out of the cleared journalist's message (HTML part with html.parser, text
part by line) and requested through the ASGI app over the same SQLite store, its clock
set before and after ``publish_at``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from pressdispatch.render import i18n
from pressdispatch.runtime import Runtime
from pressdispatch.tokens import EmbargoedLink, sign_embargoed
from pressdispatch.web.admin.common import local_time
from pressdispatch.web.app import create_app

from .dispatching import Clock, Newsroom, make_newsroom, run_once, runtime, sqlite_url, utc

BASE = "https://press.example.org"
PASSWORD = "correct horse battery staple"
HEADER = "email,name,languages,regions,topics,embargo"
PEOPLE = [
    "ben@example.org,Ben Ode,en,,,yes",  # cleared: the embargoed copy, in English
    "ana@example.org,Ana Lima,fr,,,no",  # the public copy, in French
]
LANGUAGES = ("en", "fr", "ar")
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


@dataclass
class Embargo:
    newsroom: Newsroom
    rt: Runtime
    clock: Clock
    client: httpx.AsyncClient
    publish_at: datetime

    def copy_of(self, address: str) -> EmailMessage:
        """The one message the outbox holds for ``address``."""
        folder = self.newsroom.root / "var" / "outbox" / "launch"
        found = []
        for path in folder.glob("*.eml"):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            if message["To"].addresses[0].addr_spec == address:
                found.append(message)
        assert len(found) == 1, f"{len(found)} messages for {address}"
        return found[0]

    def token(self, release_id: str, language: str, publish_at: datetime) -> str:
        link = EmbargoedLink("ben@example.org", release_id, language)
        return sign_embargoed(self.rt.renderer.signer, link, publish_at)

    async def links(self) -> dict[str, str]:
        """Language → link of the text part of Ben's copy, as the pages say."""
        text, _ = parts(self.copy_of("ben@example.org"))
        found = {}
        for link in release_links(text_links(text)):
            response = await self.get(link)
            found[response.headers["content-language"]] = link
        return found

    async def get(self, url: str, language: str | None = None) -> httpx.Response:
        headers = {"Accept-Language": language} if language else {}
        return await self.client.get(path_of(url), headers=headers)


@pytest.fixture
async def embargo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Embargo]:
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", PASSWORD)
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    publish_at = utc(3600).replace(microsecond=0)
    newsroom.release("launch", publish_at=publish_at, embargo_send_at=utc(-60), languages=LANGUAGES)
    newsroom.release("draft-one", publish_at=publish_at, status="draft")
    newsroom.subscribers("press", PEOPLE, header=HEADER)
    _, stats = await run_once(newsroom.settings())
    assert stats.outcomes["sent"] == 1  # Ben's embargoed copy
    clock = Clock(utc())
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                yield Embargo(newsroom, rt, clock, client, publish_at)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def html_links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def text_links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The (text, HTML) parts of a message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def release_links(links: list[str]) -> list[str]:
    """The links of a copy that lead to the release (not home, unsubscribe, preferences)."""
    return [
        link
        for link in links
        if link.startswith((f"{BASE}/embargoed/", f"{BASE}/releases/", "/embargoed/"))
    ]


def path_of(url: str) -> str:
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


def banner(html: str) -> str:
    found = re.search(r'<p class="embargo"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no embargo banner"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def assert_private(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-robots-tag"] == "noindex"


# -- the copy's links ----------------------------------------------------------------------


async def test_every_link_to_the_release_in_an_embargoed_copy_opens_before_publication(
    embargo: Embargo,
) -> None:
    text, html = parts(embargo.copy_of("ben@example.org"))
    in_html, in_text = release_links(html_links(html)), release_links(text_links(text))
    # Read online, then the other two languages: all signed, none public.
    assert len(in_html) == len(in_text) == len(LANGUAGES)
    assert all(link.startswith(f"{BASE}/embargoed/") for link in in_html + in_text)
    assert in_html == in_text
    zone = embargo.newsroom.settings().newsroom.zone
    shown = []
    for link in in_html:
        response = await embargo.get(link)
        assert_private(response)
        lang = response.headers["content-language"]
        shown.append(lang)
        assert f"Title ({lang})" in response.text
        when = i18n.format_datetime(embargo.publish_at, lang, zone)
        notice = i18n.gettext(lang, "Embargoed until %(when)s", when=when)
        assert notice in banner(response.text)
        # The page's own links to its other languages are the journalist's too.
        others = set(release_links(html_links(response.text))) - {path_of(link)}
        assert all(other.startswith("/embargoed/") for other in others)
        versions = set()
        for other in others:
            page = await embargo.get(other)
            assert_private(page)
            versions.add(page.headers["content-language"])
        assert versions == set(LANGUAGES) - {lang}
    assert shown[0] == "en"  # read online: the copy's language, then the others
    assert sorted(shown) == sorted(LANGUAGES)


async def test_the_public_page_stays_404_until_publication_then_the_links_redirect_to_it(
    embargo: Embargo,
) -> None:
    links = await embargo.links()
    for lang in LANGUAGES:
        assert (await embargo.get(f"/releases/launch/{lang}")).status_code == 404
    embargo.clock.now = embargo.publish_at
    for lang, link in links.items():
        response = await embargo.get(link)
        assert response.status_code == 302
        assert response.headers["location"] == f"/releases/launch/{lang}"
        assert (await embargo.get(response.headers["location"])).status_code == 200


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_a_bad_token_gives_the_very_404_of_an_unknown_release(
    embargo: Embargo, language: str
) -> None:
    text, _ = parts(embargo.copy_of("ben@example.org"))
    good = release_links(text_links(text))[0]
    token = good.rsplit("/", 1)[1]
    middle = len(token) // 2
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    publish = embargo.publish_at
    bad = {
        "forged": forged,
        "another release": embargo.token("no-such-release", "en", publish),
        "a draft": embargo.token("draft-one", "en", publish),
        "no such language": embargo.token("launch", "zh", publish),
        "expired": embargo.token("launch", "en", publish - 8 * DAY),
        "unsubscribe": embargo.rt.renderer.signer.sign("unsubscribe", "ben@example.org"),
        "garbage": "not-a-token",
    }
    unknown = await embargo.get(f"/releases/no-such-release/{language}", language)
    assert unknown.status_code == 404
    for what, token in bad.items():
        response = await embargo.get(f"/embargoed/{token}", language)
        assert response.status_code == 404, what
        assert response.content == unknown.content, what
        assert response.headers["content-language"] == language, what
    assert await embargo.rt.embargo_views.of("launch") == [], "a refused link is not logged"
    assert (await embargo.get(good)).status_code == 200


async def test_a_link_expires_seven_days_after_publication(embargo: Embargo) -> None:
    text, _ = parts(embargo.copy_of("ben@example.org"))
    link = release_links(text_links(text))[0]
    embargo.clock.now = embargo.publish_at + 7 * DAY
    assert (await embargo.get(link)).status_code == 302
    embargo.clock.now = embargo.publish_at + 7 * DAY + SECOND
    unknown = await embargo.get("/releases/no-such-release/en")
    response = await embargo.get(link)
    assert response.status_code == 404
    assert response.content == unknown.content


async def test_a_release_cancelled_before_publication_closes_its_links(embargo: Embargo) -> None:
    text, _ = parts(embargo.copy_of("ben@example.org"))
    link = release_links(text_links(text))[0]
    assert (await embargo.get(link)).status_code == 200
    await embargo.rt.catalog.cancel("launch", utc())
    unknown = await embargo.get("/releases/no-such-release/en")
    response = await embargo.get(link)
    assert response.status_code == 404
    assert response.content == unknown.content


async def test_a_release_cancelled_after_publication_still_leads_to_its_page(
    embargo: Embargo,
) -> None:
    text, _ = parts(embargo.copy_of("ben@example.org"))
    link = release_links(text_links(text))[0]
    embargo.clock.now = embargo.publish_at + SECOND
    await embargo.rt.catalog.cancel("launch", embargo.clock.now)  # cancel never unpublishes
    response = await embargo.get(link)
    assert response.status_code == 302
    assert (await embargo.get(response.headers["location"])).status_code == 200


async def test_the_public_copy_keeps_its_public_links(embargo: Embargo) -> None:
    await run_once(embargo.newsroom.settings(), now=embargo.publish_at + SECOND)
    text, html = parts(embargo.copy_of("ana@example.org"))
    expected = [f"{BASE}/releases/launch/{lang}" for lang in ("fr", "en", "ar")]
    assert release_links(html_links(html)) == expected
    assert release_links(text_links(text)) == expected


# -- the access log ------------------------------------------------------------------------


async def test_each_access_is_logged_and_listed_on_the_console(embargo: Embargo) -> None:
    text, _ = parts(embargo.copy_of("ben@example.org"))
    links = release_links(text_links(text))
    first = utc().replace(microsecond=0)
    embargo.clock.now = first
    assert (await embargo.get(links[0])).headers["content-language"] == "en"
    assert (await embargo.client.head(path_of(links[1]))).status_code == 200  # not a reading
    embargo.clock.now = first + 60 * SECOND
    other = (await embargo.get(links[2])).headers["content-language"]
    assert other in ("fr", "ar")

    views = await embargo.rt.embargo_views.of("launch")
    assert [(v.address, v.language, v.at) for v in views] == [
        ("ben@example.org", other, first + 60 * SECOND),
        ("ben@example.org", "en", first),
    ]

    login = await embargo.client.post("/admin/login", data={"password": PASSWORD})
    assert login.status_code == 303
    page = await embargo.client.get("/admin/releases/launch")
    assert page.status_code == 200
    section = page.text.split('id="embargo-views-heading"', 1)[1].split("</table>", 1)[0]
    rows = [
        [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]
        for cells in (
            re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section.split("<tbody", 1)[1], re.S)
        )
    ]
    assert [row[0] for row in rows] == ["ben@example.org", "ben@example.org"]
    assert [row[2] for row in rows] == [other, "en"]
    settings = embargo.newsroom.settings()
    assert [row[1] for row in rows] == [
        local_time(first + 60 * SECOND, settings),
        local_time(first, settings),
    ]
