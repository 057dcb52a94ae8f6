"""The console's tables in a real browser, on a phone and on a desktop screen.

``pressdispatch run --once`` then ``pressdispatch serve`` run as subprocesses on a copy
of the sample newsroom (its lists: names and outlets in Latin, Cyrillic and Arabic
script), with two releases of the test's own: one sent a moment ago, one scheduled.
Chromium, driven by Playwright as in ``test_browser.py``, opens the list of releases
and both release pages 390 and 1280 pixels wide, and checks that every word in a
table stays whole on one line (an address may break anywhere: it has no words), that
the page does not scroll sideways, and, on the phone, that each row is a card whose
fields carry their column's name.

The screenshots go to the test's temporary folder; with ``PRESSDISPATCH_SCREENSHOTS``
set to a folder (``docs``), there too: that is how ``docs/console-*.png`` are made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .conftest import ROOT, md
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
SENT = "water-week"  # published a minute ago: sent by run --once
LATER = "harvest-outlook"  # next year's embargoed release: scheduled
WIDTHS = (390, 1280)

# Every word of every visible table cell: broken over lines, or wider than its cell.
# Words are runs between spaces and hyphens (a browser may wrap after a hyphen);
# addresses (class "address") are left out: they may break anywhere.
BROKEN_WORDS = """() => {
    const problems = [];
    for (const cell of document.querySelectorAll("main th, main td")) {
        const box = cell.getBoundingClientRect();
        if (box.width < 2 || box.height < 2) { continue; }  // hidden: the phone's headers
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest(".address")) { continue; }
            for (const word of node.data.matchAll(/[^\\s\\-]+/g)) {
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                const lines = new Set(
                    [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))
                );
                const width = range.getBoundingClientRect().width;
                const what = `${cell.tagName} "${word[0]}"`;
                if (lines.size > 1) {
                    problems.push(`${what} is broken over ${lines.size} lines`);
                } else if (width > box.width + 1) {
                    problems.push(`${what} (${width} px) overflows its cell (${box.width} px)`);
                }
            }
        }
    }
    return problems;
}"""

# On the phone: each body cell that has a column shows its name before its value.
UNLABELLED = """() => [...document.querySelectorAll("main table.cards tbody td:not([colspan])")]
    .filter(cell => {
        const label = getComputedStyle(cell, "::before").content;
        return !cell.dataset.label || !label.includes(cell.dataset.label);
    })
    .map(cell => cell.textContent.trim())"""

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@dataclass
class Console:
    base_url: str


def _release(root: Path, release_id: str, publish_at: datetime, **more: datetime) -> None:
    folder = root / "releases" / release_id
    folder.mkdir()
    meta = [f"publish_at = {publish_at.isoformat(timespec='seconds')}"]
    meta += [f"{key} = {value.isoformat(timespec='seconds')}" for key, value in more.items()]
    meta += ['original_language = "en"', 'regions = ["world"]']
    (folder / "release.toml").write_text("\n".join(meta) + "\n", encoding="utf-8")
    for lang, title in (("en", "Water week"), ("fr", "Semaine de l'eau"), ("ru", "Неделя воды")):
        (folder / f"{lang}.md").write_text(md(title, "Text."), encoding="utf-8")


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    root = tmp_path / "newsroom"
    for name in ("releases", "subscribers", "templates"):
        shutil.copytree(ROOT / name, root / name)
    now = datetime.now(UTC)
    _release(root, SENT, now - timedelta(minutes=1))
    _release(root, LATER, now + timedelta(days=365), embargo_send_at=now + timedelta(days=364))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = root / "config.toml"
    config.write_text(CONFIG.format(base_url=base_url, port=port), encoding="utf-8")
    env = {**os.environ, "PRESSDISPATCH_ADMIN_TOKEN": PASSWORD}
    command = [sys.executable, "-m", "pressdispatch", "--config", str(config)]
    ran = subprocess.run(
        [*command, "run", "--once"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "serve"], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(f"{base_url}/healthz", proc, log, time.monotonic() + STARTUP_TIMEOUT)
        yield Console(base_url)
    finally:
        _stop(proc)


def test_tables_keep_words_whole_on_a_phone_and_a_desktop(
    browser: Browser,  # noqa: F811 - the imported fixture
    console: Console,
    tmp_path: Path,
) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    expect.set_options(timeout=ACTION_TIMEOUT)
    page = context.new_page()
    page.goto(f"{console.base_url}/admin/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Releases")).to_be_visible()

    shots = os.environ.get("PRESSDISPATCH_SCREENSHOTS", "")  # the lists' only
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path, state in (
            ("/admin", None),
            (f"/admin/releases/{SENT}", "done"),
            (f"/admin/releases/{LATER}", "scheduled"),
        ):
            page.goto(console.base_url + path)
            if state:
                expect(page.locator("#state")).to_have_text(state)
            _check(page, width)
            name = f"console-{width}.png" if path == "/admin" else f"console-{state}-{width}.png"
            page.screenshot(path=str(tmp_path / name), full_page=True)
            if path == "/admin" and shots:
                page.screenshot(path=str(Path(shots) / name), full_page=True)
    context.close()


def _check(page: Page, width: int) -> None:
    where = f"{page.url} at {width} px"
    assert page.locator("main tbody tr").count() > 0, where
    assert page.evaluate(BROKEN_WORDS) == [], where
    assert page.evaluate(SIDEWAYS) <= 0, f"{where} scrolls sideways"
    if width < 600:
        assert page.evaluate(UNLABELLED) == [], f"{where}: cells without their column's name"
