"""What came back after sending, as the press office and the journalists see it.

Releases go out through a real SMTP server (aiosmtpd) from ``bounces+<token>@``;
reports shaped as real servers send them (tests/returns_mail.py) are read by
``bounces.process`` into the same SQLite store the ASGI app serves. The console,
the public links and /subscribe are used over HTTP, as a browser does.
"""

from __future__ import annotations

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
from pressdispatch.web.app import create_app

from .dispatching import Clock, database_url, make_newsroom, run_once, runtime, utc
from .returns_mail import arf, dsn, failed
from .smtpd import smtp_server
from .test_admin import (
    HEADER,
    PASSWORD,
    PEOPLE,
    VARIABLE,
    Console,
    client_for,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DAY = timedelta(days=1)


@pytest.fixture
async def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    """The console of a newsroom whose mail goes out from its return path."""
    monkeypatch.setenv(VARIABLE, PASSWORD)
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
