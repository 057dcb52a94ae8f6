"""Dispatch end to end: files → store → engine → a real SMTP server or the outbox.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pressdispatch.cli import app
from pressdispatch.pipeline import tick
from pressdispatch.store.schema import deliveries, subscribers

from .dispatching import Newsroom, run_once, runtime, utc
from .smtpd import Fault, smtp_server

pytestmark = pytest.mark.databases("sqlite", "postgresql")

PEOPLE = [
    "ana@example.org,Ana,fr,,,no",
    "ben@example.org,Ben,en,,,yes",
    "chen@example.org,Chen,zh en,,,no",
    "dia@example.org,Dia,es,,,no",  # no Spanish version: nothing
]


async def ledger(newsroom: Newsroom) -> dict[str, tuple[str, str, str, int]]:
    """address → (status, language, tier, attempts)."""
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        rows = await conn.execute(
            select(
                subscribers.c.email,
                deliveries.c.status,
                deliveries.c.language,
                deliveries.c.tier,
                deliveries.c.attempts,
            ).join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        )
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


async def test_outbox_gets_one_file_per_recipient_and_a_rerun_sends_nothing(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)
    _, stats = await run_once(newsroom.settings())
    assert stats.outcomes == Counter(sent=3)
    files = sorted((newsroom.root / "var" / "outbox" / "launch").glob("*.eml"))
    assert len(files) == 3
    received = {
        message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec: f
        for f in files
    }
    assert sorted(received) == ["ana@example.org", "ben@example.org", "chen@example.org"]
    assert (await ledger(newsroom))["chen@example.org"] == ("sent", "en", "public", 1)
    _, again = await run_once(newsroom.settings())
    assert again.outcomes == Counter()
    assert len(list((newsroom.root / "var" / "outbox" / "launch").glob("*.eml"))) == 3


async def test_smtp_faults_are_retried_failed_or_bounced_one_by_one(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers(
        "press",
        [
            "ok@example.org,,en,,,no",
            "grey@example.org,,en,,,no",
            "gone@example.org,,en,,,no",
            "spam@example.org,,en,,,no",
            "flaky@example.org,,en,,,no",
            "blocked@example.org,,en,,,no",
        ],
    )
    faults = {
        "blocked@example.org": Fault.user_unknown(
            "550 5.7.1 Rejected by policy: listed at a DNSBL"
        ),
        "grey@example.org": Fault.tempfail(times=2),
        "gone@example.org": Fault.user_unknown(),
        "spam@example.org": Fault.reject_data(),
        "flaky@example.org": Fault.drop_data(times=1),
    }
    async with smtp_server(faults) as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={
                "host": server.host,
                "port": server.port,
                "security": "none",
                "concurrency": 2,
                "timeout": "5s",
            },
        )
        _, stats = await run_once(newsroom.settings())  # --once stops at what is deferred
        assert stats.outcomes["failed"] == 3
        for _ in range(20):  # what `run` does by itself: retry once the backoff has passed
            await asyncio.sleep(0.3)
            await run_once(newsroom.settings())
            if "deferred" not in {s for s, *_ in (await ledger(newsroom)).values()}:
                break
    state = await ledger(newsroom)
    assert state["ok@example.org"][0] == "sent"
    assert state["grey@example.org"][0::3] == ("sent", 3)  # two 451s, then accepted
    assert state["gone@example.org"][0] == "failed"
    assert state["spam@example.org"][0] == "failed"
    assert state["flaky@example.org"][0] == "sent"
    delivered = Counter(server.recipients())
    assert delivered["ok@example.org"] == 1
    assert delivered["grey@example.org"] == 1
    assert "gone@example.org" not in delivered
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        status = dict((await conn.execute(select(subscribers.c.email, subscribers.c.status))).all())
    assert status["gone@example.org"] == "bounced"  # 550 to RCPT: never mailed again
    assert status["spam@example.org"] == "active"  # refused content is not a bad address
    assert status["blocked@example.org"] == "active"  # a block of the sender neither


async def test_an_unreachable_server_defers_then_fails_after_max_retry_age(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", ["a@example.org,,en,,,no"])
    newsroom.write_config(
        transport={"kind": "smtp"},
        smtp={
            "host": "127.0.0.1",
            "port": 9,
            "security": "none",
            "timeout": "2s",
            "max_retry_age": "1s",
        },
        scheduler={"retry_initial": "0.3s"},
    )
    for _ in range(10):
        await run_once(newsroom.settings())
        status, _, _, attempts = (await ledger(newsroom))["a@example.org"]
        if status != "deferred":
            break
        await asyncio.sleep(0.3)
    assert status == "failed"
    assert attempts >= 2


async def test_bounced_and_unsubscribed_addresses_stay_out_even_if_a_list_names_them(
    newsroom: Newsroom,
) -> None:
    newsroom.release("first", publish_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)
    await run_once(newsroom.settings())
    async with runtime(newsroom.settings()) as rt:
        assert await rt.journalists.set_status("ANA@example.org", "unsubscribed", "asked", utc())
    newsroom.release("second", publish_at=utc(-30))
    newsroom.subscribers("press", [*PEOPLE, "new@example.org,New,en,,,no"])  # the list changes
    await run_once(newsroom.settings())
    files = list((newsroom.root / "var" / "outbox" / "second").glob("*.eml"))
    to = sorted(
        message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
        for f in files
    )
    assert to == ["ben@example.org", "chen@example.org", "new@example.org"]


async def test_cancel_stops_what_is_not_yet_sent(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)

    async with runtime(newsroom.settings()) as rt:
        await tick(rt, utc())
        assert await rt.catalog.cancel("launch", utc()) == 3
    _, stats = await run_once(newsroom.settings())
    assert stats.outcomes == Counter()
    assert {s for s, *_ in (await ledger(newsroom)).values()} == {"cancelled"}


async def test_a_release_whose_time_passed_while_nothing_ran_goes_out_on_start(
    newsroom: Newsroom,
) -> None:
    newsroom.release("missed", publish_at=utc(-3 * 3600))  # three hours ago, within max_lateness
    newsroom.release("ancient", publish_at=utc(-3 * 86400))  # beyond it: needs `send`
    newsroom.subscribers("press", PEOPLE)
    report, stats = await run_once(newsroom.settings())
    assert stats.by_release[("missed", "sent")] == 3
    assert [d.release_id for d in report.late] == ["ancient"]
    assert ("ancient", "sent") not in stats.by_release
    async with runtime(newsroom.settings()) as rt:
        assert await rt.catalog.request_send("ancient", utc())
    _, stats = await run_once(newsroom.settings())
    assert stats.by_release[("ancient", "sent")] == 3


async def test_edits_after_the_dispatch_started_are_reported_not_applied(
    newsroom: Newsroom,
) -> None:
    publish = utc(60)
    newsroom.release("launch", publish_at=publish, embargo_send_at=utc(-60), title="First words")
    newsroom.subscribers("press", PEOPLE)
    await run_once(newsroom.settings())  # Ben, cleared, gets the embargoed copy
    # New words and an earlier time: neither applies once the dispatch has started.
    newsroom.release(
        "launch", publish_at=utc(-1), embargo_send_at=utc(-60), title="Second thoughts"
    )
    _, early = await run_once(newsroom.settings())
    assert early.outcomes == Counter()
    await run_once(newsroom.settings(), now=publish)
    titles = set()
    for path in (newsroom.root / "var" / "outbox" / "launch").glob("*.eml"):
        titles.add(
            message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"].split("] ")[-1]
        )
    assert titles == {"First words (fr)", "First words (en)"}
    async with runtime(newsroom.settings()) as rt:
        row = (await rt.catalog.rows("launch"))[0]
    assert row.frozen_hash != row.content_hash


async def test_embargoed_copy_goes_only_to_cleared_journalists_before_publication(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(3600), embargo_send_at=utc(-1))
    newsroom.subscribers("press", PEOPLE)
    _, stats = await run_once(newsroom.settings())
    assert stats.outcomes == Counter(sent=1)
    state = await ledger(newsroom)
    assert state == {"ben@example.org": ("sent", "en", "embargoed", 1)}
    # At publication the others get the public copy; Ben gets nothing more.
    _, later = await run_once(newsroom.settings(), now=utc(3601))
    assert later.outcomes == Counter(sent=2)
    state = await ledger(newsroom)
    assert state["ben@example.org"][2] == "embargoed"
    assert {state[a][2] for a in ("ana@example.org", "chen@example.org")} == {"public"}


async def test_a_crash_mid_send_resends_only_what_was_in_flight(newsroom: Newsroom) -> None:
    """Rows left 'sending' by a process no longer known are taken again once their lease expires."""
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", PEOPLE)
    newsroom.write_config(scheduler={"lease": "1s"})

    async with runtime(newsroom.settings()) as rt:
        await tick(rt, utc())
        claims = await rt.ledger.claim("gone", utc(), 2, utc(30))  # a worker took two, then died
    assert len(claims) == 2
    _, stats = await run_once(newsroom.settings())
    assert stats.outcomes["sent"] == 1  # the unclaimed one; the two leased ones wait
    _, stats = await run_once(newsroom.settings(), now=utc(31))  # their lease has run out
    assert stats.outcomes["sent"] == 2
    assert {s for s, *_ in (await ledger(newsroom)).values()} == {"sent"}


async def test_check_reports_a_release_edited_after_its_dispatch_started(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(-60), title="First words")
    newsroom.subscribers("press", PEOPLE)
    await run_once(newsroom.settings())
    runner = CliRunner()
    config = str(newsroom.root / "config.toml")
    clean = await asyncio.to_thread(runner.invoke, app, ["--config", config, "check"])
    assert clean.exit_code == 0, clean.output
    newsroom.release("launch", publish_at=utc(-60), title="Second thoughts")
    edited = await asyncio.to_thread(runner.invoke, app, ["--config", config, "check"])
    # A warning: the text frozen at the start still goes out, so check passes.
    assert edited.exit_code == 0, edited.output
    assert "releases/launch: warning: edited after its dispatch started" in edited.stdout
    strict = await asyncio.to_thread(runner.invoke, app, ["--config", config, "check", "--strict"])
    assert strict.exit_code == 1


async def test_publication_pings_the_websub_hub(newsroom: Newsroom) -> None:
    """A real HTTP hub on loopback hears about every feed that now carries the release."""
    import http.server  # noqa: PLC0415
    import threading  # noqa: PLC0415
    from urllib.parse import parse_qs  # noqa: PLC0415

    forms: list[dict[str, list[str]]] = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            forms.append(parse_qs(body.decode()))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        newsroom.release("launch", publish_at=utc(-60), regions=("BY",))
        newsroom.subscribers("press", PEOPLE)
        hub = f"http://127.0.0.1:{server.server_address[1]}/"
        newsroom.write_config(feeds={"websub_hub": hub})
        await run_once(newsroom.settings())
    finally:
        server.shutdown()
        server.server_close()
    assert forms
    assert all(form["hub.mode"] == ["publish"] for form in forms)
    urls = {url for form in forms for url in form["hub.url"]}
    assert "https://press.example.org/feeds/all/all.atom" in urls
    assert "https://press.example.org/feeds/en/by.rss" in urls
    assert not any("/feeds/en/fr." in url for url in urls)  # a feed it is not in
