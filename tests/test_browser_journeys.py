"""A journalist and a press officer, end to end, in a real browser.

``pressdispatch serve`` and ``pressdispatch run --once`` run as subprocesses on a copy of
the sample newsroom, sending through a real SMTP server (aiosmtpd, in a thread); the
browser is Debian's chromium driven by Playwright, as in ``test_browser.py``.

- The journalist subscribes with the form, confirms with the link of the email the SMTP
  server received, changes their languages, receives the next release in the language
  they chose, and unsubscribes with the link of that very message.
- The press officer logs in, opens a scheduled release's progress and cancels it; a
  POST without the form's CSRF token is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ROOT, md
from .smtpd import SmtpServer, smtp_server
from .test_browser import (
    ACTION_TIMEOUT,
    CONFIG,
    STARTUP_TIMEOUT,
    _free_port,
    _stop,
    _wait_for,
    browser,  # noqa: F401 - a fixture, used by name
)

pytestmark = pytest.mark.e2e

with contextlib.suppress(ImportError):  # without playwright, the fixture skips (or fails in CI)
    from playwright.sync_api import Browser, Page, expect

PASSWORD = "correct horse battery staple"
JOURNALIST = "nadia@example.org"
RELEASE = "water-week"  # written by the test, published a minute ago: dispatched by run --once
LATER = "harvest-outlook"  # written by the test, next year: the press officer cancels it


@dataclass
class Newsroom:
    root: Path
    config: Path
    base_url: str
    server: SmtpServer

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pressdispatch", "--config", str(self.config), *args]
        return subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=120, check=False
        )

    def mails_to(self, address: str) -> list[Any]:
        return [
            message_from_bytes(m.data, policy=policy.default)
            for m in self.server.messages
            if address in m.rcpt_tos
        ]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on its own event loop thread (the browser test is synchronous)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    manager = smtp_server()
    server = asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _release(root: Path, release_id: str, publish_at: str) -> None:
    folder = root / "releases" / release_id
    folder.mkdir()
    (folder / "release.toml").write_text(
        f'publish_at = {publish_at}\noriginal_language = "en"\nregions = ["world"]\n',
        encoding="utf-8",
    )
    (folder / "en.md").write_text(md("Water week", "In English."), encoding="utf-8")
    (folder / "fr.md").write_text(md("Semaine de l'eau", "En français."), encoding="utf-8")


@pytest.fixture
def newsroom(tmp_path: Path, smtp: SmtpServer) -> Iterator[Newsroom]:
    root = tmp_path / "newsroom"
    for name in ("releases", "subscribers", "templates"):
        shutil.copytree(ROOT / name, root / name)
    _release(root, LATER, "2099-06-01T09:00:00Z")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = root / "config.toml"
    config.write_text(
        CONFIG.format(base_url=base_url, port=port).replace('kind = "outbox"', 'kind = "smtp"')
        + f'\n[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\n',
        encoding="utf-8",
    )
    log = tmp_path / "serve.log"
    env = {"PRESSDISPATCH_ADMIN_TOKEN": PASSWORD, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "pressdispatch", "--config", str(config), "serve"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        _wait_for(f"{base_url}/healthz", proc, log, deadline)
        yield Newsroom(root, config, base_url, smtp)
    finally:
        _stop(proc)


def _page(chromium: Browser) -> Page:
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(ACTION_TIMEOUT)
    expect.set_options(timeout=ACTION_TIMEOUT)
    return context.new_page()


def _status(newsroom: Newsroom, address: str) -> str:
    exported = newsroom.cli("subscribers", "export")
    assert exported.returncode == 0, exported.stderr
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(exported.stdout))}
    return rows[address]["status"]


def _wait_for_mail(newsroom: Newsroom, address: str, count: int = 1) -> list[Any]:
    deadline = time.monotonic() + 10
    while len(mails := newsroom.mails_to(address)) < count:
        assert time.monotonic() < deadline, f"no mail for {address}"
        time.sleep(0.05)
    return mails


def test_a_journalist_subscribes_confirms_chooses_french_and_unsubscribes(
    browser: Browser,  # noqa: F811 - the imported fixture
    newsroom: Newsroom,
) -> None:
    page = _page(browser)
    page.goto(f"{newsroom.base_url}/subscribe?lang=en")
    page.get_by_label("Email").fill(JOURNALIST)
    page.get_by_label("Name", exact=True).fill("Nadia <b>Haddad</b>")
    page.get_by_role("checkbox", name="English").check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    [confirmation] = _wait_for_mail(newsroom, JOURNALIST)
    link = next(
        word
        for word in confirmation.get_body(("plain",)).get_content().split()
        if "/confirm/" in word
    )
    page.goto(link)
    assert _status_or_none(newsroom, JOURNALIST) is None  # opening the link is not confirming
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("heading", name="Your subscription is confirmed")).to_be_visible()
    assert _status(newsroom, JOURNALIST) == "active"

    page.get_by_role("link", name="Manage your subscription").click()
    expect(page.get_by_text("Nadia <b>Haddad</b>")).to_be_visible()  # escaped, shown as typed
    # French first, English second: typing a position ticks the language's box.
    page.get_by_role("spinbutton", name="Position Français").fill("1")
    page.get_by_role("spinbutton", name="Position English").fill("2")
    expect(page.get_by_role("checkbox", name="Français")).to_be_checked()
    page.get_by_role("button", name="Save").click()
    # Saved, and the page now speaks the journalist's first language.
    expect(page.get_by_role("status")).to_have_text("Vos préférences sont enregistrées.")

    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    _release(newsroom.root, RELEASE, a_minute_ago.isoformat(timespec="seconds"))
    ran = newsroom.cli("run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    release_mail = [m for m in newsroom.mails_to(JOURNALIST) if m["X-PressDispatch-Release"]]
    assert [m["Content-Language"] for m in release_mail] == ["fr"]

    unsubscribe = release_mail[0]["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    page.goto(unsubscribe)
    assert _status(newsroom, JOURNALIST) == "active"  # opening the link changes nothing
    page.get_by_role("button", name="Se désabonner").click()  # her language now: French
    expect(page.get_by_role("heading", name="Votre désabonnement est enregistré")).to_be_visible()
    assert _status(newsroom, JOURNALIST) == "unsubscribed"


def _status_or_none(newsroom: Newsroom, address: str) -> str | None:
    exported = newsroom.cli("subscribers", "export")
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(exported.stdout))}
    return rows[address]["status"] if address in rows else None


def test_a_press_officer_logs_in_follows_a_release_and_cancels_it(
    browser: Browser,  # noqa: F811 - the imported fixture
    newsroom: Newsroom,
) -> None:
    page = _page(browser)
    page.goto(f"{newsroom.base_url}/admin/releases/{LATER}")
    expect(page).to_have_url(re.compile(r"/admin/login"))  # no session: the login page
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{newsroom.base_url}/admin")
    page.get_by_role("link", name=LATER).first.click()
    expect(page.get_by_role("heading", name="Progress")).to_be_visible()
    expect(page.locator("#state")).to_have_text("scheduled")

    # A forged form (the session cookie, but not the page's CSRF token) changes nothing.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert "pressdispatch_admin" in cookies
    forged = httpx.post(
        f"{newsroom.base_url}/admin/releases/{LATER}/cancel",
        headers={"Cookie": f"pressdispatch_admin={cookies['pressdispatch_admin']}"},
        data={"csrf": "forged"},
        follow_redirects=False,
        trust_env=False,
    )
    assert forged.status_code == 403
    page.reload()
    expect(page.locator("#state")).to_have_text("scheduled")

    page.get_by_role("button", name="Cancel the release").click()
    expect(page.locator("#state")).to_have_text("cancelled")
    status = newsroom.cli("status", LATER, "--json")
    assert '"cancelled"' in status.stdout
