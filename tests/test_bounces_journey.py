"""The whole loop of issue 12, end to end: a release goes out through a real SMTP relay,
reports come back through the inbound endpoint and through `bounces ingest`, and the
next release goes to everyone else exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiosmtplib
import pytest

from pressdispatch.verp import ReturnPath

from .dispatching import Newsroom, cli, run_once, utc
from .returns_mail import arf, dsn, failed
from .smtpd import HOST, smtp_server
from .test_bounces import people
from .test_inbound import service

PEOPLE = [
    "ana@example.org,Ana,en,,,no",
    "ben@example.org,Ben,fr,,,no",
    "chen@example.org,Chen,en,,,no",
    "dia@example.org,Dia,fr,,,no",
]


@pytest.mark.databases("sqlite", "postgresql")
async def test_suppressed_journalists_get_nothing_and_everyone_else_exactly_once(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    newsroom.subscribers("press", PEOPLE)
    return_path = ReturnPath("bounces@example.org")
    async with smtp_server() as relay:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": relay.host, "port": relay.port, "security": "none"},
            bounces={"return_path": "bounces@example.org", "listen": f"{HOST}:0"},
        )
        newsroom.release("first", publish_at=utc(-120))
        await run_once(newsroom.settings())
        await relay.hung_up()
        # What the relay saw is all the test knows of the tokens, as a mail server would.
        first = {m.rcpt_tos[0]: m for m in relay.messages}
        assert sorted(first) == sorted(row.split(",")[0] for row in PEOPLE)
        token = {a: return_path.token_in(m.mail_from) or "" for a, m in first.items()}
        message_id = {a: m.message_id or "" for a, m in first.items()}

        # Ana's server says she is unknown: through the inbound endpoint, as SMTP.
        async with service(newsroom) as port:
            client = aiosmtplib.SMTP(hostname=HOST, port=port, timeout=10)
            await client.connect()
            report = dsn(token["ana@example.org"], [failed("ana@example.org", "5.1.1", "gone")])
            errors, _ = await client.sendmail("", [first["ana@example.org"].mail_from], report)
            assert errors == {}
            await client.quit()
        # Ben reports it as spam; Chen's mailbox is full (soft: still mailed): by ingest.
        complaint = tmp_path / "ben.eml"
        complaint.write_bytes(arf(token["ben@example.org"], "abuse", message_id["ben@example.org"]))
        full = tmp_path / "chen.eml"
        full.write_bytes(
            dsn(
                token["chen@example.org"],
                [failed("chen@example.org", "5.2.2", "552 5.2.2 Mailbox full")],
                report_id="<full@mx>",
            )
        )
        output = (
            await asyncio.to_thread(cli, newsroom, "bounces", "ingest", str(complaint), str(full))
        ).output
        assert "complained" in output and "soft bounce, score 1 of 3" in output
        assert {a: s for a, (s, _, _) in (await people(newsroom)).items()} == {
            "ana@example.org": "bounced",
            "ben@example.org": "complained",
            "chen@example.org": "active",
            "dia@example.org": "active",
        }

        relay.messages.clear()
        newsroom.release("second", publish_at=utc(-60))
        await run_once(newsroom.settings())
        await relay.hung_up()
    second = Counter(m.rcpt_tos[0] for m in relay.messages)
    assert second == Counter({"chen@example.org": 1, "dia@example.org": 1})
