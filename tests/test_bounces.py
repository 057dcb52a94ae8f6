"""What comes back after sending decides the next send (bounces.py, store/returns.py).

Reports are generated here in the shapes real servers send (tests/returns_mail.py),
addressed to each delivery's own return path; they go in through `bounces ingest`
or ``process`` (with a clock the test sets), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pressdispatch.bounces import Processed, process
from pressdispatch.cli import app
from pressdispatch.cli.bounces import TEMPFAIL
from pressdispatch.runtime import Runtime
from pressdispatch.store.schema import deliveries, releases, subscribers
from pressdispatch.tokens import Signer
from pressdispatch.verp import delivery_token

from .dispatching import Newsroom, cli, run_once, runtime, utc
from .returns_mail import arf, auto_reply, dsn, failed, qmail

pytestmark = pytest.mark.databases("sqlite", "postgresql")

PEOPLE = [
    "ana@example.org,Ana,en,,,no",
    "ben@example.org,Ben,en,,,no",
    "chen@example.org,Chen,en,,,no",
]


def bounces_on(newsroom: Newsroom, **extra: object) -> None:
    newsroom.write_config(bounces={"return_path": "bounces@example.org", **extra})


async def sent(newsroom: Newsroom, release_id: str) -> dict[str, tuple[str, str]]:
    """address → (return-path token, Message-ID) of each delivery of the release."""
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        rows = await conn.execute(
            select(subscribers.c.email, deliveries.c.id, deliveries.c.message_id)
            .join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.release_id == release_id)
        )
        return {e: (delivery_token(rt.renderer.signer, i), m) for e, i, m in rows}


async def people(newsroom: Newsroom) -> dict[str, tuple[str, int, int]]:
    """address → (status, bounce count, soft score)."""
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        s = subscribers.c
        rows = await conn.execute(select(s.email, s.status, s.bounce_count, s.bounce_score))
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def send(newsroom: Newsroom, release_id: str, minutes_ago: int = 1) -> Counter[str]:
    newsroom.release(release_id, publish_at=utc(-60 * minutes_ago), languages=("en",))
    _, stats = await run_once(newsroom.settings())
    return Counter({str(k): v for k, v in stats.outcomes.items()})


async def first_sent(newsroom: Newsroom) -> dict[str, tuple[str, str]]:
    """With bounces on, release "first" sent to PEOPLE: its tokens and Message-IDs."""
    bounces_on(newsroom)
    newsroom.subscribers("press", PEOPLE)
    assert await send(newsroom, "first") == Counter(sent=3)
    return await sent(newsroom, "first")


async def command(newsroom: Newsroom, *args: str, code: int = 0) -> str:
    """`pressdispatch ARGS`' output (in a thread: the command runs its own event loop)."""
    return (await asyncio.to_thread(cli, newsroom, *args, code=code)).output


async def ingest(newsroom: Newsroom, tmp_path: Path, name: str, raw: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    return await command(newsroom, "bounces", "ingest", str(path))


async def test_a_hard_bounce_suppresses_an_address_that_never_took_a_delivery(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    bounces_on(newsroom)
    newsroom.subscribers("press", PEOPLE)
    assert await send(newsroom, "first") == Counter(sent=3)
    token, _ = (await sent(newsroom, "first"))["ana@example.org"]
    report = dsn(token, [failed("ana@example.org", "5.1.1", "550 5.1.1 User unknown")])
    output = await ingest(newsroom, tmp_path, "ana.eml", report)
    assert "hard bounce 5.1.1: ana@example.org (first): bounced" in output
    assert (await people(newsroom))["ana@example.org"][:2] == ("bounced", 1)
    # Read again (a second copy of the same report): counted once.
    again = await ingest(newsroom, tmp_path, "ana-again.eml", report)
    assert "read before" in again
    assert (await people(newsroom))["ana@example.org"][:2] == ("bounced", 1)
    # The next release goes to everyone else, once each.
    assert await send(newsroom, "second") == Counter(sent=2)
    assert set(await sent(newsroom, "second")) == {"ben@example.org", "chen@example.org"}


async def test_an_address_that_took_deliveries_is_suppressed_after_hard_bounces_on_two_days(
    newsroom: Newsroom,
) -> None:
    bounces_on(newsroom)
    newsroom.subscribers("press", PEOPLE)
    await send(newsroom, "first", minutes_ago=3)
    await send(newsroom, "second")
    token, _ = (await sent(newsroom, "second"))["ben@example.org"]
    now = utc()
    async with runtime(newsroom.settings()) as rt:
        done = await _process(rt, dsn(token, [failed("ben@example.org", "5.1.1", "no")]), now)
        assert done.action == "hard bounce, day 1 of 2"
        # The same day again (another report): still one day.
        later = dsn(token, [failed("ben@example.org", "5.1.1", "no")], report_id="<r2@mx>")
        done = await _process(rt, later, now + timedelta(hours=2))
        assert done.action == "hard bounce, day 1 of 2"
        third = dsn(token, [failed("ben@example.org", "5.1.1", "no")], report_id="<r3@mx>")
        done = await _process(rt, third, now + timedelta(days=1))
        assert done.action == "bounced: hard bounces on 2 different days"
    assert (await people(newsroom))["ben@example.org"][0] == "bounced"


async def test_soft_bounces_score_once_a_day_and_start_over_after_a_quiet_fortnight(
    newsroom: Newsroom,
) -> None:
    token, _ = (await first_sent(newsroom))["chen@example.org"]
    day = utc()
    async with runtime(newsroom.settings()) as rt:

        async def full(n: int, at: timedelta) -> str:
            report = dsn(
                token,
                [failed("chen@example.org", "5.2.2", "552 5.2.2 Mailbox full")],
                report_id=f"<full{n}@mx>",
            )
            return (await _process(rt, report, day + at)).action

        assert await full(1, timedelta(0)) == "soft bounce, score 1 of 3"
        assert "already counted today" in await full(2, timedelta(minutes=5))
        assert await full(3, timedelta(days=1)) == "soft bounce, score 2 of 3"
        # Fifteen quiet days: the score starts over.
        assert await full(4, timedelta(days=16)) == "soft bounce, score 1 of 3"
        assert await full(5, timedelta(days=17)) == "soft bounce, score 2 of 3"
        assert await full(6, timedelta(days=18)) == "bounced: soft score 3 of 3"
    assert (await people(newsroom))["chen@example.org"] == ("bounced", 6, 3)


async def test_policy_refusals_auto_replies_and_delays_change_nothing_for_the_journalist(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    tokens = await first_sent(newsroom)
    blocked = dsn(
        tokens["ana@example.org"][0],
        [failed("ana@example.org", "5.7.1", "550 5.7.1 Message rejected as spam by policy")],
    )
    assert "policy refusal 5.7.1" in await ingest(newsroom, tmp_path, "blocked.eml", blocked)
    away = auto_reply(tokens["ben@example.org"][0])
    assert "auto-reply" in await ingest(newsroom, tmp_path, "away.eml", away)
    delayed = dsn(
        tokens["chen@example.org"][0],
        [{**failed("chen@example.org", "4.4.1", "connection timed out"), "Action": "delayed"}],
    )
    assert "changes nothing" in await ingest(newsroom, tmp_path, "delayed.eml", delayed)
    assert {status for status, _, _ in (await people(newsroom)).values()} == {"active"}
    assert await send(newsroom, "second") == Counter(sent=3)


async def test_a_complaint_suppresses_everywhere_at_once(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    bounces_on(newsroom)
    newsroom.subscribers("press", PEOPLE)
    newsroom.subscribers("ministers", ["ana@example.org,Ana,en,,,no"])
    await send(newsroom, "first")
    token, message_id = (await sent(newsroom, "first"))["ana@example.org"]
    output = await ingest(newsroom, tmp_path, "arf.eml", arf(token, "abuse", message_id))
    assert "spam complaint: ana@example.org (first): complained" in output
    assert (await people(newsroom))["ana@example.org"][0] == "complained"
    # The lists still name her: a list sync does not bring her back.
    assert await send(newsroom, "second") == Counter(sent=2)
    not_spam = arf(token, "not-spam", message_id, report_id="<ns@fbl>")
    assert "changes nothing" in await ingest(newsroom, tmp_path, "not-spam.eml", not_spam)


async def test_forged_unknown_and_foreign_reports_change_nothing(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    token, _ = (await first_sent(newsroom))["ana@example.org"]
    forged = token[:-13] + "a" * 13
    report = dsn(forged, [failed("ana@example.org", "5.1.1", "User unknown")])
    assert "not genuine" in await ingest(newsroom, tmp_path, "forged.eml", report)
    unknown = delivery_token(await _signer(newsroom), 999_999)
    report = dsn(unknown, [failed("ana@example.org", "5.1.1", "User unknown")])
    assert "no longer exists" in await ingest(newsroom, tmp_path, "unknown.eml", report)
    # A non-standard bounce for Ana's delivery that quotes someone else's address.
    quoting = qmail(token, "zed@elsewhere.example", "Sorry, no mailbox here by that name.")
    assert "unrecognised" in await ingest(newsroom, tmp_path, "quoting.eml", quoting)
    assert {status for status, _, _ in (await people(newsroom)).values()} == {"active"}
    listed = json.loads(await command(newsroom, "bounces", "list", "--json"))
    assert len(listed) == 3 and all(e["action"].startswith("nothing") for e in listed)


async def test_reports_without_the_envelope_token_are_read_by_their_returned_headers(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    tokens = await first_sent(newsroom)
    # A report sent to the bare address, the delivery's header quoted.
    by_header = dsn(
        "",
        [failed("ana@example.org", "5.1.1", "unknown")],
        returned_token=tokens["ana@example.org"][0],
    )
    assert "ana@example.org (first): bounced" in await ingest(
        newsroom, tmp_path, "h.eml", by_header
    )
    # Only the Message-ID quoted.
    by_id = dsn(
        "",
        [failed("ben@example.org", "5.1.1", "unknown")],
        message_id=tokens["ben@example.org"][1],
        report_id="<other@mx>",
    )
    assert "ben@example.org (first): bounced" in await ingest(newsroom, tmp_path, "m.eml", by_id)


async def test_ingest_reads_mbox_files_and_standard_input(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    tokens = await first_sent(newsroom)
    box = b""
    for n, address in enumerate(("ana@example.org", "ben@example.org")):
        raw = dsn(tokens[address][0], [failed(address, "5.1.1", "gone")], report_id=f"<b{n}@mx>")
        box += b"From MAILER-DAEMON Mon Nov 30 08:00:00 2026\n" + raw.replace(b"\r\n", b"\n")
        box += b"\n"
    path = tmp_path / "returned.mbox"
    path.write_bytes(box)
    output = await command(
        newsroom, "bounces", "ingest", str(path), str(tmp_path / "missing.eml"), code=1
    )
    assert output.count("bounced") == 2
    assert f"{path}#2" in output
    # As Postfix's local delivery hands a message to an alias's command: a From_ line and
    # the envelope recipient in Delivered-To (the report's own To is the bare address).
    token = tokens["chen@example.org"][0]
    stdin = (
        b"From MAILER-DAEMON  Mon Nov 30 08:00:00 2026\r\nReturn-Path: <>\r\n"
        + f"X-Original-To: bounces+{token}@example.org\r\n".encode()
        + f"Delivered-To: bounces+{token}@example.org\r\n".encode()
        + dsn("", [failed("chen@example.org", "5.1.1", "gone")], report_id="<c@mx>")
    )
    args = ["--config", str(newsroom.root / "config.toml"), "bounces", "ingest", "-"]
    result = await asyncio.to_thread(CliRunner().invoke, app, args, input=stdin)
    assert result.exit_code == 0, result.output
    assert "chen@example.org (first): bounced" in result.output


async def test_the_circuit_breaker_pauses_a_release_until_send_resumes_it(
    newsroom: Newsroom,
) -> None:
    bounces_on(newsroom, breaker_min_sent=20)
    newsroom.subscribers("press", [f"p{n}@example.org,,en,,,no" for n in range(40)])
    newsroom.release("big", publish_at=utc(-60), languages=("en",))
    await run_once(newsroom.settings())
    tokens = await sent(newsroom, "big")
    # Half the list is sent when the bounces come in (the rest still waits: queued).
    async with runtime(newsroom.settings()) as rt, rt.db.engine.begin() as conn:
        await conn.execute(
            deliveries.update()
            .where(deliveries.c.id % 2 == 0)
            .values(status="queued", sent_at=None)
        )
    async with runtime(newsroom.settings()) as rt:
        ids = await _sent_addresses(rt)
        for n, address in enumerate(sorted(ids)[:2]):
            report = dsn(
                tokens[address][0], [failed(address, "5.1.1", "gone")], report_id=f"<{n}@x>"
            )
            done = await _process(rt, report, utc())
        assert done.paused is not None and "hard bounces" in done.paused
    status = await command(newsroom, "status", "big")
    assert "paused" in status
    _, stats = await run_once(newsroom.settings())
    assert not stats.outcomes  # nothing goes while paused
    assert "resumed" in await command(newsroom, "send", "big")
    _, stats = await run_once(newsroom.settings())
    assert sum(stats.outcomes.values()) == 20
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        assert (await conn.execute(select(releases.c.paused_at))).scalar() is None


async def _sent_addresses(rt: Runtime) -> list[str]:
    async with rt.db.engine.connect() as conn:
        rows = await conn.execute(
            select(subscribers.c.email)
            .join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.status == "sent")
        )
        return [r[0] for r in rows]


async def _signer(newsroom: Newsroom) -> Signer:
    async with runtime(newsroom.settings()) as rt:
        return rt.renderer.signer


async def _process(rt: Runtime, raw: bytes, now: datetime) -> Processed:
    return await process(rt.returns, rt.renderer.signer, rt.return_path, raw, now, via="ingest")


async def test_a_returned_message_is_kept_for_90_days_and_its_line_for_good(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    token, _ = (await first_sent(newsroom))["ana@example.org"]
    await ingest(newsroom, tmp_path, "a.eml", dsn(token, [failed("ana@example.org", "5.1.1", "x")]))
    await run_once(newsroom.settings(), now=utc() + timedelta(days=89))
    [kept] = json.loads(await command(newsroom, "bounces", "list", "--json"))
    assert kept["message_kept"] is True
    await run_once(newsroom.settings(), now=utc() + timedelta(days=91))
    [line] = json.loads(await command(newsroom, "bounces", "list", "--json"))
    assert line["message_kept"] is False and line["kind"] == "hard"


@pytest.mark.databases("sqlite")
async def test_a_report_the_store_cannot_save_is_left_for_the_mail_server_to_retry(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    token, _ = (await first_sent(newsroom))["ana@example.org"]
    async with runtime(newsroom.settings()) as rt, rt.db.engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE returns")  # the store refuses the write
    path = tmp_path / "ana.eml"
    path.write_bytes(dsn(token, [failed("ana@example.org", "5.1.1", "gone")]))
    output = await command(newsroom, "bounces", "ingest", str(path), code=TEMPFAIL)
    assert "not saved" in output
    assert (await people(newsroom))["ana@example.org"][0] == "active"


async def test_a_report_with_nul_and_undecodable_bytes_is_kept_on_either_store(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    token, _ = (await first_sent(newsroom))["ana@example.org"]
    report = dsn(token, [failed("ana@example.org", "5.1.1", "550 5.1.1 unknown \x00 user")])
    report = report.replace(b"unknown", b"unknown \xff\xfe")  # 8-bit junk, no charset
    output = await ingest(newsroom, tmp_path, "odd.eml", report)
    assert "ana@example.org (first): bounced" in output
    [line] = json.loads(await command(newsroom, "bounces", "list", "--json"))
    assert line["status"] == "5.1.1" and "\x00" not in line["diagnostic"]


@pytest.mark.databases("sqlite")
@pytest.mark.parametrize(
    ("block", "action"),
    [
        pytest.param(
            failed("ana@example.org", "5.0.0", "550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
            "bounced: the address never took a delivery",
            id="exchange-generic-5.0.0-then-5.1.10",
        ),
        pytest.param(
            failed("ana@example.org", "", "DNS; Host or domain name not found. Host not found"),
            "bounced: the address never took a delivery",
            id="postfix-no-such-domain",
        ),
        pytest.param(
            failed("ana@example.org", "5.2.2", "552 5.2.2 Mailbox quota exceeded"),
            "soft bounce, score 1 of 3",
            id="exim-mailbox-full",
        ),
        pytest.param(
            failed("ana@example.org", "5.7.1", "550 5.7.1 Client host blocked using Spamhaus"),
            "counted against the sender (deliverability alert), not the journalist",
            id="policy-block",
        ),
        pytest.param(
            {**failed("ana@example.org", "4.4.7", "451 4.4.7 Try later"), "Action": "delayed"},
            "nothing",
            id="delayed",
        ),
    ],
)
async def test_each_kind_of_report_does_what_it_should(
    newsroom: Newsroom, tmp_path: Path, block: dict[str, str], action: str
) -> None:
    token, _ = (await first_sent(newsroom))["ana@example.org"]
    output = await ingest(newsroom, tmp_path, "r.eml", dsn(token, [block]))
    assert output.rstrip().endswith(f"(first): {action}")
