"""The distribution report (reporting.py, reports.py): when a tier finishes, the press
office gets one email with the figures the ledger holds, and a follow-up a day later
with what came back since; `pressdispatch report` shows the same figures.

A release goes out through a real SMTP server (aiosmtpd) that refuses some
journalists; bounces and complaints go in through `bounces ingest`; the figures are
checked against the deliveries table, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from pressdispatch.bounces import process
from pressdispatch.model import DeliveryStatus
from pressdispatch.regions import load_regions
from pressdispatch.render import i18n
from pressdispatch.reports import cell, send_due
from pressdispatch.store.db import open_database
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.reports import Edition, Reports
from pressdispatch.store.schema import deliveries, subscribers

from .dispatching import Newsroom, cli, database_url, run_once, runtime, utc
from .returns_mail import arf, dsn, failed
from .smtpd import Fault, SmtpServer, smtp_server
from .test_bounces import sent

pytestmark = pytest.mark.databases("sqlite", "postgresql")

PEOPLE = [
    "ana@example.org,Ana,en,FR,,no",
    "ben@example.org,Ben,fr,FR DE,,no",
    "chen@example.org,Chen,ru,,,no",
    "dora@example.org,Dora,en,DE,,no",
    "eve@example.org,Eve,fr,,,no",
    "fay@example.org,Fay,en,europe,,yes",  # cleared: gets the embargoed copy
]
REFUSED = {
    "dora@example.org": Fault.user_unknown(),
    "eve@example.org": Fault.reject_data(),
}
COLUMNS = (
    ("sent",),
    ("failed",),
    ("deferred",),
    ("cancelled",),
    ("queued", "sending"),
)
REGIONS = load_regions()


def configure(newsroom: Newsroom, server: SmtpServer, /, **sections: dict[str, Any]) -> None:
    reports = {"email": True, **sections.pop("reports", {})}
    newsroom.write_config(
        transport={"kind": "smtp"},
        smtp={"host": server.host, "port": server.port, "security": "none", "timeout": "5s"},
        bounces={"return_path": "bounces@example.org"},
        reports=reports,
        **sections,
    )


def reports_to(server: SmtpServer, address: str = "media@example.org") -> list[EmailMessage]:
    found = [m for m in server.messages if m.rcpt_tos == (address,)]
    return [message_from_bytes(m.data, policy=default) for m in found]  # type: ignore[misc]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


async def ledger(newsroom: Newsroom, release_id: str) -> list[tuple[str, str, str, str]]:
    """(tier, status, language, regions) of every delivery of the release, one by one."""
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        d, s = deliveries.c, subscribers.c
        rows = await conn.execute(
            select(d.tier, d.status, d.language, s.regions)
            .join(subscribers, s.id == d.subscriber_id)
            .where(d.release_id == release_id)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def expected(rows: list[tuple[str, str, str, str]], tier: str) -> dict[str, Any]:
    """What the report must say of ``tier``, counted here from the ledger's rows."""
    counts: Counter[str] = Counter()
    by_language: dict[str, Counter[str]] = {}
    by_region: dict[str, Counter[str]] = {}
    for row_tier, status, language, regions in rows:
        if row_tier != tier:
            continue
        counts[status] += 1
        by_language.setdefault(language, Counter())[status] += 1
        for slug in regions.split() or ["world"]:
            by_region.setdefault(slug, Counter())[status] += 1
    return {"counts": counts, "by_language": by_language, "by_region": by_region}


def line(label: str, counts: Counter[str]) -> str:
    """A row of the report's text table, as the template writes it."""
    numbers = "".join(f"{sum(counts[s] for s in column):11d}" for column in COLUMNS)
    return f"  {label:<26}{numbers}"


async def command(newsroom: Newsroom, *args: str) -> str:
    return (await asyncio.to_thread(cli, newsroom, *args)).output


async def test_each_finished_tier_is_reported_once_with_the_ledgers_figures_then_followed_up(
    newsroom: Newsroom,
) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release(
        "launch",
        embargo_send_at=utc(-60),
        publish_at=utc(10 * 60),
        languages=("en", "fr", "ru"),
        title="Launch",
    )
    async with smtp_server(REFUSED) as server:
        configure(newsroom, server, reports={"follow_up": "2h"})
        await run_once(newsroom.settings())  # the embargoed copy, to the cleared journalist
        assert [str(r["Subject"]) for r in reports_to(server)] == [
            "Distribution report: Launch (en) (Embargoed copy)"
        ]
        await run_once(newsroom.settings(), now=utc(11 * 60))  # the public copy
        reports = reports_to(server)
        assert [str(r["Subject"]) for r in reports[1:]] == [
            "Distribution report: Launch (en) (Public copy)"
        ]
        rows = await ledger(newsroom, "launch")
        assert Counter(status for _, status, _, _ in rows) == Counter(sent=4, failed=2)
        for report, tier in zip(reports, ("embargoed", "public"), strict=True):
            assert report["From"] == "Test Press Office <press@example.org>"
            assert report["Auto-Submitted"] == "auto-generated"
            text = text_of(report)
            want = expected(rows, tier)
            assert line("All deliveries", want["counts"]) in text
            for code, counts in want["by_language"].items():
                assert line(i18n.language_name(code), counts) in text
            for slug, counts in want["by_region"].items():
                name = "All regions" if slug == "world" else i18n.region_name(REGIONS, slug, "en")
                assert line(name, counts) in text
            assert "Still pending: 0" in text
            assert "https://press.example.org/admin/releases/launch" in text

        document = json.loads(await command(newsroom, "report", "launch", "--json"))
        assert document["console"] == "https://press.example.org/admin/releases/launch"
        assert [t["tier"] for t in document["tiers"]] == ["embargoed", "public"]
        for tier in document["tiers"]:
            want = expected(rows, tier["tier"])
            assert tier["total"] == sum(want["counts"].values())
            assert tier["pending"] == 0
            assert tier["finished_at"] is not None
            assert nonzero(tier["counts"]) == dict(want["counts"])
            assert {lang: nonzero(c) for lang, c in tier["by_language"].items()} == {
                lang: dict(c) for lang, c in want["by_language"].items()
            }
            assert {slug: nonzero(c) for slug, c in tier["by_region"].items()} == {
                slug: dict(c) for slug, c in want["by_region"].items()
            }
        assert document["tiers"][1]["by_region"]["fr"]["name"] == "France"
        assert document["returns"] == {"hard": 0, "soft": 0, "complaint": 0, "policy": 0}
        text = await command(newsroom, "report", "launch")
        assert line("All deliveries", expected(rows, "public")["counts"]) in text

        # Another scan, another process: nothing is sent again.
        await run_once(newsroom.settings(), now=utc(12 * 60))
        assert len(reports_to(server)) == 2

        # What comes back after the reports goes in the follow-ups, [reports] follow_up later.
        tokens = await sent(newsroom, "launch")
        async with runtime(newsroom.settings()) as rt:
            token, _ = tokens["ana@example.org"]
            bounce = dsn(token, [failed("ana@example.org", "5.1.1", "550 5.1.1 no")])
            signer, path = rt.renderer.signer, rt.return_path
            await process(rt.returns, signer, path, bounce, utc(13 * 60), via="ingest")
            token, message_id = tokens["ben@example.org"]
            complaint = arf(token, "abuse", message_id)
            await process(rt.returns, signer, path, complaint, utc(14 * 60), via="ingest")
        await run_once(newsroom.settings(), now=utc(60 * 60))
        assert len(reports_to(server)) == 2  # not yet
        await run_once(newsroom.settings(), now=utc(2 * 3600 + 15 * 60))
        follow_ups = reports_to(server)[2:]
        assert sorted(str(r["Subject"]) for r in follow_ups) == [
            "Distribution report: follow-up: Launch (en) (Embargoed copy)",
            "Distribution report: follow-up: Launch (en) (Public copy)",
        ]
        for report in follow_ups:
            text = text_of(report)
            since, _, so_far = text.partition("Bounces and complaints so far")
            assert "Came back since the first report" in since
            assert "Hard bounces: 1" in since
            assert "Complaints: 1" in since
            assert "Hard bounces: 1" in so_far
            assert "Complaints: 1" in so_far
        document = json.loads(await command(newsroom, "report", "launch", "--json"))
        assert document["returns"] == {"hard": 1, "soft": 0, "complaint": 1, "policy": 0}

        await run_once(newsroom.settings(), now=utc(5 * 3600))
        assert len(reports_to(server)) == 4  # each once


FRENCH_LABELS = ("Envoyés", "Échecs", "Différés", "Annulés", "En attente")
# The report's English labels; none may be left in another language's report.
ENGLISH = (
    "Distribution report", "Public copy", "All deliveries", "Sent", "Failed", "Deferred",
    "Cancelled", "Waiting", "Started", "Finished", "Deliveries", "Still pending",
    "Languages", "Regions", "All regions", "A journalist who follows", "Hard bounces",
    "Soft bounces", "Complaints", "Policy refusals", "Came back since", "so far",
    "On the console", "not yet",
)  # fmt: skip


async def test_the_report_speaks_the_newsrooms_default_language(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("launch", publish_at=utc(-60), languages=("en", "fr", "ru"), title="Lancement")
    async with smtp_server(REFUSED) as server:
        french = {"default_language": "fr"}
        configure(newsroom, server, newsroom=french, reports={"follow_up": "2h"})
        await run_once(newsroom.settings())
        await run_once(newsroom.settings(), now=utc(2 * 3600 + 15 * 60))
        report, follow_up = reports_to(server)
    assert str(report["Subject"]) == "Rapport de diffusion\u00a0: Lancement (fr) (Version publique)"
    assert str(follow_up["Subject"]) == (
        "Suivi du rapport de diffusion\u00a0: Lancement (fr) (Version publique)"
    )
    assert report["Content-Language"] == "fr"
    want = expected(await ledger(newsroom, "launch"), "public")
    text = text_of(report)
    assert "".join(f"{label:>11}" for label in FRENCH_LABELS) in text
    assert line("Tous les envois", want["counts"]) in text
    assert line("Toutes les régions", want["by_region"]["world"]) in text
    assert line("Allemagne", want["by_region"]["de"]) in text
    for label in ("Langues", "Régions", "Envois\u202f: 6", "Encore en attente\u202f: 0"):
        assert label in text
    assert "Rebonds permanents\u202f: 0" in text
    assert "Voir le communiqué dans la console\u202f: https://press.example.org/admin/" in text
    html = follow_up.get_body(("html",))
    assert html is not None
    page = str(html.get_content())  # type: ignore[attr-defined]
    assert '<html lang="fr" dir="ltr">' in page
    assert "Rebonds et plaintes depuis le premier rapport (" in page
    assert ">Voir le communiqué dans la console</a>" in page
    for message in (text, text_of(follow_up), page):
        assert [english for english in ENGLISH if english in message] == []

    printed = await command(newsroom, "report", "launch")
    assert printed.startswith("Rapport de diffusion\u00a0: Lancement (fr)\n")
    assert "Début de l'envoi\u202f: " in printed


def nonzero(counts: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "name" and v}


async def test_two_processes_send_a_report_once_to_reports_to(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE[:3])
    newsroom.release("launch", publish_at=utc(-60), languages=("en", "fr", "ru"))
    faults = {"desk@example.org": Fault.tempfail(times=1)}
    async with smtp_server(faults) as server:
        configure(newsroom, server, reports={"to": "News desk <desk@example.org>"})
        await run_once(newsroom.settings())  # the report is refused once: due again later
        assert reports_to(server, "desk@example.org") == []
        settings = newsroom.settings()
        async with runtime(settings) as one, runtime(settings) as two:
            later = utc(11 * 60)
            done = await asyncio.gather(send_due(one, later), send_due(two, later))
        assert sorted(len(d) for d in done) == [0, 1]
        reports = reports_to(server, "desk@example.org")
        assert len(reports) == 1
        assert reports[0]["To"] == "News desk <desk@example.org>"
        assert reports_to(server) == []  # [reports] to, not reply_to


async def test_a_report_the_server_refused_is_sent_again_later(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE[:2])
    newsroom.release("launch", publish_at=utc(-60), languages=("en", "fr"))
    faults = {"media@example.org": Fault.tempfail()}
    async with smtp_server(faults) as server:
        configure(newsroom, server)
        await run_once(newsroom.settings())
        assert reports_to(server) == []
        server.faults.clear()
        await run_once(newsroom.settings(), now=utc(60))
        assert reports_to(server) == []  # not before the retry time
        await run_once(newsroom.settings(), now=utc(11 * 60))
        assert len(reports_to(server)) == 1
        await run_once(newsroom.settings(), now=utc(12 * 60))
        assert len(reports_to(server)) == 1


@pytest.mark.parametrize(
    "off", [{"newsroom": {"reply_to": ""}}, {"reports": {"email": False}}], ids=["nobody", "off"]
)
async def test_without_an_address_no_report_is_sent_now_or_later(
    newsroom: Newsroom, off: dict[str, dict[str, Any]]
) -> None:
    newsroom.subscribers("press", PEOPLE[:2])
    newsroom.release("launch", publish_at=utc(-60), languages=("en", "fr"))
    async with smtp_server() as server:
        configure(newsroom, server, **off)
        await run_once(newsroom.settings())
        assert len(server.messages) == 2  # the release, to each journalist
        configure(newsroom, server)  # reports on: the past tier is not reported now
        await run_once(newsroom.settings(), now=utc(25 * 3600))
        assert len(server.messages) == 2


async def test_a_report_in_progress_says_what_is_pending(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE[:3])
    newsroom.release("launch", publish_at=utc(-60), languages=("en", "fr", "ru"))
    faults = {"ben@example.org": Fault.tempfail()}
    async with smtp_server(faults) as server:
        configure(newsroom, server)
        await run_once(newsroom.settings())  # --once stops at what is deferred
        assert reports_to(server) == []  # the tier has not finished
    document = json.loads(await command(newsroom, "report", "launch", "--json"))
    (public,) = document["tiers"]
    assert public["finished_at"] is None
    assert public["pending"] == 1
    assert public["counts"]["deferred"] == 1
    assert public["counts"]["sent"] == 2
    text = await command(newsroom, "report", "launch")
    assert "Finished: not yet" in text
    assert "Still pending: 1" in text


async def test_an_unknown_release_has_no_report(newsroom: Newsroom) -> None:
    result = await asyncio.to_thread(cli, newsroom, "report", "nothing", code=1)
    assert "no release 'nothing'" in result.output


@pytest.mark.databases("sqlite")
async def test_the_upgrade_reports_no_tier_that_had_finished_before_it(tmp_path: Path) -> None:
    url = next(database_url("sqlite", tmp_path, migrated=False))
    await upgrade(url, "0006")
    engine = create_engine(url)
    with engine.begin() as conn:
        for release_id in ("old", "running"):
            conn.execute(
                text(
                    "INSERT INTO releases (id, status, publish_at, content_hash, content,"
                    " present, public_started_at, updated_at, withdrawal_reason, pause_reason)"
                    " VALUES (:id, 'ready', '2026-01-01 10:00:00.000000', '', '{}', 1,"
                    " '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000', '', '')"
                ),
                {"id": release_id},
            )
        conn.execute(
            text(
                "INSERT INTO subscribers (email, address, name, outlet, languages, regions,"
                " topics, embargo, lists, source, status, status_reason, row_hash, created_at,"
                " updated_at) VALUES ('a@example.org', 'a@example.org', '', '', 'en', '', '',"
                " 0, '', 'csv', 'active', '', '', '2026-01-01 10:00:00.000000',"
                " '2026-01-01 10:00:00.000000')"
            )
        )
        for release_id, status in (("old", "sent"), ("running", "queued")):
            conn.execute(
                text(
                    "INSERT INTO deliveries (release_id, subscriber_id, language, tier, kind,"
                    " message_id, status, attempts, due_at, created_at, last_reply)"
                    " VALUES (:id, 1, 'en', 'public', 'release', :mid, :status, 0,"
                    " '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000', '')"
                ),
                {"id": release_id, "mid": f"<{release_id}@x>", "status": status},
            )
    engine.dispose()
    await upgrade(url)
    db = open_database(url)
    try:
        reports = Reports(db)
        assert await reports.due(utc(), timedelta(hours=24)) == []  # "running" is not done
        statement = "UPDATE deliveries SET status = 'sent' WHERE release_id = 'running'"
        await db.transaction(lambda conn: conn.exec_driver_sql(statement))
        due = await reports.due(utc(), timedelta(hours=24))
        assert [(d.release_id, d.edition) for d in due] == [("running", Edition.REPORT)]
    finally:
        await db.dispose()


def test_every_status_is_a_column_or_pending() -> None:
    assert {s for column in COLUMNS for s in column} == {s.value for s in DeliveryStatus}


@pytest.mark.parametrize(
    ("value", "width", "left", "cell_text"),
    [
        ("Regions", 10, True, "Regions   "),
        (12, 5, False, "   12"),
        ("所有地区", 10, True, "所有地区  "),  # four characters, eight columns
        ("Tiếng Việt", 12, True, "Tiếng Việt  "),
        ("e\u0301", 3, False, "  e\u0301"),  # e and a combining accent: one column
    ],
)
def test_a_report_table_cell_is_padded_to_the_columns_it_shows_in(
    value: object, width: int, left: bool, cell_text: str
) -> None:
    assert cell(value, width, left) == cell_text
