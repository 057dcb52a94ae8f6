"""The release editor, importing and approving, in a real browser.

``pressdispatch serve`` runs as a subprocess on a copy of the sample newsroom (as in
``test_browser_console.py``, whose fixture starts it); Chromium, driven by Playwright,
writes a bilingual embargoed release from scratch, imports a page from a press
office's website (tests/website.py, served by the test) and approves it, and sees a
wrong value refused beside its field.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from . import test_browser, test_browser_a11y, test_browser_console
from .test_browser import ACTION_TIMEOUT
from .test_browser_console import LATER, PASSWORD, Console
from .website import cms_page, website

with contextlib.suppress(ImportError):  # without playwright, the fixture skips (or fails in CI)
    from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

browser = test_browser.browser  # the fixtures, by name
console = test_browser_console.console
ZURICH = ZoneInfo("Europe/Zurich")  # the sample newsroom's zone


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(ZURICH):%Y-%m-%dT%H:%M}"


def _logged_in(browser: Browser, console: Console) -> Page:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    expect.set_options(timeout=ACTION_TIMEOUT)
    page = context.new_page()
    page.goto(f"{console.base_url}/admin/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Releases")).to_be_visible()
    return page


def test_a_bilingual_embargoed_release_written_from_scratch_is_planned(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    page = _logged_in(browser, console)
    page.get_by_role("link", name="New release").click()
    expect(page.get_by_role("heading", level=1, name="New release")).to_be_visible()
    now = datetime.now(UTC)
    page.get_by_label("Id (the folder's name)").fill("glacier-watch")
    page.get_by_label(re.compile(r"^Publication \(Europe/Zurich, UTC\+0[12]:00\)")).fill(
        _local(now + timedelta(days=2))
    )
    page.get_by_label(re.compile(r"^Embargoed copies")).fill(_local(now + timedelta(days=1)))
    page.get_by_label("Status").select_option("ready")
    page.get_by_label("Find a country or region").fill("switz")
    page.get_by_label("Switzerland").check()
    expect(page.get_by_label("Belarus")).to_be_hidden()  # filtered out
    page.get_by_label("Name (contact 1)").fill("Mia Sol")
    page.get_by_label("Email (contact 1)").fill("mia@example.org")
    page.get_by_role("button", name="Add a contact").click()
    page.get_by_label("Name (contact 2)").fill("Noé Berg")

    page.get_by_role("tab", name="en").click()
    page.get_by_label("Title (en)").fill("Glaciers under watch")
    page.get_by_label("Dateline (en)").fill("GENEVA")
    page.get_by_label("Body (Markdown) (en)").fill("Ten glaciers are **measured** every week.")
    page.get_by_role("tab", name="fr").click()
    expect(page.get_by_label("Title (en)")).to_be_hidden()
    page.get_by_label("Title (fr)").fill("Les glaciers sous surveillance")
    page.get_by_label("Body (Markdown) (fr)").fill("Dix glaciers sont mesurés chaque semaine.")

    # the embargoed copy, as the cleared journalists will get it; then the web page
    page.get_by_label("Language", exact=True).select_option("fr")
    page.get_by_role("button", name="Email, embargoed copy").click()
    preview = page.frame_locator("#preview")
    expect(preview.get_by_text("Les glaciers sous surveillance").first).to_be_visible()
    expect(preview.get_by_text(re.compile("embargo", re.I)).first).to_be_visible()
    page.get_by_role("button", name="Web page").click()
    expect(preview.locator("h1")).to_have_text("Les glaciers sous surveillance")
    page.screenshot(path=str(tmp_path / "editor-1280.png"), full_page=True)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("glacier-watch: Glaciers under watch")
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("#state")).to_have_text("scheduled")
    plan = page.locator("table", has=page.get_by_role("columnheader", name="Copy"))
    embargoed = plan.locator("tbody tr", has_text="embargoed")
    expect(embargoed.first).to_be_visible()
    count = int(embargoed.first.locator("td").last.inner_text())
    assert count > 0, "nobody cleared for the embargo matches"
    page.context.close()


def test_a_page_imported_from_the_website_is_reviewed_and_approved(
    browser: Browser, console: Console
) -> None:
    page = _logged_in(browser, console)
    with website() as site:
        url = site.page(
            "/news/new-wells",
            cms_page(
                lang="en",
                title="New wells for three villages in Chad",
                dateline="N'DJAMENA",
                paragraphs=[
                    "Three villages in Chad have new wells since Monday, the agency said.",
                    "The wells serve four thousand people and two schools.",
                ],
            ),
        )
        page.get_by_role("link", name="Import a release").click()
        page.get_by_label("Address (https://…)").fill(url)
        page.get_by_role("button", name="Import as a draft").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Edit ")
    expect(page.get_by_role("status").first).to_contain_text("Imported as a draft")
    expect(page.get_by_label("Title (en)")).to_have_value("New wells for three villages in Chad")
    expect(page.get_by_label("Chad")).to_be_checked()
    release_id = page.get_by_label("Id (the folder's name)").input_value()

    page.goto(f"{console.base_url}/admin")
    row = page.locator("#review tbody tr", has_text=release_id)
    expect(row).to_contain_text(url)
    when = page.get_by_label(f"Publication of {release_id}")
    assert when.input_value(), "the draft's publication time is offered"
    when.fill(_local(datetime.now(UTC) + timedelta(hours=3)))
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    expect(page.locator("#state")).to_have_text("scheduled")
    page.goto(f"{console.base_url}/admin")
    expect(page.locator("#review")).to_have_count(0)
    page.context.close()


def test_a_wrong_value_is_shown_beside_its_field(browser: Browser, console: Console) -> None:
    page = _logged_in(browser, console)
    page.goto(f"{console.base_url}/admin/releases/new")
    now = datetime.now(UTC)
    page.get_by_label("Id (the folder's name)").fill("too-late")
    page.get_by_label(re.compile(r"^Publication")).fill(_local(now + timedelta(days=1)))
    page.get_by_label(re.compile(r"^Embargoed copies")).fill(_local(now + timedelta(days=2)))
    page.get_by_role("tab", name="fr").click()
    page.get_by_label("Body (Markdown) (fr)").fill("Un texte sans titre.")
    page.get_by_label("Original language").select_option("fr")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert").first).to_contain_text("Not saved")
    embargo = page.get_by_label(re.compile(r"^Embargoed copies"))
    expect(embargo).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-embargo_send_at")).to_contain_text("must be earlier than publish_at")
    # the fr tab, where the missing title is, opens by itself
    expect(page.get_by_label("Title (fr)")).to_be_visible()
    expect(page.locator("#e-fr-title")).to_contain_text("required")
    expect(page.get_by_label("Body (Markdown) (fr)")).to_have_value("Un texte sans titre.")
    page.goto(f"{console.base_url}/admin/releases/too-late")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")  # nothing written
    page.context.close()


def test_a_photo_is_added_beside_the_text_refused_without_alt_text_and_removed(
    browser: Browser, console: Console, tmp_path: Path
) -> None:
    photo = tmp_path / "Glacier front.jpg"
    Image.new("RGB", (1600, 900), (120, 160, 200)).save(photo, "JPEG")
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as handle:  # over the default 25 MiB: refused before it is sent
        handle.write(b"%PDF-1.7\n")
        handle.truncate(26 * 1024 * 1024)
    page = _logged_in(browser, console)
    page.goto(f"{console.base_url}/admin/releases/{LATER}/edit")
    section = page.locator("#media")
    expect(section.get_by_role("heading", name="Photos and documents")).to_be_visible()
    expect(section).to_contain_text("No photos or documents yet.")

    page.get_by_label(re.compile(r"^Alt text \(en\)")).fill("The glacier's front, seen from a boat")
    page.get_by_label(re.compile(r"^Caption \(fr\)")).fill("Le front du glacier")
    page.get_by_label(re.compile(r"^File")).set_input_files(huge)
    page.get_by_role("button", name="Add the file").click()
    expect(page.locator("#me-file-size")).to_contain_text("larger than 25 MiB")
    expect(page.get_by_label(re.compile(r"^File"))).to_have_attribute("aria-invalid", "true")

    page.get_by_label(re.compile(r"^File")).set_input_files(photo)
    page.get_by_role("button", name="Add the file").click()
    expect(page.locator("#media-refused")).to_contain_text("Not added")
    expect(page.locator("#me-alt")).to_contain_text("no alt text in fr, ru")
    expect(page.get_by_label(re.compile(r"^Alt text \(en\)"))).to_have_value(
        "The glacier's front, seen from a boat"
    )
    expect(page.get_by_label(re.compile(r"^Caption \(fr\)"))).to_have_value("Le front du glacier")
    expect(page.get_by_label(re.compile(r"^Alt text \(fr\)"))).to_have_attribute(
        "aria-invalid", "true"
    )

    page.get_by_label(re.compile(r"^Alt text \(fr\)")).fill("Le front du glacier, vu d'un bateau")
    page.get_by_label(re.compile(r"^Alt text \(ru\)")).fill("Край ледника")
    page.get_by_label(re.compile(r"The hero")).check()
    page.get_by_label(re.compile(r"^File")).set_input_files(photo)
    page.get_by_role("button", name="Add the file").click()
    expect(page.get_by_role("status")).to_contain_text("Added")
    row = page.locator("#media-list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Glacier front.jpg")
    expect(row).to_contain_text("JPEG")
    expect(row).to_contain_text("Край ледника")
    thumbnail = row.locator("img")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert thumbnail.evaluate("img => img.naturalWidth") == 600
    with test_browser_a11y.browsing(browser, "en") as context:  # the list and the form, audited
        audited = context.new_page()
        audited.goto(f"{console.base_url}/admin/login")
        audited.get_by_label("Password").fill(PASSWORD)
        audited.get_by_role("button", name="Log in").click()
        audited.wait_for_url(f"{console.base_url}/admin")
        audited.goto(f"{console.base_url}/admin/releases/{LATER}/edit")
        expect(audited.locator("#media-list img")).to_be_visible()
        test_browser_a11y.assert_no_violations(audited, "en")

    row.get_by_role("link", name="Remove Glacier front.jpg").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Glacier front.jpg?")
    page.get_by_role("button", name="Remove Glacier front.jpg").click()
    expect(page.get_by_role("status")).to_contain_text("Removed")
    expect(page.locator("#media")).to_contain_text("No photos or documents yet.")
    page.context.close()
