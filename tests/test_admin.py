"""The press office console at /admin, through the ASGI app over a real store.

Messages go to a real SMTP server (aiosmtpd, tests/smtpd.py): the dispatches of
``run_once`` and the console's test copies alike. The store is SQLite: the store, engine
and pipeline tests cover PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pressdispatch import pipeline
from pressdispatch.config import Settings
from pressdispatch.content.subscribers import COLUMNS
from pressdispatch.dispatch.smtp import SmtpTransport
from pressdispatch.runtime import Runtime
from pressdispatch.web.admin.common import local_time
from pressdispatch.web.app import create_app

from .dispatching import Clock, Newsroom, database_url, make_newsroom, run_once, runtime, utc
from .smtpd import Fault, SmtpServer, smtp_server

PASSWORD = "correct horse battery staple"
VARIABLE = "PRESSDISPATCH_ADMIN_TOKEN"
HEADER = "email,name,outlet,languages,regions,topics,embargo"
PEOPLE = [
    "ana@example.org,Ana Lima,Diário Sul,fr en,,,no",
    "ben@example.org,Ben Ode,Lagos Ledger,en,africa,,no",
    "chen@example.org,Chen Wei,Eastern Horizon,en,,,yes",
]
PREVIEW_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
HOUR = timedelta(hours=1)


@dataclass
class Console:
    newsroom: Newsroom
    settings: Settings
    rt: Runtime
    app: FastAPI
    clock: Clock
    server: SmtpServer
    client: httpx.AsyncClient  # not logged in until ``login``

    def client_for(
        self, base_url: str = "http://testserver", host: str = "127.0.0.1"
    ) -> httpx.AsyncClient:
        return client_for(self.app, base_url, host)

    async def login(self, client: httpx.AsyncClient | None = None) -> str:
        """Log in; the CSRF token of the new session."""
        client = client or self.client
        response = await client.post("/admin/login", data={"password": PASSWORD})
        assert response.status_code == 303, response.text
        return csrf_of((await client.get("/admin")).text)

    async def sync(self) -> None:
        report = pipeline.TickReport()
        await pipeline.sync_files(self.rt, utc(), report)
        assert not report.problems, report.problems

    async def status(self, email: str) -> str | None:
        found = await self.rt.journalists.find(email)
        return None if found is None else found.status

    async def cancelled(self, release_id: str) -> bool:
        rows = await self.rt.catalog.rows(release_id)
        return rows[0].cancelled_at is not None


def client_for(
    app: FastAPI, base_url: str = "http://testserver", host: str = "127.0.0.1"
) -> httpx.AsyncClient:
    """A browser on ``host``, talking to the app in-process."""
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return unescape(match.group(1))


def buttons_of(html: str) -> dict[str, str]:
    """The release page's actions: each button's text → "enabled" or "disabled: <why>"."""
    section = html.split('<h2 id="actions-heading">', 1)[1]
    found = {}
    for attributes, text in re.findall(r"<button([^>]*)>([^<]*)</button>", section):
        if "disabled" not in attributes:
            found[text.strip()] = "enabled"
            continue
        why = re.search(r'aria-describedby="([^"]+)"', attributes)
        assert why, f"{text!r} is disabled without a reason"
        reason = re.search(rf'id="{why.group(1)}"[^>]*>(.*?)</', section, re.S)
        assert reason, f"no element {why.group(1)!r}"
        found[text.strip()] = "disabled: " + " ".join(unescape(reason.group(1)).split())
    return found


def rows_of(html: str) -> list[list[str]]:
    """The cells of every body row of every table, as text."""
    rows = []
    for body in re.findall(r"<tbody[^>]*>(.*?)</tbody>", html, re.S):
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            rows.append([unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in cells])
    return [[" ".join(words) for words in row] for row in rows]


@pytest.fixture
async def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    monkeypatch.setenv(VARIABLE, PASSWORD)
    urls = database_url("sqlite", tmp_path)
    newsroom = make_newsroom(tmp_path, next(urls))
    async with smtp_server() as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": server.host, "port": server.port, "security": "none", "timeout": "5s"},
        )
        newsroom.subscribers("press", PEOPLE, header=HEADER)
        settings = newsroom.settings()
        clock = Clock(utc())
        async with runtime(settings) as rt:
            app = create_app(rt, clock=clock)
            async with app.router.lifespan_context(app), client_for(app) as client:
                yield Console(newsroom, settings, rt, app, clock, server, client)
    for _ in urls:  # drop the throwaway database
        pass


# -- logging in ------------------------------------------------------------------------


async def test_login_refuses_a_wrong_password_and_sets_a_strict_cookie(console: Console) -> None:
    form = await console.client.get("/admin/login")
    assert form.status_code == 200
    assert 'type="password"' in form.text
    assert form.headers["cache-control"] == "no-store"
    assert form.headers["x-frame-options"] == "DENY"
    assert form.headers["referrer-policy"] == "same-origin"

    wrong = await console.client.post("/admin/login", data={"password": "guess"})
    assert wrong.status_code == 403
    assert "Wrong password" in wrong.text
    assert "set-cookie" not in wrong.headers
    assert (await console.client.get("/admin")).status_code == 303

    async with console.client_for("https://testserver") as secure:
        right = await secure.post("/admin/login", data={"password": PASSWORD})
        assert right.status_code == 303
        assert right.headers["location"] == "/admin"
        cookie = right.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith("pressdispatch_admin=")
        assert {"httponly", "secure", "path", "max-age"} <= attributes
        assert re.search(r"samesite=strict", cookie, re.I)
        assert "Path=/admin" in cookie
        listing = await secure.get("/admin")
        assert listing.status_code == 200
        assert "Log out" in listing.text

    plain = await console.client.post("/admin/login", data={"password": PASSWORD})
    cookie = plain.headers["set-cookie"]
    assert "secure" not in cookie.lower()  # over http the browser would drop a Secure cookie
    assert re.search(r"samesite=strict", cookie, re.I)
    assert "httponly" in cookie.lower()


async def test_an_unset_password_variable_refuses_every_login_and_session(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    await console.login()
    monkeypatch.delenv(VARIABLE)
    assert (await console.client.get("/admin")).headers["location"] == "/admin/login"
    page = await console.client.get("/admin/login")
    assert VARIABLE in page.text
    refused = await console.client.post("/admin/login", data={"password": PASSWORD})
    assert refused.status_code == 403
    assert VARIABLE in refused.text
    assert "set-cookie" not in refused.headers
    refused = await console.client.post("/admin/login", data={"password": ""})
    assert refused.status_code == 403


async def test_logout_ends_the_session_even_for_a_copy_of_the_cookie(console: Console) -> None:
    csrf = await console.login()
    cookie = console.client.cookies["pressdispatch_admin"]
    out = await console.client.post("/admin/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/admin/login?done=logged-out"
    assert 'pressdispatch_admin=""' in out.headers["set-cookie"]
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert "You are logged out." in (await console.client.get(out.headers["location"])).text
    assert (await console.client.get("/admin")).status_code == 303
    async with console.client_for() as replay:
        replay.cookies.set("pressdispatch_admin", cookie, domain="testserver.local", path="/admin")
        response = await replay.get("/admin")
        assert response.status_code == 303


async def test_sessions_expire_after_12_hours_and_when_the_password_changes(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    await console.login()
    console.clock.now += 11 * HOUR
    assert (await console.client.get("/admin")).status_code == 200
    console.clock.now += 2 * HOUR
    assert (await console.client.get("/admin")).status_code == 303

    console.clock.now += HOUR
    await console.login()
    monkeypatch.setenv(VARIABLE, "a new password")
    assert (await console.client.get("/admin")).status_code == 303


async def test_repeated_failures_from_one_client_are_refused_for_a_while(
    console: Console,
) -> None:
    for _ in range(5):
        assert (
            await console.client.post("/admin/login", data={"password": "x"})
        ).status_code == 403
    blocked = await console.client.post("/admin/login", data={"password": PASSWORD})
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers
    assert "set-cookie" not in blocked.headers
    async with console.client_for(host="192.0.2.7") as other:  # another client is not held up
        assert (await other.post("/admin/login", data={"password": PASSWORD})).status_code == 303


# -- every route needs a session; every action needs its CSRF token ----------------------


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) under /admin the app serves, from its OpenAPI description."""
    with warnings.catch_warnings():  # other modules' GET+HEAD routes share operation ids
        warnings.simplefilter("ignore")
        paths = app.openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/admin") and path != "/admin/login"
        for method in operations
    )


async def test_every_admin_route_without_a_session_redirects_or_refuses(console: Console) -> None:
    console.newsroom.release("launch", publish_at=utc(3600))
    await console.sync()
    routes = admin_routes(console.app)
    paths = {path for _, path in routes}
    assert {
        "/admin",
        "/admin/logout",
        "/admin/releases/{release_id}",
        "/admin/releases/{release_id}/progress.json",
        "/admin/releases/{release_id}/send",
        "/admin/releases/{release_id}/cancel",
        "/admin/releases/{release_id}/retry",
        "/admin/releases/{release_id}/test",
        "/admin/releases/{release_id}/preview/{lang}",
        "/admin/releases/new",
        "/admin/releases/{release_id}/edit",
        "/admin/releases/{release_id}/approve",
        "/admin/releases/{release_id}/media",
        "/admin/releases/{release_id}/media/{name}",
        "/admin/releases/{release_id}/media/{name}/600.jpg",
        "/admin/releases/{release_id}/media/{name}/remove",
        "/admin/releases/preview",
        "/admin/releases/import",
        "/admin/subscribers",
        "/admin/subscribers/{email}",
        "/admin/subscribers/{email}/suppress",
        "/admin/subscribers/{email}/reactivate",
        "/admin/subscribers/{email}/lift",
        "/admin/bounces",
        "/admin/bounces/{return_id}/message",
        "/admin/import",
        "/admin/import/sample.csv",
        "/admin/imports/{import_id}",
        "/admin/imports/{import_id}/progress.json",
    } <= paths
    values = {
        "release_id": "launch",
        "lang": "en",
        "email": "ana@example.org",
        "import_id": "1",
        "return_id": "1",
        "name": "photo.jpg",
    }
    form = {"to": "x@example.org", "list": "press", "csrf": "forged", "replace": "1"}
    for method, path in routes:
        url = path.format(**values)
        if method == "GET":
            response = await console.client.get(url)
            if path.endswith(".json"):
                assert response.status_code == 401, path
            else:
                assert response.status_code == 303, path
                assert response.headers["location"] == "/admin/login"
        else:
            response = await console.client.post(
                url, data=form, files={"file": ("press.csv", b"email\nnew@example.org\n")}
            )
            assert response.status_code in (401, 403), (method, path)
        assert response.headers["cache-control"] == "no-store", path

    rows = (await console.rt.catalog.rows("launch"))[0]
    assert rows.cancelled_at is None
    assert rows.send_requested_at is None
    assert await console.status("ana@example.org") == "active"
    assert console.server.messages == []
    assert (console.newsroom.root / "subscribers" / "press.csv").read_text().count("\n") == 4
    assert not (console.newsroom.root / "subscribers" / ".imports").exists()  # nothing stored

    # a forged or tampered cookie is no session either
    console.client.cookies.set("pressdispatch_admin", "e30.0.AAAA", domain="testserver.local")
    assert (await console.client.get("/admin")).status_code == 303


async def test_a_post_without_the_right_csrf_token_is_refused_and_does_nothing(
    console: Console,
) -> None:
    console.newsroom.release("launch", publish_at=utc(3600))
    await console.sync()
    await console.login()
    async with console.client_for() as other:
        foreign = await console.login(other)  # valid, but for another session

    for fields in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": "é"}, {"csrf": foreign}):
        cancel = await console.client.post("/admin/releases/launch/cancel", data=fields)
        assert cancel.status_code == 403
        suppress = await console.client.post(
            "/admin/subscribers/ana@example.org/suppress", data=fields
        )
        assert suppress.status_code == 403
        send = await console.client.post(
            "/admin/releases/launch/test", data={**fields, "to": "x@example.org"}
        )
        assert send.status_code == 403
    assert not await console.cancelled("launch")
    assert await console.status("ana@example.org") == "active"
    assert console.server.messages == []


# -- releases ----------------------------------------------------------------------------


async def test_the_list_and_the_release_page_show_counts_by_language(console: Console) -> None:
    console.newsroom.release("launch", publish_at=utc(-60), title="Launch")
    console.newsroom.release("later", publish_at=utc(86400), status="draft")
    await run_once(console.settings)
    await console.login()

    listing = await console.client.get("/admin")
    assert listing.status_code == 200
    assert "Europe/Paris" in listing.text
    rows = {row[0].split()[0]: row for row in rows_of(listing.text)}
    assert rows["launch"][1] == "done"
    assert rows["launch"][4:] == ["3", "0", "0"]  # sent, queued, failed
    assert rows["later"][1] == "draft"
    assert rows["launch"][3].endswith("(Europe/Paris)")

    page = await console.client.get("/admin/releases/launch")
    assert page.status_code == 200
    # done: nothing to start, retry or stop (only to withdraw); a test copy is always possible
    assert buttons_of(page.text) == {"Withdraw the release": "enabled", "Send a test": "enabled"}
    for lever in ("send", "retry", "cancel"):
        assert f'action="/admin/releases/launch/{lever}"' not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    table = rows_of(page.text)
    # language, sent, queued, deferred, failed, cancelled
    assert ["en", "2", "0", "0", "0", "0"] in table
    assert ["fr", "1", "0", "0", "0", "0"] in table
    assert ["en", "public", "2"] in table  # the plan
    assert ["fr", "public", "1"] in table

    progress = (await console.client.get("/admin/releases/launch/progress.json")).json()
    assert progress["state"] == "done"
    assert progress["by_language"]["en"]["sent"] == 2
    assert progress["by_language"]["fr"]["sent"] == 1
    missing = await console.client.get("/admin/releases/nope")
    assert missing.status_code == 404


async def test_a_stopped_transport_is_shown_until_a_message_goes_through(
    console: Console,
) -> None:
    console.newsroom.release("launch", publish_at=utc(-60), title="Launch")
    smtp = console.settings.smtp.model_copy(update={"security": "starttls"})
    strict = SmtpTransport(smtp, None)  # the test server offers no STARTTLS
    await run_once(console.settings, transport=strict)
    await strict.close()
    await console.login()
    for path in ("/admin", "/admin/releases/launch"):
        html = (await console.client.get(path)).text
        assert "Sending is stopped" in html, path
        assert "does not offer STARTTLS" in html, path
    rows = {row[0].split()[0]: row for row in rows_of((await console.client.get("/admin")).text)}
    assert rows["launch"][4:] == ["0", "3", "0"]  # sent, queued, failed: nobody's copy spent

    await run_once(console.settings)  # as configured: no TLS on this test relay
    html = (await console.client.get("/admin")).text
    assert "Sending is stopped" not in html
    assert len(console.server.messages) == 3


async def test_cancel_through_the_form(console: Console) -> None:
    console.newsroom.release("launch", publish_at=utc(3600))
    await console.sync()
    csrf = await console.login()
    page = await console.client.get("/admin/releases/launch")
    assert 'action="/admin/releases/launch/cancel"' in page.text

    done = await console.client.post("/admin/releases/launch/cancel", data={"csrf": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/releases/launch?done=cancelled&n=0"
    assert await console.cancelled("launch")
    after = await console.client.get(done.headers["location"])
    assert "Cancelled: 0 pending deliveries stopped." in after.text
    assert 'id="state">cancelled<' in after.text
    await run_once(console.settings, now=utc(7200))
    assert console.server.messages == []


async def test_the_actions_follow_the_releases_state(console: Console) -> None:
    soon, later = utc(3600), utc(7200)
    console.newsroom.release("planned", publish_at=soon)
    console.newsroom.release("early", publish_at=later, embargo_send_at=utc(-60))
    console.newsroom.release("unready", publish_at=soon, status="draft")
    await run_once(console.settings)  # sends the embargoed copies of "early"
    await console.login()

    async def buttons(release_id: str, state: str) -> dict[str, str]:
        html = (await console.client.get(f"/admin/releases/{release_id}")).text
        assert f'id="state">{state}<' in html
        assert f'action="/admin/releases/{release_id}/send"' not in html
        return buttons_of(html)

    assert await buttons("planned", "scheduled") == {
        "Send now": f"disabled: Starts by itself at {local_time(soon, console.settings)}.",
        "Cancel the release": "enabled",
        "Send a test": "enabled",
    }
    assert await buttons("early", "embargoed") == {
        "Send now": "disabled: The embargoed copies are sent; the public ones go out by "
        f"themselves at {local_time(later, console.settings)}.",
        "Cancel the release": "enabled",
        "Send a test": "enabled",
    }
    assert await buttons("unready", "draft") == {
        "Send now": 'disabled: A draft is never sent: set status = "ready" in its release.toml.',
        "Send a test": "enabled",
    }


async def test_a_test_copy_is_marked_as_a_test_and_the_page_says_where_it_went(
    console: Console,
) -> None:
    console.newsroom.release("launch", publish_at=utc(-60), embargo_send_at=utc(-120))
    await console.sync()
    csrf = await console.login()
    here = "/admin/releases/launch"
    for fields in (
        {"to": "desk@example.com", "lang": "fr"},
        {"to": "me@example.net", "embargo": "1"},
    ):
        done = await console.client.post(f"{here}/test", data={"csrf": csrf, **fields})
        assert done.headers["location"] == f"{here}?done=test-sent"
    public, early = [
        message_from_bytes(m.data, policy=policy.default) for m in console.server.messages
    ]
    assert public["Subject"] == "[Test] Title (fr)"
    assert early["Subject"].startswith("[Test] [Embargoed until ")
    for message in (public, early):
        text = message.get_body(("plain",)).get_content()
        assert text.startswith("*** TEST COPY ·"), text[:200]
        html = message.get_body(("html",)).get_content()
        assert re.search(r"<body[^>]*>\s*<div[^>]*>\s*<strong>TEST COPY</strong>", html), html

    page = (await console.client.get(f"{here}?done=test-sent")).text
    assert "Test copy sent" in page
    when = local_time(console.clock.now, console.settings)
    tests = [row for row in rows_of(page) if row[0].endswith(("@example.com", "@example.net"))]
    assert tests == [  # the latest first
        ["me@example.net", "en, embargoed copy", when],
        ["desk@example.com", "fr, public copy", when],
    ]
    assert "Test copies" not in (await console.client.get("/admin/releases/nope")).text

    # The journalists' copies, rendered after the tests, are not marked.
    await run_once(console.settings)
    journalists = [
        message_from_bytes(m.data, policy=policy.default) for m in console.server.messages[2:]
    ]
    assert len(journalists) == 3
    for message in journalists:
        assert not message["Subject"].startswith("[Test]")
        assert "TEST COPY" not in message.get_body(("plain",)).get_content()
        assert "TEST COPY" not in message.get_body(("html",)).get_content()


async def test_send_now_starts_a_late_release(console: Console) -> None:
    console.newsroom.release("old", publish_at=utc(-3 * 86400))
    console.newsroom.release("future", publish_at=utc(3600))
    await run_once(console.settings)
    assert console.server.messages == []  # too late to start by itself
    csrf = await console.login()
    assert [
        r[0].split()[0]
        for r in rows_of((await console.client.get("/admin")).text)
        if r[1] == "late"
    ] == ["old"]
    late = (await console.client.get("/admin/releases/old")).text
    assert buttons_of(late) == {  # on the newsroom since its publish_at: it may be withdrawn
        "Send now": "enabled",
        "Cancel the release": "enabled",
        "Withdraw the release": "enabled",
        "Send a test": "enabled",
    }

    # the button is not offered, and the server still refuses a hand-made request
    refused = await console.client.post("/admin/releases/future/send", data={"csrf": csrf})
    assert refused.headers["location"] == "/admin/releases/future?error=not-due"
    done = await console.client.post("/admin/releases/old/send", data={"csrf": csrf})
    assert done.headers["location"] == "/admin/releases/old?done=send-requested"
    await run_once(console.settings)
    assert sorted(console.server.recipients()) == [
        "ana@example.org",
        "ben@example.org",
        "chen@example.org",
    ]


async def test_retry_queues_the_failed_deliveries_again(console: Console) -> None:
    console.server.faults["ben@example.org"] = Fault.reject_data()
    console.newsroom.release("launch", publish_at=utc(-60))
    await run_once(console.settings)
    csrf = await console.login()
    page = await console.client.get("/admin/releases/launch")
    assert "Last errors" in page.text
    [error] = [row for row in rows_of(page.text) if row[0] == "ben@example.org"]
    assert error[1:4] == ["failed", "1", "554 5.6.0 Message rejected"]
    assert ["en", "1", "0", "0", "1", "0"] in rows_of(page.text)
    assert buttons_of(page.text) == {
        "Retry failed": "enabled",
        "Withdraw the release": "enabled",
        "Send a test": "enabled",
    }

    console.server.faults.clear()
    done = await console.client.post("/admin/releases/launch/retry", data={"csrf": csrf})
    assert done.headers["location"] == "/admin/releases/launch?done=retried&n=1"
    await run_once(console.settings)
    assert console.server.recipients().count("ben@example.org") == 1


async def test_send_test_sends_one_copy_to_the_address_and_nothing_else(console: Console) -> None:
    console.newsroom.release("launch", publish_at=utc(3600))
    await console.sync()
    csrf = await console.login()

    def post(**fields: str) -> Any:
        return console.client.post("/admin/releases/launch/test", data={"csrf": csrf, **fields})

    done = await post(to="Editor@Example.COM", lang="fr")
    assert done.headers["location"] == "/admin/releases/launch?done=test-sent"
    [received] = console.server.messages
    assert received.rcpt_tos == ("Editor@example.com",)
    message = message_from_bytes(received.data, policy=policy.default)
    assert message["Subject"] == "[Test] Title (fr)"
    assert await console.rt.ledger.counts() == {}  # not a delivery

    for fields, error in [
        ({"to": "a@example.org\r\nBcc: victim@example.org"}, "bad-address"),
        ({"to": "a@example.org\nBcc: victim@example.org"}, "bad-address"),
        ({"to": "not-an-address"}, "bad-address"),
        ({"to": "a@example.org", "lang": "ru"}, "no-language"),
        ({"to": "a@example.org", "lang": "xx"}, "no-language"),
        ({"to": "a@example.org", "embargo": "1"}, "no-embargo"),
    ]:
        refused = await post(**fields)
        assert refused.headers["location"] == f"/admin/releases/launch?error={error}", fields
    assert len(console.server.messages) == 1


async def test_preview_is_the_emails_html_under_a_strict_policy(console: Console) -> None:
    console.newsroom.release(
        "launch", publish_at=utc(3600), embargo_send_at=utc(1800), title="Launch"
    )
    await console.sync()
    await console.login()
    public = await console.client.get("/admin/releases/launch/preview/fr")
    assert public.status_code == 200
    assert public.headers["content-type"].startswith("text/html")
    assert public.headers["content-security-policy"] == PREVIEW_CSP
    assert public.headers["x-frame-options"] == "SAMEORIGIN"
    assert public.headers["cache-control"] == "no-store"
    assert "Body of launch in fr." in public.text
    assert "Embargoed" not in public.text
    early = await console.client.get("/admin/releases/launch/preview/en?tier=embargoed")
    assert "Embargoed until" in early.text
    assert (await console.client.get("/admin/releases/launch/preview/ru")).status_code == 404
    assert (await console.client.get("/admin/releases/launch/preview/en?tier=x")).status_code == 404
    assert (await console.client.get("/admin/releases/nope/preview/en")).status_code == 404


# -- journalists -------------------------------------------------------------------------


async def test_search_by_outlet_language_status_and_region_one_page_at_a_time(
    console: Console,
) -> None:
    many = [f"reporter{n:03}@example.net,Reporter {n},Wire 100%,es,europe,,no" for n in range(120)]
    console.newsroom.subscribers("wire", many, header=HEADER)
    await console.sync()
    await console.login()

    async def emails(query: str) -> list[str]:
        html = (await console.client.get(f"/admin/subscribers?{query}")).text
        return [row[0] for row in rows_of(html)]

    assert await emails("q=lagos") == ["ben@example.org"]
    assert await emails("q=SUL") == ["ana@example.org"]
    assert await emails("language=fr") == ["ana@example.org"]
    assert await emails("region=africa") == ["ben@example.org"]
    assert await emails("q=_") == []  # LIKE wildcards are taken literally
    assert len(await emails("q=100%25")) == 50
    assert await emails("region=atlantis") == []

    first = (await console.client.get("/admin/subscribers?language=es")).text
    assert "120 journalists, page 1 of 3." in first
    assert (
        'href="/admin/subscribers?q=&amp;region=&amp;language=es&amp;status=&amp;page=2"' in first
    )
    third = await emails("language=es&page=3")
    assert third == [f"reporter{n:03}@example.net" for n in range(100, 120)]

    await console.rt.journalists.set_status("chen@example.org", "bounced", "550", utc())
    assert await emails("status=bounced") == ["chen@example.org"]
    assert len(await emails("status=active")) == 50


async def test_markup_in_a_name_or_outlet_is_shown_as_text(console: Console) -> None:
    console.newsroom.subscribers(
        "odd", ['"mallory@example.org",<script>x</script>,<b onclick=x>Outlet</b>,en,,,no'], HEADER
    )
    await console.sync()
    await console.login()
    for url in ("/admin/subscribers?q=mallory", "/admin/subscribers/mallory@example.org"):
        html = (await console.client.get(url)).text
        assert "&lt;script&gt;x&lt;/script&gt;" in html
        assert "<script>x</script>" not in html
        assert "<b onclick" not in html
        assert "&lt;b onclick=x&gt;Outlet&lt;/b&gt;" in html


async def test_suppress_stops_the_next_release_and_reactivate_brings_them_back(
    console: Console,
) -> None:
    csrf = await console.login()
    await console.sync()
    done = await console.client.post(
        "/admin/subscribers/Ana@Example.org/suppress", data={"csrf": csrf}
    )
    assert done.headers["location"] == "/admin/subscribers/ana@example.org?done=suppressed"
    assert await console.status("ana@example.org") == "unsubscribed"
    page = (await console.client.get(done.headers["location"])).text
    assert "suppressed by the press office" in page
    assert 'action="/admin/subscribers/ana@example.org/reactivate"' in page

    console.newsroom.release("first", publish_at=utc(-60))
    await run_once(console.settings)
    assert sorted(console.server.recipients()) == ["ben@example.org", "chen@example.org"]

    again = await console.client.post(
        "/admin/subscribers/ana@example.org/reactivate", data={"csrf": csrf}
    )
    assert again.headers["location"] == "/admin/subscribers/ana@example.org?done=reactivated"
    assert await console.status("ana@example.org") == "active"
    console.newsroom.release("second", publish_at=utc(-30))
    await run_once(console.settings)
    assert console.server.recipients().count("ana@example.org") == 1

    detail = rows_of((await console.client.get("/admin/subscribers/ana@example.org")).text)
    assert detail[0][:5] == ["second", "fr", "public", "sent", "1"]
    unknown = await console.client.post(
        "/admin/subscribers/nobody@example.org/suppress", data={"csrf": csrf}
    )
    assert unknown.status_code == 404


# -- importing a list --------------------------------------------------------------------


async def upload_list(
    console: Console, csrf: str, name: str, data: bytes, **more: str
) -> httpx.Response:
    return await console.client.post(
        "/admin/import",
        data={"csrf": csrf, "list": name, **more},
        files={"file": ("desk.csv", data, "text/csv")},
    )


async def import_finished(console: Console, response: httpx.Response) -> httpx.Response:
    """The import's page once its job is done or failed."""
    assert response.status_code == 303, response.text
    where = response.headers["location"]
    assert re.fullmatch(r"/admin/imports/\d+", where)
    for _ in range(600):
        progress = (await console.client.get(f"{where}/progress.json")).json()
        if not progress["live"]:
            return await console.client.get(where)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{where} still running: {progress}")


async def test_the_import_page_lists_the_columns_and_offers_a_sample_that_imports_cleanly(
    console: Console,
) -> None:
    csrf = await console.login()
    form = (await console.client.get("/admin/import")).text
    for column in COLUMNS:
        assert f"<code>{column}</code>" in form, column
    assert 'href="/admin/import/sample.csv"' in form

    sample = await console.client.get("/admin/import/sample.csv")
    assert sample.status_code == 200
    assert sample.headers["content-type"] == "text/csv; charset=utf-8"
    assert sample.headers["content-disposition"] == 'attachment; filename="sample.csv"'
    assert sample.headers["cache-control"] == "no-store"
    lines = sample.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) > 2

    page = await import_finished(
        console, await upload_list(console, csrf, "sample", sample.content)
    )
    assert "done" in page.text
    assert f"{len(lines) - 1} valid rows" in page.text
    assert "No problem found." in page.text
    assert await console.status(lines[1].split(",")[0]) == "active"


async def test_import_reports_the_bad_row_and_loads_the_good_ones(console: Console) -> None:
    csrf = await console.login()
    upload = (
        HEADER + "\n"
        "dana@example.com,Dana Roe,Harbour Times,en,,,no\n"
        "not-an-address,Bad Row,,en,,,no\n"
        "eli@example.com,Eli Stone,Valley Post,fr,,,yes\n"
    ).encode()

    async def post(name: str, data: bytes, **more: str) -> httpx.Response:
        return await upload_list(console, csrf, name, data, **more)

    async def finished(response: httpx.Response) -> httpx.Response:
        return await import_finished(console, response)

    page = await finished(await post("regional-desks", upload))
    assert page.status_code == 200
    assert "done" in page.text and "2 valid rows" in page.text
    assert rows_of(page.text)[4][:3] == ["subscribers/regional-desks.csv", "3", "email"]
    target = console.newsroom.root / "subscribers" / "regional-desks.csv"
    assert target.read_bytes() == upload  # the original upload; the loader skips the bad row
    assert sorted(p.name for p in target.parent.iterdir()) == [".imports", "press.csv", target.name]
    assert list((target.parent / ".imports").iterdir()) == []  # the upload, once merged
    assert await console.status("dana@example.com") == "active"
    assert await console.status("eli@example.com") == "active"

    exists = await post("regional-desks", b"email\nfay@example.com\n")
    assert exists.status_code == 409
    assert "tick “replace”" in exists.text
    assert target.read_bytes() == upload
    replaced = await finished(
        await post("regional-desks", b"email\nfay@example.com\n", replace="1")
    )
    assert "done" in replaced.text
    assert await console.status("fay@example.com") == "active"
    assert await console.status("dana@example.com") == "active"  # still known, on no list

    for name in ("Bad Name", "../escape", "x" * 65, ""):
        assert (await post(name, upload)).status_code == 400
    nothing = await finished(await post("empty", b"email\nnot-an-address\n"))
    assert "failed" in nothing.text and "was not saved" in nothing.text
    assert not (console.newsroom.root / "subscribers" / "empty.csv").exists()
    assert list((target.parent / ".imports").iterdir()) == []  # nor kept
    assert sorted(p.name for p in target.parent.iterdir()) == [
        ".imports",
        "press.csv",
        "regional-desks.csv",
    ]
    form = (await console.client.get("/admin/import")).text
    listed = rows_of(form.split('id="recent-heading"', 1)[1])
    assert [row[1:3] for row in listed] == [
        ["subscribers/empty.csv", "failed"],
        ["subscribers/regional-desks.csv (replace)", "done"],
        ["subscribers/regional-desks.csv", "done"],
    ]
