"""The privacy statement on the subscription form and the preferences page, and the
consent the store records: when, and to which version of the statement."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urlencode

import pytest

from pressdispatch.cli.subscribers import write_csv
from pressdispatch.render.email import PREFERENCES

from .conftest import ROOT
from .dispatching import Newsroom, utc
from .test_signup import BASE, FORM, Site, confirm_url, open_site

# The store records consent the same on both databases.
pytestmark = pytest.mark.databases("sqlite", "postgresql")

STATEMENT = """\
# How we use your address

We keep **your address** and your choices, nothing else.
<script>alert(1)</script><b onclick="x()">Questions?</b> Write to privacy@example.org.
"""


def version(html: str) -> str:
    [found] = re.findall(r'<input type="hidden" name="privacy" value="([^"]+)">', html)
    return found


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.fixture
async def site(newsroom: Newsroom) -> AsyncIterator[Site]:
    """The newsroom's app, with a copy of the templates the test may add a statement to."""
    shutil.copytree(ROOT / "templates", newsroom.root / "templates")
    newsroom.write_config(paths={"templates": str(newsroom.root / "templates")})
    newsroom.release("earlier", publish_at=utc(-2 * 3600), topics=("health",))
    async for opened in open_site(newsroom):
        await opened.sync()
        yield opened


def write_statement(site: Site, lang: str, text: str) -> None:
    (site.newsroom.root / "templates" / "web" / f"privacy.{lang}.md").write_text(
        text, encoding="utf-8"
    )


async def subscribe(site: Site, email: str, fields: list[tuple[str, str]]) -> str:
    """Send the form with ``fields`` and confirm; the page the form answered."""
    form = [("lang", "fr"), ("email", email), ("languages", "fr"), *fields]
    response = await site.client.post("/subscribe", content=urlencode(form), headers=FORM)
    assert response.status_code == 200, response.text
    [mail] = site.mails(email)
    done = await site.client.post(confirm_url(mail).removeprefix(BASE))
    assert done.status_code == 200
    return response.text


async def test_the_default_statement_names_the_newsroom_and_what_is_kept(site: Site) -> None:
    html = (await site.client.get("/subscribe?lang=fr")).text
    assert '<h2 id="privacy-heading">Confidentialité</h2>' in html
    text = unescape(html)
    assert "Test Press Office conserve votre adresse électronique" in text
    assert "En vous abonnant, vous acceptez cette déclaration." in text
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", version(html))
    english = (await site.client.get("/subscribe?lang=en")).text
    assert "Test Press Office keeps your email address" in english
    assert version(english) != version(html)  # another text, another version


async def test_the_press_offices_statement_is_shown_sanitised(site: Site) -> None:
    write_statement(site, "fr", STATEMENT)
    html = (await site.client.get("/subscribe?lang=fr")).text
    assert "<h1>How we use your address</h1>" in html
    assert "<strong>your address</strong>" in html
    assert "<script>alert" not in html and "onclick" not in html
    assert version(html) == sha(STATEMENT)
    # Only the French page has it: the English one keeps the default text.
    english = (await site.client.get("/subscribe?lang=en")).text
    assert "Test Press Office keeps your email address" in english


async def test_confirming_records_the_time_and_the_version_agreed_to(site: Site) -> None:
    write_statement(site, "fr", STATEMENT)
    shown = version((await site.client.get("/subscribe?lang=fr")).text)
    site.clock.now = confirmed = utc(60)
    await subscribe(site, "ana@example.org", [("privacy", shown)])
    ana = await site.person("ana@example.org")
    assert ana is not None
    assert (ana.consent_at, ana.consent_version) == (confirmed, sha(STATEMENT))


async def test_a_statement_changed_meanwhile_stops_the_form(site: Site) -> None:
    shown = version((await site.client.get("/subscribe?lang=fr")).text)
    write_statement(site, "fr", STATEMENT)
    form = [("lang", "fr"), ("email", "bo@example.org"), ("privacy", shown)]
    response = await site.client.post("/subscribe", content=urlencode(form), headers=FORM)
    assert response.status_code == 400
    assert "La déclaration de confidentialité a changé" in unescape(response.text)
    assert version(response.text) == sha(STATEMENT)  # the new one, to read and send
    assert site.mails() == []


async def test_a_form_without_the_field_subscribes_without_consent(site: Site) -> None:
    """A script that posts the form as before: subscribed, no consent on record."""
    await subscribe(site, "cy@example.org", [])
    cy = await site.person("cy@example.org")
    assert cy is not None and cy.status == "active"
    assert (cy.consent_at, cy.consent_version) == (None, "")


async def test_saving_preferences_records_a_new_statement_once(site: Site) -> None:
    shown = version((await site.client.get("/subscribe?lang=fr")).text)
    first = utc()
    site.clock.now = first
    await subscribe(site, "di@example.org", [("privacy", shown)])
    path = f"/preferences/{site.rt.renderer.signer.sign(PREFERENCES, 'di@example.org')}"

    # The same statement: saving keeps the time of consent.
    page = (await site.client.get(path)).text
    assert version(page) == shown
    assert "En enregistrant vos choix, vous acceptez cette déclaration." in unescape(page)
    site.clock.now = first + timedelta(days=1)
    form = [("languages", "fr"), ("privacy", shown), ("action", "save")]
    saved = await site.client.post(path, content=urlencode(form), headers=FORM)
    assert saved.status_code == 200
    di = await site.person("di@example.org")
    assert di is not None and (di.consent_at, di.consent_version) == (first, shown)

    # A new statement: a page shown before it is refused, then saving records it.
    write_statement(site, "fr", STATEMENT)
    refused = await site.client.post(path, content=urlencode(form), headers=FORM)
    assert refused.status_code == 400
    assert "La déclaration de confidentialité a changé" in unescape(refused.text)
    later = first + timedelta(days=2)
    site.clock.now = later
    form = [("languages", "fr"), ("privacy", version(refused.text)), ("action", "save")]
    saved = await site.client.post(path, content=urlencode(form), headers=FORM)
    assert saved.status_code == 200
    di = await site.person("di@example.org")
    assert di is not None and (di.consent_at, di.consent_version) == (later, sha(STATEMENT))


async def test_the_press_office_sees_the_consent_on_the_console_the_api_and_the_export(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", "console password")
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", "api token")
    write_statement(site, "fr", STATEMENT)
    shown = version((await site.client.get("/subscribe?lang=fr")).text)
    site.clock.now = datetime(2026, 11, 30, 13, 5, 9, tzinfo=UTC)
    await subscribe(site, "ana@example.org", [("privacy", shown)])
    await subscribe(site, "cy@example.org", [])  # no statement sent: no consent

    # The journalist's page in the console, in the newsroom's time zone.
    login = await site.client.post("/admin/login", data={"password": "console password"})
    assert login.status_code == 303
    ana = await site.client.get("/admin/subscribers/ana@example.org")
    consent = re.search(r'<dd id="consent">(.*?)</dd>', ana.text, re.S)
    assert consent is not None
    assert " ".join(re.sub(r"<[^>]+>", "", unescape(consent.group(1))).split()) == (
        f"agreed on 2026-11-30 14:05 CET (Europe/Paris) to version {sha(STATEMENT)}"
    )
    cy = await site.client.get("/admin/subscribers/cy@example.org")
    assert '<dd id="consent">no consent on record' in cy.text

    # The API's journalist.
    auth = {"Authorization": "Bearer api token"}
    body = (await site.client.get("/api/v1/subscribers/ana@example.org", headers=auth)).json()
    assert (body["consent_at"], body["consent_version"]) == ("2026-11-30T13:05:09Z", sha(STATEMENT))
    body = (await site.client.get("/api/v1/subscribers/cy@example.org", headers=auth)).json()
    assert (body["consent_at"], body["consent_version"]) == (None, "")

    # The export's two last columns.
    stream = io.BytesIO()
    await write_csv(site.newsroom.settings(), stream)
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(stream.getvalue().decode()))}
    assert list(rows["ana@example.org"])[-2:] == ["consent_at", "consent_version"]
    assert rows["ana@example.org"]["consent_at"] == "2026-11-30T13:05:09Z"
    assert rows["ana@example.org"]["consent_version"] == sha(STATEMENT)
    assert (rows["cy@example.org"]["consent_at"], rows["cy@example.org"]["consent_version"]) == (
        "",
        "",
    )
