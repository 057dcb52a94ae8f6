"""A release's pictures and documents from the console's editor: added with the API's
checks, listed with a thumbnail, published in the gallery, removed after a confirmation.

Through the ASGI app over a real SQLite store (as tests/test_admin.py); the files are
real: a JPEG made with Pillow, a PDF's bytes.
"""

from __future__ import annotations

import io
import re
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from pressdispatch.content.media_upload import remove_media
from pressdispatch.runtime import Runtime
from pressdispatch.sizes import format_size
from pressdispatch.web.app import create_app

from .dispatching import Clock, Newsroom, make_newsroom, run_once, runtime, sqlite_url, utc
from .test_admin import PASSWORD, VARIABLE, client_for, csrf_of, rows_of
from .test_editor import form as editor_form

LIMIT = 64 * 1024  # content.max_media_size here
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@dataclass
class Desk:
    newsroom: Newsroom
    rt: Runtime
    clock: Clock
    app: FastAPI
    client: httpx.AsyncClient
    publish_at: datetime
    csrf: str = ""

    @property
    def folder(self) -> Path:
        return self.newsroom.root / "releases" / "launch"

    def meta(self) -> dict[str, object]:
        return tomllib.loads((self.folder / "release.toml").read_text(encoding="utf-8"))

    async def upload(
        self, name: str, data: bytes, *, kind: str = "image/jpeg", **fields: str
    ) -> httpx.Response:
        sent = {"csrf": self.csrf, **{k.replace("__", "."): v for k, v in fields.items()}}
        return await self.client.post(
            "/admin/releases/launch/media", data=sent, files={"file": (name, data, kind)}
        )


def jpeg(size: tuple[int, int] = (1600, 1000)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG", quality=30)
    return buffer.getvalue()


@pytest.fixture
async def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.setenv(VARIABLE, PASSWORD)
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    newsroom.write_config(content={"max_media_size": f"{LIMIT // 1024}KiB"})
    publish_at = utc(7200).replace(microsecond=0)
    newsroom.release("launch", publish_at=publish_at, languages=("en", "fr"), title="Launch")
    clock = Clock(utc())
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app), client_for(app) as client:
            desk = Desk(newsroom, rt, clock, app, client, publish_at)
            response = await client.post("/admin/login", data={"password": PASSWORD})
            assert response.status_code == 303
            desk.csrf = csrf_of((await client.get("/admin")).text)
            yield desk


def problem(html: str, key: str) -> str:
    """The problem beside the upload form's field ``key``."""
    found = re.search(rf'id="me-{key}">(.*?)</p>', html, re.S)
    assert found, f"no problem beside {key}"
    return unescape(found.group(1))


def media_rows(html: str) -> dict[str, list[str]]:
    """The editor's list of media: file name → its cells."""
    table = html.split('id="media-list"', 1)[1].split("</table>", 1)[0]
    return {row[1].split(" not described")[0]: row for row in rows_of("<tbody" + table)}


def nothing_written(desk: Desk, toml: str) -> None:
    assert (desk.folder / "release.toml").read_text(encoding="utf-8") == toml
    assert not (desk.folder / "media").exists() or not any((desk.folder / "media").iterdir())
    assert not [p for p in desk.folder.parent.iterdir() if p.name.startswith(".")]


# -- adding ------------------------------------------------------------------------------------


async def test_a_photo_and_a_pdf_added_in_the_editor_are_listed_and_published(desk: Desk) -> None:
    empty = await desk.client.get("/admin/releases/launch/edit")
    assert empty.status_code == 200
    assert "Photos and documents" in empty.text and "No photos or documents yet." in empty.text
    assert 'enctype="multipart/form-data"' in empty.text
    assert 'name="alt.en"' in empty.text and 'name="alt.fr"' in empty.text
    assert 'name="alt.ru"' not in empty.text  # the release is in English and French only

    photo = jpeg()
    added = await desk.upload(
        "Field photo.jpg",
        photo,
        alt__en="Wheat under a blue sky",
        alt__fr="Du blé sous un ciel bleu",
        caption__en="The field in June",
        credit="© Agency 2026 / Ana Lima",
        license="CC BY 4.0",
        hero="true",
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == "/admin/releases/launch/edit?done=media-added#media"
    report = await desk.upload(
        "Annual report.pdf", PDF, kind="application/pdf", caption__en="Our report"
    )
    assert report.status_code == 303, report.text

    # Written as the API writes it: the file in media/, its entry in release.toml.
    assert (desk.folder / "media" / "Field photo.jpg").read_bytes() == photo
    assert (desk.folder / "media" / "Annual report.pdf").read_bytes() == PDF
    assert desk.meta()["media"] == [
        {
            "file": "media/Field photo.jpg",
            "alt": {"en": "Wheat under a blue sky", "fr": "Du blé sous un ciel bleu"},
            "caption": {"en": "The field in June"},
            "credit": "© Agency 2026 / Ana Lima",
            "license": "CC BY 4.0",
            "hero": True,
        },
        {"file": "media/Annual report.pdf", "caption": {"en": "Our report"}},
    ]

    editor = await desk.client.get(added.headers["location"])
    assert "Added: the file is in the release" in editor.text
    listed = media_rows(editor.text)
    photo_row = listed["Field photo.jpg"]
    assert photo_row[2] == "JPEG 1600 \u00d7 1000"
    assert photo_row[3] == format_size(len(photo))
    assert photo_row[4] == "en Wheat under a blue sky fr Du blé sous un ciel bleu"
    assert photo_row[5] == "en The field in June"
    assert photo_row[6:9] == ["© Agency 2026 / Ana Lima", "CC BY 4.0", "yes"]
    assert listed["Annual report.pdf"][2] == "PDF"
    assert listed["Annual report.pdf"][8] == "no"

    # The thumbnail is the newsroom's 600-pixel copy; the name links to the original.
    thumb = re.search(r'<img src="(/admin/releases/launch/media/[^"]+)"', editor.text)
    assert thumb and thumb.group(1) == "/admin/releases/launch/media/Field%20photo.jpg/600.jpg"
    copy = await desk.client.get(thumb.group(1))
    assert copy.status_code == 200 and copy.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(copy.content)).size == (600, 375)
    original = await desk.client.get("/admin/releases/launch/media/Field%20photo.jpg")
    assert original.status_code == 200 and original.content == photo
    assert original.headers["content-disposition"].startswith("attachment")
    pdf = await desk.client.get("/admin/releases/launch/media/Annual%20report.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content == PDF
    assert (
        await desk.client.get("/admin/releases/launch/media/Annual%20report.pdf/600.jpg")
    ).status_code == 404

    # Once published, the newsroom's page shows them: the hero, and the document.
    desk.clock.now = desk.publish_at
    page = await desk.client.get("/releases/launch/fr")
    assert page.status_code == 200
    assert '<img src="/releases/launch/media/Field%20photo.jpg/1200.jpg"' in page.text
    assert 'alt="Du blé sous un ciel bleu"' in page.text
    assert 'href="/releases/launch/media/Annual%20report.pdf"' in page.text
    assert (await desk.client.get("/releases/launch/media/Field%20photo.jpg")).content == photo


async def test_saving_the_text_in_the_editor_keeps_the_media(desk: Desk) -> None:
    assert (await desk.upload("a.pdf", PDF, kind="application/pdf")).status_code == 303
    fields = editor_form(
        desk.csrf,
        id="launch",
        publish_at=f"{desk.publish_at.astimezone(desk.newsroom.settings().newsroom.zone):%Y-%m-%dT%H:%M}",
        embargo_send_at="",
        **{"en.title": "Launch, corrected"},
    )
    saved = await desk.client.post("/admin/releases/launch/edit", data=fields)
    assert saved.status_code == 303, saved.text
    assert desk.meta()["media"] == [{"file": "media/a.pdf"}]
    assert (desk.folder / "media" / "a.pdf").read_bytes() == PDF


# -- refusals: the API's checks, shown beside the fields ------------------------------------


async def test_a_picture_without_alt_text_in_every_language_is_refused_beside_the_alt_text(
    desk: Desk,
) -> None:
    toml = (desk.folder / "release.toml").read_text(encoding="utf-8")
    refused = await desk.upload(
        "field.jpg", jpeg(), alt__en="Wheat", caption__fr="Le champ", credit="© Agency"
    )
    assert refused.status_code == 422
    assert "no alt text in fr" in problem(refused.text, "alt")
    assert "Choose the file again" in refused.text
    # Everything typed is still there; the empty French alt text is marked.
    assert 'name="alt.en" lang="en" value="Wheat"' in refused.text
    assert 'value="Le champ"' in refused.text and 'value="© Agency"' in refused.text
    assert re.search(r'id="m-alt-fr"[^>]*aria-invalid="true"', refused.text)
    assert not re.search(r'id="m-alt-en"[^>]*aria-invalid', refused.text)
    nothing_written(desk, toml)


async def test_a_second_hero_is_refused_beside_the_hero_box(desk: Desk) -> None:
    alt = {"alt__en": "A", "alt__fr": "B"}
    assert (await desk.upload("one.jpg", jpeg(), hero="true", **alt)).status_code == 303
    toml = (desk.folder / "release.toml").read_text(encoding="utf-8")
    refused = await desk.upload("two.jpg", jpeg(), hero="true", **alt)
    assert refused.status_code == 422
    assert "a second hero" in problem(refused.text, "hero")
    assert re.search(r'name="hero" value="true" id="m-hero" checked', refused.text)
    assert (desk.folder / "release.toml").read_text(encoding="utf-8") == toml
    assert sorted(p.name for p in (desk.folder / "media").iterdir()) == ["one.jpg"]


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("photo.jpg", b"GIF89a\x01\x00 not a picture at all", "image/jpeg"),
        ("notes.pdf", b"just some text, not a PDF", "application/pdf"),
        ("photo.png", b"\x89PNG\r\n\x1a\n broken", "image/png"),
    ],
)
async def test_bytes_that_are_not_a_picture_or_pdf_are_refused_whatever_the_name(
    desk: Desk, name: str, data: bytes, kind: str
) -> None:
    toml = (desk.folder / "release.toml").read_text(encoding="utf-8")
    refused = await desk.upload(name, data, kind=kind, alt__en="A", alt__fr="B")
    assert refused.status_code == 422
    assert "unknown type" in problem(refused.text, "file")
    assert 'value="A"' in refused.text
    nothing_written(desk, toml)


async def test_an_unsafe_or_missing_file_name_is_refused_beside_the_file(desk: Desk) -> None:
    toml = (desk.folder / "release.toml").read_text(encoding="utf-8")
    hidden = await desk.upload(".hidden.pdf", PDF, kind="application/pdf")
    assert hidden.status_code == 422
    assert "file name" in problem(hidden.text, "file")
    none = await desk.client.post(
        "/admin/releases/launch/media", data={"csrf": desk.csrf, "credit": "Me"}
    )
    assert none.status_code == 422 and "missing" in problem(none.text, "file")
    nothing_written(desk, toml)


async def test_a_file_over_the_configured_limit_is_refused(desk: Desk) -> None:
    toml = (desk.folder / "release.toml").read_text(encoding="utf-8")
    over = PDF + b"0" * LIMIT  # read, then refused by the check, beside the file
    refused = await desk.upload("big.pdf", over, kind="application/pdf", credit="Me")
    assert refused.status_code == 422
    assert "over the limit of 64 KiB" in problem(refused.text, "file")
    assert 'value="Me"' in refused.text
    assert 'data-max="65536"' in refused.text  # the browser refuses it before sending, too
    # Far larger: refused before it is read.
    huge = await desk.upload("huge.pdf", PDF + b"0" * (4 * LIMIT), kind="application/pdf")
    assert huge.status_code == 413
    assert "larger than 64 KiB" in unescape(huge.text) and "nothing was added" in huge.text
    nothing_written(desk, toml)


async def test_uploads_need_a_session_and_the_form_s_token(desk: Desk) -> None:
    forged = await desk.client.post(
        "/admin/releases/launch/media",
        data={"csrf": "forged", "alt.en": "A", "alt.fr": "B"},
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert forged.status_code == 403
    async with client_for(desk.app) as stranger:
        anonymous = await stranger.post(
            "/admin/releases/launch/media",
            data={"csrf": desk.csrf},
            files={"file": ("a.pdf", PDF, "application/pdf")},
        )
        assert anonymous.status_code == 401
    assert not (desk.folder / "media").exists()


# -- removing ----------------------------------------------------------------------------------


async def test_a_medium_is_removed_after_a_confirmation(desk: Desk) -> None:
    toml = (desk.folder / "release.toml").read_text(encoding="utf-8")
    assert (await desk.upload("a b.pdf", PDF, kind="application/pdf")).status_code == 303
    editor = await desk.client.get("/admin/releases/launch/edit")
    link = re.search(r'<a href="([^"]+/remove)" class="remove-media">', editor.text)
    assert link and link.group(1) == "/admin/releases/launch/media/a%20b.pdf/remove"

    confirm = await desk.client.get(link.group(1))
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.text
    assert f'action="{link.group(1)}"' in confirm.text

    forged = await desk.client.post(link.group(1), data={"csrf": "forged"})
    assert forged.status_code == 403
    assert (desk.folder / "media" / "a b.pdf").is_file()

    removed = await desk.client.post(link.group(1), data={"csrf": csrf_of(confirm.text)})
    assert removed.status_code == 303
    assert removed.headers["location"] == "/admin/releases/launch/edit?done=media-removed#media"
    assert not (desk.folder / "media" / "a b.pdf").exists()
    assert (desk.folder / "release.toml").read_text(encoding="utf-8") == toml
    after = await desk.client.get(removed.headers["location"])
    assert "Removed: the file" in after.text and "No photos or documents yet." in after.text

    again = await desk.client.post(link.group(1), data={"csrf": desk.csrf})
    assert again.status_code == 422 and "no such file or entry" in again.text


def test_removal_cuts_only_the_entry_s_lines(tmp_path: Path) -> None:
    folder = tmp_path / "launch"
    (folder / "media").mkdir(parents=True)
    for name in ("one.pdf", "two.pdf", "three.pdf"):
        (folder / "media" / name).write_bytes(PDF)
    head = '# written by hand\npublish_at = 2026-12-01T10:00:00+01:00\nregions = ["world"]\n'
    one = '\n[[media]]\nfile = "media/one.pdf"  # the first\n'
    two = '\n[[media]]\nfile = "media/two.pdf"\ncaption = { en = "Two" }\n'
    three = '\n# the last one\n[[media]]\nfile = "media/three.pdf"\n\n[source]\nurl = "https://example.org/x"\n'
    (folder / "release.toml").write_text(head + one + two + three, encoding="utf-8")

    assert remove_media(folder, "two.pdf") is None
    assert (folder / "release.toml").read_text(encoding="utf-8") == head + one + three
    assert sorted(p.name for p in (folder / "media").iterdir()) == ["one.pdf", "three.pdf"]

    assert remove_media(folder, "three.pdf") is None
    text = (folder / "release.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["source"] == {"url": "https://example.org/x"}
    assert [m["file"] for m in tomllib.loads(text)["media"]] == ["media/one.pdf"]
    assert text.startswith(head + one)

    # An entry written as an array of inline tables cannot be cut out line by line.
    (folder / "release.toml").write_text(
        head + 'media = [{ file = "media/one.pdf" }]\n', encoding="utf-8"
    )
    refused = remove_media(folder, "one.pdf")
    assert refused is not None and "edit release.toml by hand" in refused.message
    assert (folder / "media" / "one.pdf").is_file()


async def test_a_release_whose_sending_started_keeps_its_media(desk: Desk) -> None:
    folder = desk.newsroom.release("sent", publish_at=utc(-60), languages=("en",))
    (folder / "media").mkdir()
    (folder / "media" / "report.pdf").write_bytes(PDF)
    with (folder / "release.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[media]]\nfile = "media/report.pdf"\n')
    await run_once(desk.newsroom.settings())
    toml = (folder / "release.toml").read_text(encoding="utf-8")

    added = await desk.client.post(
        "/admin/releases/sent/media",
        data={"csrf": desk.csrf},
        files={"file": ("more.pdf", PDF, "application/pdf")},
    )
    assert added.status_code == 409 and "write a new release" in added.text
    removed = await desk.client.post(
        "/admin/releases/sent/media/report.pdf/remove", data={"csrf": desk.csrf}
    )
    assert removed.status_code == 409
    assert (folder / "release.toml").read_text(encoding="utf-8") == toml
    assert sorted(p.name for p in (folder / "media").iterdir()) == ["report.pdf"]


async def test_the_list_shows_what_the_check_refuses_and_what_is_not_described(desk: Desk) -> None:
    (desk.folder / "media").mkdir()
    (desk.folder / "media" / "draft notes.pdf").write_bytes(PDF)
    with (desk.folder / "release.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[media]]\nfile = "media/gone.jpg"\nalt = { en = "A", fr = "B" }\n')
    editor = await desk.client.get("/admin/releases/launch/edit")
    assert editor.status_code == 200
    problems = re.search(r'id="media-problems">(.*?)</div>', editor.text, re.S)
    assert problems and "media/gone.jpg: missing" in unescape(problems.group(1))
    warnings = re.search(r'id="media-warnings">(.*?)</div>', editor.text, re.S)
    assert warnings and "not described in release.toml" in unescape(warnings.group(1))
    assert "not described" not in unescape(problems.group(1))
    listed = media_rows(editor.text)
    assert listed["gone.jpg"][2] == "missing: no such file in media/"
    assert listed["draft notes.pdf"][1] == (
        "draft notes.pdf not described in release.toml, so never published"
    )
    # Removing the undescribed file deletes it; removing the broken entry takes it out.
    for name in ("draft%20notes.pdf", "gone.jpg"):
        removed = await desk.client.post(
            f"/admin/releases/launch/media/{name}/remove", data={"csrf": desk.csrf}
        )
        assert removed.status_code == 303
    assert "media" not in desk.meta() and not any((desk.folder / "media").iterdir())


# -- the email preview ------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["public", "embargoed"])
async def test_the_email_preview_shows_the_hero_before_publication(desk: Desk, tier: str) -> None:
    desk.newsroom.release(
        "launch",
        publish_at=desk.publish_at,
        embargo_send_at=utc(-60),
        languages=("en", "fr"),
        title="Launch",
    )
    added = await desk.upload(
        "hero.jpg", jpeg(), alt__en="Wheat", alt__fr="Du blé", hero="true", credit="© Agency"
    )
    assert added.status_code == 303, added.text

    preview = await desk.client.get(f"/admin/releases/launch/preview/en?tier={tier}")
    assert preview.status_code == 200
    hero = re.findall(r'<img[^>]* src="([^"]+)"', preview.text)[0]
    # The newsroom serves it only from publication (the embargoed copy's, only through a
    # journalist's own link): the console's own copy instead.
    assert unescape(hero) == "/admin/releases/launch/media/hero.jpg/600.jpg"
    picture = await desk.client.get(unescape(hero))
    assert picture.status_code == 200
    with Image.open(io.BytesIO(picture.content)) as image:
        assert image.width == 600
