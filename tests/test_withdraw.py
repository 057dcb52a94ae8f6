"""Cancel and withdraw are two acts: cancel stops what is unsent and never unpublishes;
withdraw takes a published release off the newsroom (410 Gone with the reason, out of
the feeds and lists) and, with --notify, sends one notice to each journalist who got it.

The command line through typer's CliRunner (SQLite and PostgreSQL, the outbox
transport); the pages, feeds, API and console over the ASGI app through httpx.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import feedparser
import httpx
import pytest
from typer.testing import CliRunner, Result

from pressdispatch import actions, pipeline
from pressdispatch.cli import app as cli_app
from pressdispatch.render.i18n import format_datetime
from pressdispatch.runtime import Runtime
from pressdispatch.web.app import create_app

from .dispatching import Clock, Newsroom, make_newsroom, run_once, runtime, sqlite_url, utc

runner = CliRunner()
PEOPLE = [
    "ana@example.org,Ana,fr,,,no",
    "ben@example.org,Ben,en,,,no",
    "chen@example.org,Chen,zh en,,,no",
]
REASON = "The figures in the second paragraph were wrong."


def cli(newsroom: Newsroom, *args: str, code: int = 0, given: str | None = None) -> Result:
    result = runner.invoke(
        cli_app, ["--config", str(newsroom.root / "config.toml"), *args], input=given
    )
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"{args}: uncaught {result.exception!r}\n{result.output}"
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.output}"
    return result


def messages(newsroom: Newsroom, release_id: str) -> list[EmailMessage]:
    folder = newsroom.root / "var" / "outbox" / release_id
    found = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]
    return [m for m in found if isinstance(m, EmailMessage)]


def notices(newsroom: Newsroom, release_id: str) -> list[EmailMessage]:
    """The withdrawal notices: their Message-IDs are not the release's."""
    mark = f"<{release_id}.withdrawn."
    return [m for m in messages(newsroom, release_id) if str(m["Message-ID"]).startswith(mark)]


def state_of(newsroom: Newsroom, release_id: str) -> str:
    out = cli(newsroom, "status", release_id, "--json").stdout
    found = re.search(r'"state": "(\w+)"', out)
    assert found, out
    return found.group(1)


# -- the command line, on both databases -------------------------------------------------


@pytest.mark.databases("sqlite", "postgresql")
def test_cancel_refuses_a_release_gone_out_in_full_and_withdraw_notifies_once(
    newsroom: Newsroom,
) -> None:
    newsroom.release("andes", publish_at=utc(-60), languages=("en", "fr"))
    newsroom.subscribers("press", PEOPLE)
    cli(newsroom, "run", "--once")
    assert len(messages(newsroom, "andes")) == 3  # Ana in French, Ben and Chen in English
    assert state_of(newsroom, "andes") == "done"

    refused = cli(newsroom, "cancel", "andes", code=1)
    assert "andes has gone out in full: nothing to cancel" in refused.stderr
    assert 'pressdispatch withdraw andes --reason "..."' in " ".join(refused.stderr.split())
    assert state_of(newsroom, "andes") == "done"

    asked = cli(newsroom, "withdraw", "andes", "--reason", REASON, code=1, given="n\n")
    assert "Withdraw andes from the newsroom? [y/N]" in asked.stdout
    assert "Not withdrawn: nothing changed." in asked.stdout
    assert state_of(newsroom, "andes") == "done"

    done = cli(newsroom, "withdraw", "andes", "--reason", REASON, "--yes", "--notify")
    assert done.stdout.startswith(
        "andes: withdrawn from the newsroom; 0 pending deliveries stopped; "
        "3 withdrawal notices queued"
    )
    assert state_of(newsroom, "andes") == "withdrawn"
    cli(newsroom, "run", "--once")
    sent = notices(newsroom, "andes")
    assert Counter(m["To"].addresses[0].addr_spec for m in sent) == Counter(
        {"ana@example.org": 1, "ben@example.org": 1, "chen@example.org": 1}
    )
    french = next(m for m in sent if m["To"].addresses[0].addr_spec == "ana@example.org")
    assert french["Subject"] == "Retiré\u00a0: Title (fr)"
    assert french["Content-Language"] == "fr"
    assert french["List-Unsubscribe"].startswith("<https://press.example.org/unsubscribe/")
    body = french.get_body(("plain",))
    assert body is not None
    assert REASON in body.get_content()
    assert "a retiré ce communiqué le" in body.get_content()

    # A second run, and a second withdraw, send nothing more.
    cli(newsroom, "run", "--once")
    assert len(notices(newsroom, "andes")) == 3
    again = cli(newsroom, "withdraw", "andes", "--reason", "again", "--yes", "--notify", code=1)
    assert "andes was withdrawn already, on " in again.stderr
    assert REASON in " ".join(again.stderr.split())
    assert len(messages(newsroom, "andes")) == 6  # three copies, three notices
    assert "andes has gone out" not in cli(newsroom, "cancel", "andes", code=1).stderr


@pytest.mark.databases("sqlite", "postgresql")
def test_withdraw_refuses_what_is_not_on_the_newsroom(newsroom: Newsroom) -> None:
    newsroom.release("later", publish_at=utc(3600))
    newsroom.release("draft", publish_at=utc(-60), status="draft")
    cli(newsroom, "status")  # syncs the files
    for release_id, state in (("later", "scheduled"), ("draft", "draft")):
        refused = cli(newsroom, "withdraw", release_id, "--reason", "x", "--yes", code=1)
        said = " ".join(refused.stderr.split())
        assert f"{release_id} is {state}: it is not on the newsroom" in said
        assert f"pressdispatch cancel {release_id}" in said
    assert "no release 'nope'" in cli(newsroom, "withdraw", "nope", "--reason", "x", code=1).stderr
    assert "say why" in cli(newsroom, "withdraw", "later", "--reason", "  ", code=1).stderr


# -- the pages and feeds -------------------------------------------------------------------


@dataclass
class Site:
    newsroom: Newsroom
    clock: Clock
    rt: Runtime
    client: httpx.AsyncClient

    async def sync(self) -> None:
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, self.clock(), report)
        assert not report.problems, report.problems

    def later(self, seconds: float = 10) -> None:
        """Past the public view's refresh: pages show what the store holds now."""
        self.clock.now += timedelta(seconds=seconds)


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", "s3cret-api-token")
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", "correct horse battery staple")
    newsroom = make_newsroom(tmp_path, sqlite_url(tmp_path))
    newsroom.subscribers("press", PEOPLE)
    clock = Clock(utc())
    async with runtime(newsroom.settings()) as rt:
        app = create_app(rt, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Site(newsroom, clock, rt, client)


def entries(feed: bytes) -> list[str]:
    """The release ids of a feed's entries, in order."""
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.link.split("/")[-2] for entry in parsed.entries]


async def test_a_withdrawn_release_answers_410_in_each_language_and_leaves_the_feeds(
    site: Site,
) -> None:
    site.newsroom.release("andes", publish_at=utc(-3600), title="Andes")
    site.newsroom.release("sahel", publish_at=utc(-7200), title="Sahel")
    await site.sync()
    assert (await site.client.get("/releases/andes/en")).status_code == 200
    before = await site.client.get("/feeds/en/all.atom")
    assert entries(before.content) == ["andes", "sahel"]

    done = await actions.withdraw(site.rt, "andes", REASON, site.clock(), notify=False)
    assert (done.stopped, done.notices) == (0, 0)
    site.later()

    page = await site.client.get("/releases/andes/en")
    assert page.status_code == 410
    text = unescape(page.text)
    withdrawn = site.clock.now - timedelta(seconds=10)
    assert "Release withdrawn" in text and REASON in text
    assert format_datetime(withdrawn, "en", "Europe/Paris") in text
    assert "Test Press Office withdrew this press release on" in text

    french = await site.client.get("/releases/andes/fr")
    assert french.status_code == 410
    assert french.headers["content-language"] == "fr"
    assert "Communiqué retiré" in unescape(french.text)
    assert format_datetime(withdrawn, "fr", "Europe/Paris") in unescape(french.text)
    assert (await site.client.get("/releases/andes")).status_code == 410

    after = await site.client.get("/feeds/en/all.atom")
    assert entries(after.content) == ["sahel"]
    assert after.headers["etag"] != before.headers["etag"]
    home = await site.client.get("/")
    assert "/releases/andes/" not in home.text and "/releases/sahel/" in home.text
    assert (await site.client.get("/releases/nothing/en")).status_code == 404


async def test_cancel_while_sending_stops_the_rest_and_the_page_stays_up(site: Site) -> None:
    site.newsroom.release("andes", publish_at=utc(-60), title="Andes")
    await pipeline.tick(site.rt, site.clock())  # queued, none sent yet: sending
    stopped = await actions.cancel(site.rt, "andes", site.clock())
    assert stopped == 3
    site.later()
    assert (await site.client.get("/releases/andes/en")).status_code == 200
    feed = await site.client.get("/feeds/en/all.atom")
    assert entries(feed.content) == ["andes"]
    _, stats = await asyncio.to_thread(
        asyncio.run, run_once(site.newsroom.settings(), now=site.clock())
    )
    assert stats.outcomes == Counter()


async def test_cancel_never_unpublishes_but_a_release_cancelled_in_time_stays_off(
    site: Site,
) -> None:
    # Its time has passed (nothing sent yet): it is on the newsroom, and stays there.
    site.newsroom.release("andes", publish_at=utc(-60), title="Andes")
    # Cancelled before its time: it is never published.
    site.newsroom.release("later", publish_at=utc(5), title="Later")
    await site.sync()
    await actions.cancel(site.rt, "andes", site.clock())
    await actions.cancel(site.rt, "later", site.clock())
    site.later(30)
    assert (await site.client.get("/releases/andes/en")).status_code == 200
    assert (await site.client.get("/releases/later/en")).status_code == 404


# -- the API and the console ---------------------------------------------------------------

AUTH = {"Authorization": "Bearer s3cret-api-token"}


async def test_api_withdraw_and_cancel_refusals(site: Site) -> None:
    site.newsroom.release("andes", publish_at=utc(-60), title="Andes")
    site.newsroom.release("later", publish_at=utc(3600), title="Later")
    await site.sync()
    url = "/api/v1/releases/{}/withdraw"
    later = await site.client.post(url.format("later"), json={"reason": "x"}, headers=AUTH)
    assert later.status_code == 409
    assert "later is scheduled: it is not on the newsroom" in later.json()["detail"]
    empty = await site.client.post(url.format("andes"), json={"reason": " "}, headers=AUTH)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "reason"

    done = await site.client.post(
        url.format("andes"), json={"reason": REASON, "notify": True}, headers=AUTH
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"id": "andes", "state": "withdrawn", "stopped": 0, "notices": 0}
    page = await site.client.get("/releases/andes/en")  # at once: no wait for a refresh
    assert page.status_code == 410 and REASON in unescape(page.text)
    status = await site.client.get("/api/v1/releases/andes/status", headers=AUTH)
    assert status.json()["state"] == "withdrawn"

    again = await site.client.post(url.format("andes"), json={"reason": "x"}, headers=AUTH)
    assert again.status_code == 409
    assert "withdrawn already" in again.json()["detail"]
    cancel = await site.client.post("/api/v1/releases/andes/cancel", headers=AUTH)
    assert cancel.status_code == 409
    missing = await site.client.post(url.format("nope"), json={"reason": "x"}, headers=AUTH)
    assert missing.status_code == 404
    schema = (await site.client.get("/api/v1/openapi.json", headers=AUTH)).json()
    assert "/releases/{release_id}/withdraw" in str(schema["paths"])


async def test_console_withdraw_through_the_form(site: Site) -> None:
    site.newsroom.release("andes", publish_at=utc(-60), title="Andes")
    site.newsroom.release("later", publish_at=utc(3600), title="Later")
    await site.sync()
    client = site.client
    login = await client.post("/admin/login", data={"password": "correct horse battery staple"})
    assert login.status_code == 303, login.text
    later = await client.get("/admin/releases/later")
    assert 'action="/admin/releases/later/withdraw"' not in later.text
    page = await client.get("/admin/releases/andes")
    assert 'action="/admin/releases/andes/withdraw"' in page.text
    csrf = unescape(re.findall(r'name="csrf" value="([^"]+)"', page.text)[0])

    forged = await client.post(
        "/admin/releases/andes/withdraw", data={"csrf": "forged", "reason": REASON}
    )
    assert forged.status_code == 403
    assert (await client.get("/releases/andes/en")).status_code == 200

    done = await client.post(
        "/admin/releases/andes/withdraw", data={"csrf": csrf, "reason": REASON}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/releases/andes?done=withdrawn&n=0"
    after = await client.get(done.headers["location"])
    assert 'id="state">withdrawn<' in after.text
    buttons = re.findall(r"<button[^>]*>([^<]*)</button>", after.text.split("actions-heading")[1])
    assert [b.strip() for b in buttons] == ["Send a test"]
    assert (await client.get("/releases/andes/en")).status_code == 410
