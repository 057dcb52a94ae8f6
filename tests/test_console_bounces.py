"""What came back after sending, as the press office and the journalists see it.

Releases go out through a real SMTP server (aiosmtpd) from ``bounces+<token>@``;
reports shaped as real servers send them (tests/returns_mail.py) are read by
``bounces.process`` into the same SQLite store the ASGI app serves. The console,
the public links and /subscribe are used over HTTP, as a browser does.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from pressdispatch.bounces import Processed, process
from pressdispatch.render.email import PREFERENCES, UNSUBSCRIBE
from pressdispatch.store.schema import deliveries, subscribers
from pressdispatch.verp import delivery_token
from pressdispatch.web.admin.common import local_time
from pressdispatch.web.app import create_app

from .dispatching import Clock, cli, database_url, make_newsroom, run_once, runtime, utc
from .returns_mail import arf, dsn, failed
from .smtpd import smtp_server
from .test_admin import (
    HEADER,
    PASSWORD,
    PEOPLE,
    VARIABLE,
    Console,
    buttons_of,
    client_for,
    rows_of,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
API = {"Authorization": "Bearer s3cret-api-token"}
DAY = timedelta(days=1)


@pytest.fixture
async def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    """The console of a newsroom whose mail goes out from its return path; one hard
    bounce among the first few sent pauses a release."""
    monkeypatch.setenv(VARIABLE, PASSWORD)
    monkeypatch.setenv("PRESSDISPATCH_API_TOKEN", API["Authorization"].split()[1])
    newsroom = make_newsroom(tmp_path, next(database_url("sqlite", tmp_path)))
    async with smtp_server() as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": server.host, "port": server.port, "security": "none", "timeout": "5s"},
            bounces={"return_path": "bounces@example.org", "breaker_min_sent": 2},
        )
        newsroom.subscribers("press", PEOPLE, header=HEADER)
        settings = newsroom.settings()
        clock = Clock(utc())
        async with runtime(settings) as rt:
            app = create_app(rt, clock=clock)
            async with app.router.lifespan_context(app), client_for(app) as client:
                yield Console(newsroom, settings, rt, app, clock, server, client)


async def send(console: Console, release_id: str) -> dict[str, tuple[str, str]]:
    """Send a release now; address → (its delivery's return-path token, Message-ID)."""
    console.newsroom.release(release_id, publish_at=utc(-60), languages=("en",))
    await run_once(console.settings)
    async with console.rt.db.engine.connect() as conn:
        rows = await conn.execute(
            select(subscribers.c.email, deliveries.c.id, deliveries.c.message_id)
            .join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.release_id == release_id)
        )
        signer = console.rt.renderer.signer
        return {e: (delivery_token(signer, i), m) for e, i, m in rows}


async def returned(console: Console, raw: bytes, now: datetime | None = None) -> Processed:
    rt = console.rt
    when = now or console.clock()
    return await process(rt.returns, rt.renderer.signer, rt.return_path, raw, when, via="smtp")


def hard(token: str, address: str, report: str = "<r1@mx.example.net>") -> bytes:
    return dsn(token, [failed(address, "5.1.1", "550 5.1.1 User unknown")], report_id=report)


def blocked(token: str, address: str, report: str = "<p1@mx.example.net>") -> bytes:
    said = "550 5.7.1 Message rejected as spam by policy"
    return dsn(token, [failed(address, "5.7.1", said)], report_id=report)


async def complain(console: Console, address: str) -> None:
    """Send a release, and have ``address`` report it as spam."""
    token, message_id = (await send(console, "first"))[address]
    done = await returned(console, arf(token, "abuse", message_id))
    assert done.action.startswith("complained"), done.line()


async def ask(console: Console, address: str) -> str:
    """Ask to subscribe through /subscribe; the path of the emailed confirmation link."""
    fields = [("lang", "en"), ("email", address), ("name", ""), ("outlet", "")]
    asked = await console.client.post("/subscribe", content=urlencode(fields), headers=FORM)
    assert asked.status_code == 200
    mail = [m for m in console.server.messages if m.rcpt_tos == (address,)][-1]
    message = message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    [link] = re.findall(r"https://press\.example\.org(/confirm/[\w.-]+)", body.get_content())
    return str(link)


async def confirm(console: Console, address: str) -> None:
    assert (await console.client.post(await ask(console, address))).status_code == 200


# -- self-service: a complaint is undone only by a new opt-in -----------------------------


async def test_a_complained_address_is_not_revived_by_its_links_or_the_lists(
    console: Console,
) -> None:
    await complain(console, "ben@example.org")
    signer = console.rt.renderer.signer
    unsubscribe = f"/unsubscribe/{signer.sign(UNSUBSCRIBE, 'ben@example.org')}"
    preferences = f"/preferences/{signer.sign(PREFERENCES, 'ben@example.org')}"

    one_click = await console.client.post(unsubscribe, content=b"List-Unsubscribe=One-Click")
    assert one_click.status_code == 200
    form = await console.client.get(preferences)
    assert form.status_code == 200 and 'name="languages"' not in form.text  # no form
    saved = await console.client.post(preferences, content="languages=fr", headers=FORM)
    assert 'name="languages"' not in saved.text
    leave = await console.client.post(preferences, content="action=unsubscribe", headers=FORM)
    assert leave.status_code == 200
    # The lists name him again, with a change: his details follow, his status does not.
    console.newsroom.subscribers(
        "press", [*PEOPLE[:1], "ben@example.org,Ben Ode,Lagos Daily,en,africa,,no", *PEOPLE[2:]],
        header=HEADER,
    )  # fmt: skip
    await console.sync()

    ben = await console.rt.journalists.find("ben@example.org")
    assert ben is not None
    assert (ben.status, ben.subscriber.outlet) == ("complained", "Lagos Daily")
    assert ben.subscriber.languages == ("en",)
    assert ben.status_reason.startswith("complained")
    assert sorted(await send(console, "second")) == ["ana@example.org", "chen@example.org"]


async def test_a_confirmed_subscription_revives_a_complained_address(console: Console) -> None:
    await complain(console, "ben@example.org")
    link = await ask(console, "Ben@example.org")
    assert await console.status("ben@example.org") == "complained"  # asking is not enough
    assert (await console.client.post(link)).status_code == 200

    ben = await console.rt.journalists.find("ben@example.org")
    assert ben is not None
    assert (ben.status, ben.status_reason) == ("active", "confirmed on the web")
    assert ben.bounce_score == 0
    assert "ben@example.org" in await send(console, "second")


async def test_a_confirmed_subscription_starts_a_soft_bounce_score_over(console: Console) -> None:
    token, _ = (await send(console, "first"))["chen@example.org"]
    now = console.clock()
    for day in range(3):  # a full mailbox, three days running: bounced
        full = dsn(token, [failed("chen@example.org", "4.2.2", "452 4.2.2 Mailbox full")],
                   report_id=f"<full.{day}@mx>")  # fmt: skip
        await returned(console, full, now + day * DAY)
    assert await console.status("chen@example.org") == "bounced"
    await confirm(console, "chen@example.org")
    chen = await console.rt.journalists.find("chen@example.org")
    assert chen is not None
    assert (chen.status, chen.bounce_score, chen.bounce_count) == ("active", 0, 3)
    again = dsn(token, [failed("chen@example.org", "4.2.2", "452 4.2.2 Mailbox full")],
                report_id="<full.again@mx>")  # fmt: skip
    done = await returned(console, again, now + 3 * DAY)
    assert done.action == "soft bounce, score 1 of 3"
    assert await console.status("chen@example.org") == "active"


# -- the console --------------------------------------------------------------------------


async def test_returned_mail_lists_each_return_and_links_the_kept_message(
    console: Console,
) -> None:
    tokens = await send(console, "first")
    await returned(console, hard(tokens["ana@example.org"][0], "ana@example.org"))
    await returned(console, blocked(tokens["ben@example.org"][0], "ben@example.org"))
    said = "452 4.2.2 <b>Mailbox</b> full"
    full = dsn(tokens["chen@example.org"][0], [failed("chen@example.org", "4.2.2", said)],
               report_id="<s1@mx>")  # fmt: skip
    await returned(console, full)
    await console.login()

    page = await console.client.get("/admin/bounces")
    assert page.status_code == 200
    assert '<a href="/admin/bounces" aria-current="page">Returned mail</a>' in page.text
    assert "<b>Mailbox</b>" not in page.text  # a server's words are text, never markup
    when = local_time(console.clock(), console.settings)
    rows = rows_of(page.text)
    assert rows == [
        [when, "chen@example.org", "first", "soft", "4.2.2", f"smtp; {said}",
         "soft bounce, score 1 of 3", "smtp", "view"],
        [when, "ben@example.org", "first", "policy", "5.7.1",
         "smtp; 550 5.7.1 Message rejected as spam by policy",
         "counted against the sender (deliverability alert), not the journalist", "smtp", "view"],
        [when, "ana@example.org", "first", "hard", "5.1.1", "smtp; 550 5.1.1 User unknown",
         "bounced: the address never took a delivery; first paused: 1 hard bounces for 3 sent "
         "(33.3%, over 5.0%): check the list before resuming", "smtp", "view"],
    ]  # fmt: skip
    assert 'href="/admin/subscribers/ana@example.org"' in page.text
    assert 'href="/admin/releases/first"' in page.text
    assert rows_of((await console.client.get("/admin/bounces?release=first")).text) == rows
    other = await console.client.get("/admin/bounces", params={"release": "other"})
    assert "Nothing has come back for other." in other.text

    [link] = re.findall(r'href="(/admin/bounces/\d+/message)"', page.text)[2:]  # ana's
    message = await console.client.get(link)
    assert message.status_code == 200
    assert message.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in message.headers["content-security-policy"]
    assert message.headers["cache-control"] == "no-store"
    assert "Final-Recipient: rfc822; ana@example.org" in message.text

    # Once the kept messages are forgotten, the rows stay and the links go.
    await console.rt.returns.forget_messages(console.clock() + DAY)
    assert (await console.client.get(link)).status_code == 404
    page = await console.client.get("/admin/bounces")
    assert "/message" not in page.text
    assert [row[-1] for row in rows_of(page.text)] == ["", "", ""]


async def test_a_bounced_journalists_page_shows_the_record_and_lifting_is_logged(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = await send(console, "first")
    await returned(console, hard(tokens["ana@example.org"][0], "ana@example.org"))
    csrf = await console.login()
    url = "/admin/subscribers/ana@example.org"
    page = (await console.client.get(url)).text
    assert "<strong>bounced</strong> (bounced: the address never took a delivery (smtp; 550" in page
    assert "1 counted; soft bounce score 0 of 3" in page
    assert '<dd id="diagnostic">smtp; 550 5.1.1 User unknown</dd>' in page
    assert rows_of(page)[0][1:5] == ["first", "hard", "5.1.1", "smtp; 550 5.1.1 User unknown"]
    assert rows_of(page)[0][5].startswith("bounced: the address never took a delivery")
    assert f'action="{url}/lift"' in page
    assert f'action="{url}/reactivate"' not in page

    with caplog.at_level(logging.INFO, logger="pressdispatch"):
        done = await console.client.post(f"{url}/lift", data={"csrf": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == f"{url}?done=lifted"
    assert "the bounced status of ana@example.org was lifted" in caplog.text
    ana = await console.rt.journalists.find("ana@example.org")
    assert ana is not None
    assert (ana.status, ana.bounce_count, ana.last_diagnostic) == (
        "active", 1, "smtp; 550 5.1.1 User unknown"
    )  # fmt: skip
    page = (await console.client.get(done.headers["location"])).text
    assert "Bounced status lifted" in page
    assert rows_of(page)[0][2:6] == [
        "lifted", "", "", "bounced status lifted by the press office (console)"
    ]  # fmt: skip
    assert "ana@example.org" in await send(console, "second")

    again = await console.client.post(f"{url}/lift", data={"csrf": csrf})
    assert again.headers["location"] == f"{url}?error=not-bounced"
    refused = await console.client.post(f"{url}/lift", data={"csrf": "forged"})
    assert refused.status_code == 403


async def test_reactivating_a_bounced_journalist_lifts_the_bounce(console: Console) -> None:
    """A page left open from before the bounce still offers Reactivate: it lifts."""
    tokens = await send(console, "first")
    await returned(console, hard(tokens["chen@example.org"][0], "chen@example.org"))
    csrf = await console.login()
    url = "/admin/subscribers/chen@example.org"
    done = await console.client.post(f"{url}/reactivate", data={"csrf": csrf})
    assert done.headers["location"] == f"{url}?done=lifted"
    [lifted] = await console.rt.returns.listed(release_id=None, limit=1)
    assert (lifted.kind, lifted.address, lifted.via) == ("lifted", "chen@example.org", "console")
    assert await console.status("chen@example.org") == "active"


async def test_a_complained_journalist_cannot_be_brought_back_from_the_console(
    console: Console,
) -> None:
    await complain(console, "ben@example.org")
    csrf = await console.login()
    url = "/admin/subscribers/ben@example.org"
    page = (await console.client.get(url)).text
    assert "<strong>complained</strong> (complained: suppressed on every list" in page
    assert "only a new subscription they ask for" in page
    assert 'href="https://press.example.org/subscribe"' in page
    assert f'action="{url}/lift"' not in page and f'action="{url}/reactivate"' not in page
    for lever in ("lift", "reactivate"):
        done = await console.client.post(f"{url}/{lever}", data={"csrf": csrf})
        assert done.headers["location"] == f"{url}?error=complained"
        assert await console.status("ben@example.org") == "complained"
    page = (await console.client.get(f"{url}?error=complained")).text
    assert "Only a new subscription they confirm through /subscribe does." in page
    search = await console.client.get("/admin/subscribers", params={"status": "complained"})
    assert [row[0] for row in rows_of(search.text)] == ["ben@example.org"]


async def test_a_paused_release_says_why_and_resume_sends_the_rest(console: Console) -> None:
    tokens = await send(console, "first")
    async with console.rt.db.engine.begin() as conn:  # Chen's copy has not gone yet
        chen = select(subscribers.c.id).where(subscribers.c.email == "chen@example.org")
        await conn.execute(
            deliveries.update()
            .where(deliveries.c.subscriber_id == chen.scalar_subquery())
            .values(status="queued", sent_at=None)
        )
    done = await returned(console, hard(tokens["ana@example.org"][0], "ana@example.org"))
    assert done.paused is not None
    csrf = await console.login()

    listing = (await console.client.get("/admin")).text
    assert '<span class="state state-paused">paused</span>' in listing
    page = (await console.client.get("/admin/releases/first")).text
    since = local_time(console.clock(), console.settings)
    assert f"<strong>Paused</strong> since {since}: {done.paused}." in page
    assert buttons_of(page)["Resume sending"] == "enabled"
    assert ["hard", "1"] in rows_of(page)
    assert 'href="/admin/bounces?release=first"' in page
    await run_once(console.settings)
    assert console.server.recipients().count("chen@example.org") == 1  # still only the first

    resumed = await console.client.post("/admin/releases/first/send", data={"csrf": csrf})
    assert resumed.headers["location"] == "/admin/releases/first?done=resumed"
    page = (await console.client.get(resumed.headers["location"])).text
    assert "Resumed: the circuit breaker&#39;s pause is lifted" in page
    assert "<strong>Paused</strong>" not in page and "Resume sending" not in page
    await run_once(console.settings)
    assert console.server.recipients().count("chen@example.org") == 2


async def test_policy_refusals_of_the_last_week_raise_the_deliverability_alert(
    console: Console,
) -> None:
    tokens = await send(console, "first")
    await console.login()
    assert 'id="deliverability"' not in (await console.client.get("/admin")).text
    ana, ben = tokens["ana@example.org"][0], tokens["ben@example.org"][0]
    await returned(console, blocked(ana, "ana@example.org"), console.clock() - 8 * DAY)
    status = (await asyncio.to_thread(cli, console.newsroom, "status")).output
    assert "deliverability" not in status
    await returned(console, blocked(ben, "ben@example.org", "<p2@mx>"))

    page = (await console.client.get("/admin")).text
    assert "refused your mail 1 time for policy reasons in the last 7 days" in page
    assert "550 5.7.1 Message rejected as spam by policy" in page
    status = (await asyncio.to_thread(cli, console.newsroom, "status")).output
    assert (
        "deliverability: 1 policy refusal in the last 7 days, latest: 5.7.1 smtp; 550 5.7.1 "
        "Message rejected as spam by policy"
    ) in " ".join(status.split())
    document = json.loads(
        (await asyncio.to_thread(cli, console.newsroom, "status", "--json")).stdout
    )
    alert = document["deliverability"]
    assert (alert["policy_refusals"], alert["latest"]["address"]) == (1, "ben@example.org")
    assert alert["latest"]["status"] == "5.7.1"


# -- the API and the export ----------------------------------------------------------------


async def test_the_api_and_the_export_show_complaints_and_bounce_records(
    console: Console,
) -> None:
    tokens = await send(console, "first")
    await returned(console, hard(tokens["ana@example.org"][0], "ana@example.org"))
    _, message_id = tokens["ben@example.org"]
    await returned(console, arf(tokens["ben@example.org"][0], "abuse", message_id))
    said = "=HYPERLINK(1) 452 4.2.2 mailbox full"  # a server's words, in a spreadsheet
    full = {**failed("chen@example.org", "4.2.2", ""), "Diagnostic-Code": said}
    done = await returned(console, dsn(tokens["chen@example.org"][0], [full], report_id="<s@x>"))
    assert done.kind == "soft", done.line()

    ben = await console.client.get("/api/v1/subscribers/ben@example.org", headers=API)
    assert ben.json()["status"] == "complained"
    assert "not mailed" in ben.json()["notice"]
    described = (await console.client.get("/api/v1/openapi.json")).json()
    schema = described["components"]["schemas"]["SubscriberOut"]
    assert "complained" in schema["properties"]["status"]["description"]

    result = await asyncio.to_thread(cli, console.newsroom, "subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[-6:-2] == ["source", "status_reason", "bounce_count", "last_diagnostic"]
    found = {r["email"]: r for r in rows}
    assert (found["ana@example.org"]["status"], found["ana@example.org"]["bounce_count"]) == (
        "bounced", "1"
    )  # fmt: skip
    assert found["ana@example.org"]["last_diagnostic"] == "smtp; 550 5.1.1 User unknown"
    assert found["ana@example.org"]["status_reason"].startswith("bounced: the address never")
    assert found["ben@example.org"]["status"] == "complained"
    assert found["ben@example.org"]["status_reason"].startswith("complained: suppressed on")
    assert found["chen@example.org"]["last_diagnostic"] == "'" + said
