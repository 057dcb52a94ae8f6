"""A release's media from folder to page, email, download and zip; and under embargo.

A real dispatch (``run --once`` in-process) writes the copies to the outbox; the app is
served over the same SQLite store through httpx, its clock set before and after
``publish_at``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import ExifTags, Image

from pressdispatch.runtime import Runtime
from pressdispatch.web.app import create_app
from pressdispatch.web.media import content_disposition

from .dispatching import Clock, Newsroom, make_newsroom, run_once, runtime, sqlite_url, utc
from .test_media import entry, load, picture

BASE = "https://press.example.org"
PEOPLE = ["ben@example.org,Ben Ode,en,,,yes", "ana@example.org,Ana Lima,fr,,,no"]
CAPTION = (
    'caption = { en = "Signing in Geneva", fr = "Signature à Genève" }\ncredit = "© IOM 2026 / Ana"'
)


@dataclass
class Site:
    newsroom: Newsroom
    rt: Runtime
    clock: Clock
    client: httpx.AsyncClient
    publish_at: datetime

    def copy_of(self, release_id: str, address: str) -> EmailMessage:
        folder = self.newsroom.root / "var" / "outbox" / release_id
        for path in folder.glob("*.eml"):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            if message["To"].addresses[0].addr_spec == address:
                return message
        raise AssertionError(f"no copy for {address}")

    async def get(self, url: str) -> httpx.Response:
        split = urlsplit(url)
        return await self.client.get(split.path)


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def media_folder(
    newsroom: Newsroom, release_id: str, publish_at: datetime, **times: datetime
) -> Path:
    folder = newsroom.release(release_id, publish_at=publish_at, languages=("en", "fr"), **times)
    with (folder / "release.toml").open("a", encoding="utf-8") as handle:
        handle.write(entry("media/signing.jpg", hero=True, extra=CAPTION))
        handle.write(entry("media/crowd é.png"))
        handle.write(entry("media/report.pdf", alt="", extra='caption = { en = "The report" }'))
    picture(folder / "media" / "signing.jpg", (1600, 1000), gps=True)
    picture(folder / "media" / "crowd é.png", (500, 300), kind="PNG")
    (folder / "media" / "report.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    (folder / "media" / "secret.txt").write_text("not described\n", encoding="utf-8")
    return folder


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    publish_at = utc(3600).replace(microsecond=0)
    media_folder(newsroom, "public-one", utc(-60))
    media_folder(newsroom, "launch", publish_at, embargo_send_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)
    _, stats = await run_once(newsroom.settings())
    assert stats.outcomes["sent"] == 3  # both copies of public-one, Ben's embargoed launch
    clock = Clock(utc())
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                yield Site(newsroom, rt, clock, client, publish_at)


def srcs(html: str, tag: str = "img", attribute: str = "src") -> list[str]:
    return re.findall(rf'<{tag}\b[^>]*\b{attribute}="([^"]+)"', html)


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a\b[^>]*\bhref="([^"]+)"', html)


# -- folder → page → download → zip ---------------------------------------------------------


async def test_the_page_shows_the_hero_and_a_gallery_with_captions_credits_and_downloads(
    site: Site,
) -> None:
    page = await site.client.get("/releases/public-one/fr")
    assert page.status_code == 200
    html = page.text
    images = srcs(html)
    assert images[0] == "/releases/public-one/media/signing.jpg/1200.jpg"  # the hero, first
    assert "/releases/public-one/media/crowd%20%C3%A9.png/1200.jpg" in images
    assert "Signature à Genève" in html and "© IOM 2026 / Ana" in html
    assert 'alt="Un champ"' in html
    links = hrefs(html)
    for original in ("signing.jpg", "crowd%20%C3%A9.png", "report.pdf"):
        assert f"/releases/public-one/media/{original}" in links
    assert "/releases/public-one/media/all.zip" in links
    assert "(JPEG, 1600 \u00d7 1000, " in html
    # Shared on social networks with the hero's copy.
    og = re.search(r'<meta property="og:image" content="([^"]+)"', html)
    assert og and og.group(1) == f"{BASE}/releases/public-one/media/signing.jpg/1200.jpg"
    assert '<meta name="twitter:card" content="summary_large_image">' in html

    for url in srcs(html) + srcs(html, "source", "srcset"):
        for candidate in url.split(", "):
            response = await site.client.get(candidate.split(" ")[0])
            assert response.status_code == 200, candidate
            assert response.headers["content-type"] in ("image/jpeg", "image/webp")


async def test_downloads_are_the_originals_with_safe_names_and_copies_have_no_gps(
    site: Site,
) -> None:
    folder = site.newsroom.root / "releases" / "public-one" / "media"
    original = await site.client.get("/releases/public-one/media/crowd%20%C3%A9.png")
    assert original.status_code == 200
    assert original.content == (folder / "crowd é.png").read_bytes()
    assert original.headers["content-type"] == "image/png"
    assert original.headers["x-content-type-options"] == "nosniff"
    assert original.headers["content-disposition"] == (
        "attachment; filename=\"crowd__.png\"; filename*=UTF-8''crowd%20%C3%A9.png"
    )
    pdf = await site.client.get("/releases/public-one/media/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    copy = await site.client.get("/releases/public-one/media/signing.jpg/600.jpg")
    with Image.open(io.BytesIO(copy.content)) as image:
        assert image.size == (600, 375)
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    cache = site.newsroom.root / "var" / "media"
    assert any(cache.rglob("*.jpg"))
    assert not (site.newsroom.root / "releases" / "public-one" / "media" / "images").exists()


async def test_download_all_is_one_zip_of_the_originals(site: Site) -> None:
    response = await site.client.get("/releases/public-one/media/all.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "public-one-media.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["signing.jpg", "crowd é.png", "report.pdf", "CREDITS.txt"]
        credits = archive.read("CREDITS.txt").decode()
        assert "Signing in Geneva" in credits and "© IOM 2026 / Ana" in credits


@pytest.mark.parametrize(
    "path",
    [
        "/releases/public-one/media/secret.txt",  # in media/, but not described
        "/releases/public-one/media/..%2Frelease.toml",
        "/releases/public-one/media/%2E%2E",
        "/releases/public-one/media/signing.jpg/601.jpg",
        "/releases/public-one/media/signing.jpg/600.png",
        "/releases/public-one/media/report.pdf/600.jpg",
        "/releases/no-such/media/signing.jpg",
    ],
)
async def test_only_described_files_and_known_copies_are_served(site: Site, path: str) -> None:
    unknown = await site.client.get("/releases/no-such-release/en")
    response = await site.client.get(path)
    assert response.status_code == 404
    assert response.text == unknown.text


def test_content_disposition_refuses_quotes_and_line_breaks() -> None:
    value = content_disposition('a"b\r\nSet-Cookie: x.jpg')
    assert "\r" not in value and "\n" not in value
    assert value.startswith('attachment; filename="a_b__Set-Cookie__x.jpg"; filename*=UTF-8')


# -- the email ----------------------------------------------------------------------------------


async def test_the_email_shows_the_hero_by_address_and_names_the_other_media(site: Site) -> None:
    message = site.copy_of("public-one", "ana@example.org")
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]  # nothing attached
    text, html = parts(message)
    hero = f"{BASE}/releases/public-one/media/signing.jpg/600.jpg"
    assert srcs(html) == [hero]
    assert re.search(rf'<a href="{BASE}/releases/public-one/fr"[^>]*>\s*<img', html)
    links = hrefs(html)
    assert f"{BASE}/releases/public-one/media/crowd%20%C3%A9.png" in links
    assert f"{BASE}/releases/public-one/media/report.pdf" in links
    assert f"{BASE}/releases/public-one/media/all.zip" in links
    for name in ("signing.jpg", "crowd%20%C3%A9.png", "report.pdf", "all.zip"):
        assert f"{BASE}/releases/public-one/media/{name}" in text
    assert "Signature à Genève" in text
    response = await site.get(hero)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"


# -- under embargo ------------------------------------------------------------------------------


async def test_embargoed_media_are_404_in_public_until_publication(site: Site) -> None:
    unknown = await site.client.get("/releases/no-such-release/en")
    for path in ("signing.jpg", "signing.jpg/1200.jpg", "report.pdf", "all.zip"):
        response = await site.client.get(f"/releases/launch/media/{path}")
        assert response.status_code == 404, path
        assert response.text == unknown.text
    for path in ("/sitemap.xml", "/feeds/en/all.atom", "/feeds/fr/all.rss"):
        assert "launch" not in (await site.client.get(path)).text
    site.clock.now = site.publish_at
    assert (await site.client.get("/releases/launch/media/all.zip")).status_code == 200


async def test_a_cleared_journalist_gets_signed_media_links_that_are_logged_then_redirect(
    site: Site,
) -> None:
    text, html = parts(site.copy_of("launch", "ben@example.org"))
    hero = srcs(html)[0]
    assert re.fullmatch(rf"{BASE}/embargoed/[^/]+/media/signing\.jpg/600\.jpg", hero)
    media_links = [link for link in hrefs(html) if "/media/" in link]
    assert media_links and all(link.startswith(f"{BASE}/embargoed/") for link in media_links)
    assert all(f"{BASE}/releases/launch/media" not in line for line in text.splitlines())

    response = await site.get(hero)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.width == 600
    zip_link = next(link for link in media_links if link.endswith("/all.zip"))
    assert (await site.get(zip_link)).status_code == 200
    page = next(link for link in hrefs(html) if re.fullmatch(rf"{BASE}/embargoed/[^/]+", link))
    on_page = srcs((await site.get(page)).text)
    assert on_page[0].startswith("/embargoed/") and on_page[0].endswith(
        "/media/signing.jpg/1200.jpg"
    )

    views = await site.rt.embargo_views.of("launch")
    assert {(v.address, v.item) for v in views} >= {
        ("ben@example.org", "signing.jpg"),
        ("ben@example.org", "all.zip"),
        ("ben@example.org", ""),
    }

    site.clock.now = site.publish_at
    after = await site.get(hero)
    assert after.status_code == 302
    assert after.headers["location"] == "/releases/launch/media/signing.jpg/600.jpg"
    assert (await site.client.get(after.headers["location"])).status_code == 200
    assert (await site.get(zip_link)).headers["location"] == "/releases/launch/media/all.zip"


async def test_a_forged_media_token_gives_the_404_of_an_unknown_release(site: Site) -> None:
    _, html = parts(site.copy_of("launch", "ben@example.org"))
    hero = urlsplit(srcs(html)[0]).path
    token = hero.split("/")[2]
    forged = hero.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    unknown = await site.client.get("/releases/no-such-release/en")
    response = await site.client.get(forged)
    assert response.status_code == 404 and response.text == unknown.text


# -- the API ------------------------------------------------------------------------------------

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def jpeg(size: tuple[int, int] = (640, 400)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", TOKEN)
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    newsroom.write_config(content={"max_media_size": "64KiB"})
    publish_at = utc(7200).replace(microsecond=0)
    newsroom.release("launch", publish_at=publish_at, languages=("en", "fr"))
    clock = Clock(utc())
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                yield Site(newsroom, rt, clock, client, publish_at)


async def test_a_medium_added_through_the_api_is_checked_written_and_described(api: Site) -> None:
    fields = {"alt.en": "A field", "alt.fr": "Un champ", "caption.en": "The field", "hero": "true"}
    response = await api.client.post(
        "/api/v1/releases/launch/media",
        headers=AUTH,
        data=fields,
        files={"file": ("Field photo.jpg", jpeg(), "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["file"], body["type"], body["width"], body["hero"]) == (
        "media/Field photo.jpg",
        "image/jpeg",
        640,
        True,
    )
    folder = api.newsroom.root / "releases" / "launch"
    assert (folder / "media" / "Field photo.jpg").read_bytes() == jpeg()
    assert 'file = "media/Field photo.jpg"' in (folder / "release.toml").read_text(encoding="utf-8")
    release = await api.rt.catalog.readable("launch", api.clock())
    assert (
        release is not None and release.hero is not None and release.hero.name == "Field photo.jpg"
    )
    assert load(api.newsroom, folder)[1] == []  # as `check` sees it: no problem


@pytest.mark.parametrize(
    ("fields", "upload", "expected"),
    [
        ({"alt.en": "A field"}, ("a.jpg", jpeg(), "image/jpeg"), "no alt text in fr"),
        ({}, ("a.jpg", b"GIF89a not really", "image/jpeg"), "unknown type"),
        ({}, ("notes.pdf", b"just text", "application/pdf"), "unknown type"),
        ({}, ("../../etc/x.jpg", b"%PDF-1.4\n", "application/pdf"), None),  # kept: x.jpg
        ({}, (".hidden.pdf", b"%PDF-1.4\n", "application/pdf"), "file name"),
    ],
)
async def test_an_upload_meets_the_checks_of_a_file_put_in_the_folder(
    api: Site, fields: dict[str, str], upload: tuple[str, bytes, str], expected: str | None
) -> None:
    folder = api.newsroom.root / "releases" / "launch"
    toml = (folder / "release.toml").read_text(encoding="utf-8")
    response = await api.client.post(
        "/api/v1/releases/launch/media", headers=AUTH, data=fields, files={"file": upload}
    )
    if expected is None:  # only the base name is ever used
        assert response.status_code == 201, response.text
        assert (folder / "media" / "x.jpg").is_file()
        assert not (api.newsroom.root / "etc").exists()
        return
    assert response.status_code == 422, response.text
    assert expected in response.text
    assert (folder / "release.toml").read_text(encoding="utf-8") == toml
    assert not (folder / "media").exists() or not any((folder / "media").iterdir())
    assert not [p for p in (api.newsroom.root / "releases").iterdir() if p.name.startswith(".")]


async def test_an_upload_over_the_size_limit_is_413_and_a_second_hero_is_422(api: Site) -> None:
    big = await api.client.post(
        "/api/v1/releases/launch/media",
        headers=AUTH,
        files={"file": ("big.pdf", b"%PDF-1.4\n" + b"0" * 200_000, "application/pdf")},
    )
    assert big.status_code == 413
    first = await api.client.post(
        "/api/v1/releases/launch/media",
        headers=AUTH,
        data={"alt.en": "A", "alt.fr": "B", "hero": "true"},
        files={"file": ("one.jpg", jpeg(), "image/jpeg")},
    )
    assert first.status_code == 201
    second = await api.client.post(
        "/api/v1/releases/launch/media",
        headers=AUTH,
        data={"alt.en": "A", "alt.fr": "B", "hero": "true"},
        files={"file": ("two.jpg", jpeg(), "image/jpeg")},
    )
    assert second.status_code == 422 and "a second hero" in second.text
    unknown = await api.client.post(
        "/api/v1/releases/nope/media", headers=AUTH, files={"file": ("a.pdf", b"%PDF-", "x")}
    )
    assert unknown.status_code == 404
