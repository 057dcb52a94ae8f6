"""The public newsroom in a real browser: Playwright driving Debian's chromium, headless.

The app runs as a person runs it (``pressdispatch serve``, a subprocess on a free port)
on a copy of the sample newsroom, with the real clock: ``sahel-food-security`` (French
original, English and Arabic versions) is in the past, so it is public.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``, which
``.ci/run`` installs with apt-get when it is missing. Without playwright or chromium
the test is skipped on a developer's machine; in CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.e2e

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 60.0  # seconds for `serve` to answer and sync the files, on a loaded machine
ACTION_TIMEOUT = 10_000  # milliseconds for a page to load or a locator to match

RELEASE = "sahel-food-security"
FRENCH_TITLE = (
    "Sahel : 4,7 millions de personnes menacées par la faim lors de la prochaine soudure, "
    "alerte la Northwind Relief Agency"
)
ARABIC_TITLE = (
    "الساحل: وكالة نورثويند للإغاثة تحذّر من أن 4.7 مليون شخص مهددون بالجوع في موسم العجاف المقبل"
)

# The space left and right of an element's text, inside the element's box.
TEXT_GAPS = """e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    const text = range.getBoundingClientRect(), box = e.getBoundingClientRect();
    return [text.left - box.left, box.right - text.right];
}"""

CONFIG = """\
[newsroom]
name = "Northwind Relief Agency"
base_url = "{base_url}"
default_language = "en"
timezone = "Europe/Zurich"
from = "Northwind Relief Agency Press Office <press@example.org>"
reply_to = "media@example.org"
languages = ["en", "fr", "ru", "ar", "es", "zh"]

[paths]
releases = "releases"
subscribers = "subscribers"
templates = "templates"
data = "var"

[database]
url = "sqlite:///var/pressdispatch.db"

[transport]
kind = "outbox"

[web]
host = "127.0.0.1"
port = {port}
"""


# -- the browser ------------------------------------------------------------------------


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; with CI=true the browser test must run, not be skipped")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        _missing("playwright is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# -- the newsroom, served ---------------------------------------------------------------


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask the process to stop; kill it if it has not within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    """Poll ``url`` until it answers 200; fail early if the server died."""
    while True:
        if proc.poll() is not None:
            pytest.fail(f"`pressdispatch serve` exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer 200 in {STARTUP_TIMEOUT:.0f} s:\n{_tail(log)}")
        time.sleep(0.05)


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])


@pytest.fixture
def newsroom_url(tmp_path: Path) -> Iterator[str]:
    """``pressdispatch serve`` on a copy of the sample newsroom; its base URL."""
    root = tmp_path / "newsroom"
    for name in ("releases", "subscribers", "templates"):
        shutil.copytree(ROOT / name, root / name)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = root / "config.toml"
    config.write_text(CONFIG.format(base_url=base_url, port=port), encoding="utf-8")

    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "pressdispatch", "--config", str(config)]
    command += ["serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        _wait_for(f"{base_url}/healthz", proc, log, deadline)
        # Healthy is not yet synced: wait until the files are in the store and public.
        _wait_for(f"{base_url}/releases/{RELEASE}/fr", proc, log, deadline)
        yield base_url
    finally:
        _stop(proc)


# -- the test ---------------------------------------------------------------------------


def test_french_reader_finds_the_arabic_version(
    browser: Browser, newsroom_url: str, tmp_path: Path
) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    expect.set_options(timeout=ACTION_TIMEOUT)  # a loaded 2-core CI machine needs > 5 s
    page = context.new_page()
    try:
        _walk(page, newsroom_url)
    except (AssertionError, PlaywrightError) as exc:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        raise AssertionError(f"{exc}\nat {page.url}; screenshot: {shot}") from exc
    finally:
        context.close()


def _walk(page: Page, base_url: str) -> None:
    html = page.locator("html")

    # The home page, in the browser's language.
    page.goto(f"{base_url}/")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Latest releases")).to_be_visible()

    # Switch to French with the language switcher.
    languages = page.get_by_role("navigation", name="Language")
    languages.get_by_role("link", name="Français", exact=True).click()
    expect(html).to_have_attribute("lang", "fr")
    expect(html).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", level=1, name="Derniers communiqués")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Langue").get_by_role("link", name="Français")
    ).to_have_attribute("aria-current", "true")

    # Open the release by its (French) title.
    page.get_by_role("link", name=FRENCH_TITLE, exact=True).click()
    expect(page).to_have_url(f"{base_url}/releases/{RELEASE}/fr")
    expect(html).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(FRENCH_TITLE)

    # Follow the link to the Arabic version.
    others = page.get_by_role("navigation", name="Également disponible en")
    others.get_by_role("link", name="العربية", exact=True).click()
    expect(page).to_have_url(f"{base_url}/releases/{RELEASE}/ar")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(ARABIC_TITLE)
    expect(heading).to_be_visible()
    # Laid out right to left by the browser, not just marked so: the short "Press
    # release" line above the title sits against the right edge.
    label = page.locator("main article > p.meta").first
    assert label.evaluate("e => getComputedStyle(e).direction") == "rtl"
    left, right = label.evaluate(TEXT_GAPS)
    assert right < left, f"'{label.inner_text()}' is not against the right edge ({left=}, {right=})"


def test_a_short_page_keeps_its_footer_at_the_bottom_of_the_window(
    browser: Browser, newsroom_url: str
) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    page = context.new_page()
    try:
        page.goto(f"{newsroom_url}/no-such-page")
        footer = page.locator("footer").bounding_box()
        text = page.locator("main > p").last.bounding_box()
        assert footer is not None and text is not None
        assert text["y"] + text["height"] < 600  # the page itself is short
        assert abs(footer["y"] + footer["height"] - 900) <= 1, footer
    finally:
        context.close()


def test_a_feed_opened_in_the_browser_reads_as_a_page(browser: Browser, newsroom_url: str) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1024, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    page = context.new_page()
    try:
        feed = f"{newsroom_url}/feeds/fr/all.atom"
        page.goto(feed)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("code.address")).to_have_text(feed)
        expect(page.get_by_role("link", name=FRENCH_TITLE, exact=True)).to_be_visible()
        # Served as a page, not left to the browser's XSLT (deprecated, with its banner).
        assert page.locator("xslt-warning-banner").count() == 0
        page.get_by_role("link", name=FRENCH_TITLE, exact=True).click()
        expect(page).to_have_url(f"{newsroom_url}/releases/{RELEASE}/fr")
    finally:
        context.close()
