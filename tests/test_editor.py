"""The console's release editor, its preview, reviewing imported drafts and importing a
page, through the ASGI app over a real store (as tests/test_admin.py).

Pages to import are served by a real HTTP server on 127.0.0.1 (tests/website.py).
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from PIL import Image

from pressdispatch.content import drafts, writer

from . import test_admin
from .dispatching import run_once, utc
from .test_admin import Console, rows_of
from .website import cms_page, website

console = test_admin.console  # the fixture: a logged-out browser on the app, a real store
PARIS = ZoneInfo("Europe/Paris")


def local(moment: datetime) -> str:
    """As a datetime-local field holds it, in the newsroom's zone (Europe/Paris)."""
    return f"{moment.astimezone(PARIS):%Y-%m-%dT%H:%M}"


def form(csrf: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    """A bilingual release as the editor sends it; ``fields`` change or add fields."""
    base: dict[str, str | list[str]] = {
        "csrf": csrf,
        "id": "water-week",
        "publish_at": local(utc(2 * 86400)),
        "embargo_send_at": local(utc(86400)),
        "status": "ready",
        "original_language": "en",
        "regions": ["world"],
        "regions_other": "",
        "topics_other": "",
        "contacts.0.name": "Mia Sol",
        "contacts.0.role": "Press officer",
        "contacts.0.phone": "",
        "contacts.0.email": "mia@example.org",
        "contacts.1.name": "",
        "contacts.1.role": "",
        "contacts.1.phone": "",
        "contacts.1.email": "",
        "en.title": "Water week",
        "en.dateline": "GENEVA",
        "en.summary": "Clean water for all.",
        "en.body": "The **first** paragraph.\r\n\r\nThe second.",
        "fr.title": "Semaine de l'eau",
        "fr.dateline": "GENÈVE",
        "fr.summary": "",
        "fr.body": "Le premier paragraphe.",
    }
    return base | fields


def problem(html: str, key: str) -> str:
    """The problem shown beside the field ``key`` (as release_form names it)."""
    found = re.search(rf'id="e-{re.escape(key.replace(".", "-"))}">(.*?)</p>', html, re.S)
    assert found, f"no problem beside {key}"
    return unescape(found.group(1))


def imported_draft(console: Console, release_id: str, publish_at: datetime) -> None:
    """A draft as `pressdispatch import` writes it: [source], a comment, status draft."""
    folder = console.newsroom.root / "releases" / release_id
    folder.mkdir(parents=True)
    (folder / "release.toml").write_text(
        f"publish_at = {publish_at.isoformat()}\n"
        'status = "draft"\n'
        'original_language = "en"\n'
        "# countries found in the text (check them):\n"
        '#   FR: "France"\n'
        'regions = ["FR"]\n'
        "topics = []\n\n"
        "[source]\n"
        'url = "https://agency.example.org/news/harvest"\n'
        "fetched_at = 2026-01-02T03:04:05Z\n",
        encoding="utf-8",
    )
    (folder / "en.md").write_text('+++\ntitle = "Harvest"\n+++\nA good harvest.\n', "utf-8")


# -- writing a release -------------------------------------------------------------------


async def test_a_new_release_is_written_checked_and_planned(console: Console) -> None:
    await console.sync()  # the journalists, for the plan
    csrf = await console.login()
    blank = await console.client.get("/admin/releases/new")
    assert blank.status_code == 200
    assert 'type="datetime-local"' in blank.text
    assert "Europe/Paris, UTC+0" in blank.text  # the zone and its offset
    for lang in ("en", "fr", "ru", "ar", "es", "zh"):
        assert f'name="{lang}.title"' in blank.text
    assert 'value="by"' in blank.text and 'value="eastern-europe"' in blank.text

    saved = await console.client.post("/admin/releases/new", data=form(csrf))
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/releases/water-week?done=created"

    folder = console.newsroom.root / "releases" / "water-week"
    meta = tomllib.loads((folder / "release.toml").read_text("utf-8"))
    naive = meta["publish_at"].replace(tzinfo=None)
    assert meta["publish_at"].utcoffset() == PARIS.utcoffset(naive)
    assert local(meta["publish_at"]) == form(csrf)["publish_at"]
    assert meta["status"] == "ready"
    assert meta["regions"] == ["world"]
    mia = {"name": "Mia Sol", "role": "Press officer", "email": "mia@example.org"}
    assert meta["contacts"] == [mia]
    assert sorted(p.name for p in folder.iterdir()) == ["en.md", "fr.md", "release.toml"]
    body = (folder / "en.md").read_text("utf-8")
    assert body.endswith("+++\nThe **first** paragraph.\n\nThe second.\n")

    page = await console.client.get(saved.headers["location"])
    assert "Saved" in page.text
    table = rows_of(page.text)
    assert ["en", "embargoed", "1"] in table  # chen is cleared for embargoes
    assert ["en", "public", "1"] in table
    assert ["fr", "public", "1"] in table
    assert 'href="/admin/releases/water-week/edit"' in page.text

    again = await console.client.post("/admin/releases/new", data=form(csrf))
    assert again.status_code == 422
    assert "already exists" in problem(again.text, "id")


async def test_an_empty_id_is_made_from_the_date_and_the_title(console: Console) -> None:
    csrf = await console.login()
    publish = utc(2 * 86400)
    saved = await console.client.post(
        "/admin/releases/new", data=form(csrf, id="", publish_at=local(publish))
    )
    assert saved.status_code == 303, saved.text
    expected = f"{publish.astimezone(PARIS):%Y-%m-%d}-water-week"
    assert saved.headers["location"].startswith(f"/admin/releases/{expected}?")


async def test_problems_are_shown_beside_their_fields_and_nothing_is_written(
    console: Console,
) -> None:
    csrf = await console.login()
    wrong = form(
        csrf,
        publish_at=local(utc(-3600)),
        embargo_send_at=local(utc(3 * 86400)),
        **{"fr.title": "", "contacts.1.email": "ana@example.org"},
    )
    refused = await console.client.post("/admin/releases/new", data=wrong)
    assert refused.status_code == 422
    assert "has passed" in problem(refused.text, "publish_at")
    assert "required" in problem(refused.text, "fr.title")
    assert "required" in problem(refused.text, "contacts.1.name")
    assert 'aria-invalid="true"' in refused.text
    assert 'class="tab has-error"' in refused.text  # the fr tab
    assert "Semaine" not in refused.text or 'value="GENÈVE"' in refused.text  # kept as typed
    assert not (console.newsroom.root / "releases" / "water-week").exists()
    assert list((console.newsroom.root / "releases").iterdir()) == []  # no staging left

    # the embargo after the publication: the loader's own words, beside the embargo
    late = form(
        csrf,
        publish_at=local(utc(86400)),
        embargo_send_at=local(utc(2 * 86400)),
        regions_other="atlantis",
    )
    refused = await console.client.post("/admin/releases/new", data=late)
    assert refused.status_code == 422
    assert "must be earlier than publish_at" in problem(refused.text, "embargo_send_at")
    assert "atlantis" in problem(refused.text, "regions")

    # a draft may keep a time that has passed: it is never sent
    draft = form(csrf, status="draft", publish_at=local(utc(-3600)), embargo_send_at="")
    assert (await console.client.post("/admin/releases/new", data=draft)).status_code == 303


async def test_editing_keeps_the_source_and_rewrites_the_versions(console: Console) -> None:
    imported_draft(console, "harvest", utc(86400))
    (console.newsroom.root / "releases" / "harvest" / "fr.md").write_text(
        '+++\ntitle = "Récolte"\n+++\nUne bonne récolte.\n', "utf-8"
    )
    await console.sync()
    csrf = await console.login()
    page = await console.client.get("/admin/releases/harvest/edit")
    assert page.status_code == 200
    assert 'value="Harvest"' in page.text
    assert "A good harvest." in page.text
    assert re.search(r'value="fr" checked', page.text)  # "FR" in the file is France
    assert 'FR: "France"' in unescape(page.text)  # the importer's evidence, as a hint
    assert "https://agency.example.org/news/harvest" in page.text

    fields = form(
        csrf,
        id="ignored",
        status="draft",
        embargo_send_at="",
        regions=["fr", "europe"],
        **{"en.title": "Harvest, revised", "fr.title": "", "fr.body": "", "fr.dateline": ""},
    )
    saved = await console.client.post("/admin/releases/harvest/edit", data=fields)
    assert saved.status_code == 303, saved.text
    folder = console.newsroom.root / "releases" / "harvest"
    assert not (folder / "fr.md").exists()  # every field of fr emptied: no French version
    assert not (console.newsroom.root / "releases" / "ignored").exists()
    text = (folder / "release.toml").read_text("utf-8")
    meta = tomllib.loads(text)
    assert meta["source"]["url"] == "https://agency.example.org/news/harvest"
    assert meta["regions"] == ["fr", "europe"]
    assert '#   FR: "France"' in text
    assert (await console.rt.catalog.titles())["harvest"] == "Harvest, revised"

    unknown = await console.client.get("/admin/releases/nope/edit")
    assert unknown.status_code == 404
    dots = await console.client.post("/admin/releases/..%2Fx/edit", data=fields)
    assert dots.status_code == 404


async def test_editing_keeps_the_pictures_and_documents(console: Console) -> None:
    imported_draft(console, "harvest", utc(86400))
    folder = console.newsroom.root / "releases" / "harvest"
    (folder / "media").mkdir()
    Image.new("RGB", (40, 30)).save(folder / "media" / "field.jpg")
    with (folder / "release.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[[media]]\nfile = "media/field.jpg"\nalt = { en = "A field" }\nhero = true\n'
        )
    await console.sync()
    csrf = await console.login()
    fields = form(
        csrf,
        status="ready",
        embargo_send_at="",
        **{"en.title": "Harvest, revised", "fr.title": "", "fr.body": "", "fr.dateline": ""},
    )
    saved = await console.client.post("/admin/releases/harvest/edit", data=fields)
    assert saved.status_code == 303, saved.text
    meta = tomllib.loads((folder / "release.toml").read_text("utf-8"))
    assert meta["media"] == [{"file": "media/field.jpg", "alt": {"en": "A field"}, "hero": True}]
    release = await console.rt.catalog.readable("harvest", utc())
    assert release is not None and [m.name for m in release.media] == ["field.jpg"]


async def test_a_broken_release_opens_with_its_problems_beside_the_fields(
    console: Console,
) -> None:
    imported_draft(console, "harvest", utc(86400))
    path = console.newsroom.root / "releases" / "harvest" / "release.toml"
    path.write_text(path.read_text("utf-8").replace('["FR"]', '["atlantis"]'), "utf-8")
    await console.login()
    page = await console.client.get("/admin/releases/harvest/edit")
    assert page.status_code == 200
    assert "atlantis" in problem(page.text, "regions")
    assert 'value="atlantis"' in page.text  # typed, to be corrected


async def test_a_release_whose_sending_started_cannot_be_edited(console: Console) -> None:
    console.newsroom.release("launch", publish_at=utc(-60), title="Launch")
    await run_once(console.settings)
    csrf = await console.login()
    before = (console.newsroom.root / "releases" / "launch" / "en.md").read_text("utf-8")

    page = await console.client.get("/admin/releases/launch/edit")
    assert page.status_code == 409
    assert "write a new release" in page.text
    refused = await console.client.post("/admin/releases/launch/edit", data=form(csrf))
    assert refused.status_code == 409
    approve = await console.client.post(
        "/admin/releases/launch/approve", data={"csrf": csrf, "publish_at": local(utc(3600))}
    )
    assert approve.status_code == 409
    assert (console.newsroom.root / "releases" / "launch" / "en.md").read_text("utf-8") == before
    release_page = await console.client.get("/admin/releases/launch")
    assert "/admin/releases/launch/edit" not in release_page.text


# -- the preview -------------------------------------------------------------------------


async def test_the_preview_renders_the_form_without_saving_it(console: Console) -> None:
    csrf = await console.login()
    fields = form(csrf, preview_lang="fr", view="email-embargoed")
    embargoed = await console.client.post("/admin/releases/preview", data=fields)
    assert embargoed.status_code == 200
    assert embargoed.headers["content-security-policy"].startswith("sandbox;")
    assert "script-src" not in embargoed.headers["content-security-policy"]
    assert embargoed.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Le premier paragraphe." in embargoed.text
    assert "Alex Example" in embargoed.text  # the sample journalist
    assert "embargo" in embargoed.text.lower()

    public = await console.client.post(
        "/admin/releases/preview", data=form(csrf, preview_lang="en", view="email-public")
    )
    assert "<strong>first</strong>" in public.text
    assert "Embargoed until" not in public.text

    web = await console.client.post(
        "/admin/releases/preview", data=form(csrf, preview_lang="fr", view="web")
    )
    assert web.status_code == 200
    assert "Semaine de l&#39;eau" in web.text or "Semaine de l'eau" in web.text
    assert 'lang="fr"' in web.text

    broken = await console.client.post(
        "/admin/releases/preview", data=form(csrf, view="web", **{"en.title": ""})
    )
    assert "does not load" in broken.text
    assert "en.title: required" in broken.text
    assert list((console.newsroom.root / "releases").iterdir()) == []


# -- review and import -------------------------------------------------------------------


async def test_an_imported_draft_is_listed_to_review_and_approved_in_one_step(
    console: Console,
) -> None:
    imported_draft(console, "harvest", utc(3600))
    console.newsroom.release("by-hand", publish_at=utc(3600), status="draft")
    await console.sync()
    csrf = await console.login()
    listing = await console.client.get("/admin")
    review = listing.text.split('id="review"', 1)[1].split("</table>", 1)[0]
    assert "harvest" in review and "by-hand" not in review  # imported drafts only
    assert f'value="{local(utc(3600))}"' in review  # its publish_at, to confirm or change
    folder = console.newsroom.root / "releases" / "harvest"
    before = (folder / "release.toml").read_text("utf-8")

    past = await console.client.post(
        "/admin/releases/harvest/approve", data={"csrf": csrf, "publish_at": local(utc(-60))}
    )
    assert past.status_code == 303
    assert past.headers["location"] == "/admin?error=past-time"
    assert "has passed" in (await console.client.get(past.headers["location"])).text
    assert (folder / "release.toml").read_text("utf-8") == before

    when = utc(7200).replace(second=0, microsecond=0)
    done = await console.client.post(
        "/admin/releases/harvest/approve", data={"csrf": csrf, "publish_at": local(when)}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/releases/harvest?done=approved"
    after = (folder / "release.toml").read_text("utf-8")
    meta = tomllib.loads(after)
    assert meta["status"] == "ready"
    assert meta["publish_at"] == when
    assert '#   FR: "France"' in after and "[source]" in after  # every other line kept
    rows = await console.rt.catalog.rows("harvest")
    assert rows[0].status.value == "ready"
    listing = await console.client.get("/admin")
    assert 'id="review"' not in listing.text


async def test_a_page_imported_from_the_console_opens_in_the_editor(console: Console) -> None:
    csrf = await console.login()
    assert (await console.client.get("/admin/releases/import")).status_code == 200
    with website() as site:
        url = site.page(
            "/news/wells",
            cms_page(
                lang="en",
                title="New wells for three villages",
                dateline="LAGOS",
                paragraphs=[
                    "Three villages in Nigeria have new wells since Monday.",
                    "The wells serve four thousand people.",
                ],
            ),
        )
        done = await console.client.post(
            "/admin/releases/import", data={"csrf": csrf, "url": url, "text": ""}
        )
        assert done.status_code == 303, done.text
        location = done.headers["location"]
        release_id = location.split("/")[3]
        assert location == f"/admin/releases/{release_id}/edit?done=imported"
        editor = await console.client.get(location)
        assert editor.status_code == 200
        assert "Imported as a draft" in editor.text
        assert 'id="import-notes"' in editor.text or "check" in editor.text
        assert 'value="New wells for three villages"' in editor.text
        assert re.search(r'value="ng" checked', editor.text)

        again = await console.client.post(
            "/admin/releases/import", data={"csrf": csrf, "url": url, "text": ""}
        )
        before = f"/admin/releases/{release_id}/edit?done=imported-before"
        assert again.headers["location"] == before

        missing = await console.client.post(
            "/admin/releases/import", data={"csrf": csrf, "url": site.url("/nope"), "text": ""}
        )
        assert missing.status_code == 422
        assert "Nothing was imported" in missing.text
        assert "404" in missing.text

    meta = tomllib.loads(
        (console.newsroom.root / "releases" / release_id / "release.toml").read_text("utf-8")
    )
    assert meta["status"] == "draft"
    assert meta["source"]["url"] == url
    listing = await console.client.get("/admin")
    assert f"/admin/releases/{release_id}/approve" in listing.text

    pasted = await console.client.post(
        "/admin/releases/import",
        data={
            "csrf": csrf,
            "url": "",
            "text": "Harvest is good in Kenya\n\nNAIROBI \u2013 The harvest in Kenya is good "
            "this year, the ministry said on Monday.\n\nFarmers expect more.\n",
            "language": "en",
        },
    )
    assert pasted.status_code == 303, pasted.text
    assert pasted.headers["location"].endswith("/edit?done=imported")

    neither = await console.client.post("/admin/releases/import", data={"csrf": csrf})
    assert neither.status_code == 422
    assert "Give the page" in neither.text


# -- sessions and CSRF -------------------------------------------------------------------


async def test_every_editor_route_needs_a_session_and_its_csrf_token(console: Console) -> None:
    imported_draft(console, "harvest", utc(3600))
    await console.sync()
    for path in ("/admin/releases/new", "/admin/releases/harvest/edit", "/admin/releases/import"):
        response = await console.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/admin/login"
    posts = (
        "/admin/releases/new",
        "/admin/releases/harvest/edit",
        "/admin/releases/preview",
        "/admin/releases/harvest/approve",
        "/admin/releases/import",
    )
    fields = form("forged", publish_at=local(utc(86400)), url="https://example.org/")
    for path in posts:
        assert (await console.client.post(path, data=fields)).status_code == 401, path
    await console.login()
    for path in posts:
        assert (await console.client.post(path, data=fields)).status_code == 403, path
    assert sorted(p.name for p in (console.newsroom.root / "releases").iterdir()) == ["harvest"]
    meta = tomllib.loads(
        (console.newsroom.root / "releases" / "harvest" / "release.toml").read_text("utf-8")
    )
    assert meta["status"] == "draft"


def test_the_api_and_the_editor_write_the_same_files() -> None:
    when = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    draft = drafts.Draft(
        publish_at=when,
        embargo_send_at=when - timedelta(hours=2),
        status="ready",
        original_language="en",
        regions=["world"],
        contacts=[{"name": "Mia Sol", "email": "mia@example.org"}],
        translations={"en": drafts.Version("Water week", None, "GENEVA", "Text.\n")},
    )
    files = drafts.draft_files(draft)
    assert files["release.toml"] == (
        "publish_at = 2026-12-01T10:00:00+01:00\n"
        "embargo_send_at = 2026-12-01T08:00:00+01:00\n"
        'status = "ready"\n'
        'original_language = "en"\n'
        'regions = ["world"]\n'
        "\n[[contacts]]\n"
        'name = "Mia Sol"\n'
        'email = "mia@example.org"\n'
    )
    assert files["en.md"] == '+++\ntitle = "Water week"\ndateline = "GENEVA"\n+++\nText.\n'


def test_with_status_rewrites_or_adds_only_the_status_line() -> None:
    text = 'publish_at = 2026-12-01T10:00:00+01:00  # ten\nstatus = "draft" # imported\n'
    assert writer.with_status(text, "ready") == (
        'publish_at = 2026-12-01T10:00:00+01:00  # ten\nstatus = "ready" # imported\n'
    )
    bare = "# top\r\npublish_at = 2026-12-01T10:00:00+01:00\r\n\r\n[source]\r\nstatus = 1\r\n"
    assert writer.with_status(bare, "ready") == (
        "# top\r\npublish_at = 2026-12-01T10:00:00+01:00\r\n"
        'status = "ready"\r\n\r\n[source]\r\nstatus = 1\r\n'
    )
