"""The inbound endpoint for returned mail (``[bounces] listen``, web/inbound.py), as the
organisation's mail server reaches it: over SMTP (aiosmtplib) and LMTP (the standard
library's client), on a real socket, with the service running and a real store.

A release goes out first (outbox transport); the reports come back addressed to its
deliveries' return paths (tests/returns_mail.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import aiosmtplib
import pytest

from pressdispatch.service import Service
from pressdispatch.web.inbound import MAX_MESSAGE
from pressdispatch.web.server import listen

from .dispatching import Newsroom
from .returns_mail import dsn, failed
from .smtpd import HOST, free_port
from .test_bounces import PEOPLE, people, send, sent

T = TypeVar("T")

OVERSIZED = (b"x" * 76 + b"\r\n") * (MAX_MESSAGE // 78 + 1)  # in lines, as mail comes


def configure(newsroom: Newsroom, protocol: str = "smtp", port: int = 0) -> None:
    newsroom.write_config(
        bounces={
            "return_path": "bounces@example.org",
            "listen": f"{HOST}:{port}",
            "protocol": protocol,
        }
    )


async def release_sent(newsroom: Newsroom, protocol: str = "smtp") -> dict[str, str]:
    """Send a release to PEOPLE; address → its delivery's return-path token."""
    configure(newsroom, protocol)
    newsroom.subscribers("press", PEOPLE)
    await send(newsroom, "first")
    return {address: token for address, (token, _) in (await sent(newsroom, "first")).items()}


@asynccontextmanager
async def service(newsroom: Newsroom) -> AsyncIterator[int]:
    """The service running in this event loop, as `pressdispatch run` starts it; yields the
    port returned mail is taken on."""
    web, inbound = listen(HOST, 0), listen(HOST, 0)
    running = await Service.open(newsroom.settings())
    stop = asyncio.Event()
    task = asyncio.create_task(running.run(stop, listening=web, inbound=inbound))
    try:
        yield inbound[0].getsockname()[1]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await running.close()


def hard_bounce(token: str, address: str, report_id: str = "<report.1@mx.example.net>") -> bytes:
    return dsn(token, [failed(address, "5.1.1", "550 5.1.1 User unknown")], report_id=report_id)


async def smtp(port: int) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname=HOST, port=port, use_tls=False, start_tls=False, timeout=10)
    await client.connect()
    return client


async def in_thread(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(work)


@pytest.mark.databases("sqlite", "postgresql")
async def test_a_report_is_answered_250_once_it_is_recorded(newsroom: Newsroom) -> None:
    tokens = await release_sent(newsroom)
    async with service(newsroom) as port:
        rcpt = f"bounces+{tokens['ana@example.org']}@example.org"
        client = await smtp(port)
        # MAIL FROM:<>, as every bounce comes
        errors, reply = await client.sendmail(
            "", [rcpt], hard_bounce(tokens["ana@example.org"], "ana@example.org")
        )
        assert errors == {}
        assert reply.startswith("2.0.0")
        await client.quit()
        # Right after the reply, before the service stops: the store says so already.
        assert (await people(newsroom))["ana@example.org"][0] == "bounced"
        assert (await people(newsroom))["ben@example.org"][0] == "active"
    assert await send(newsroom, "second") == {"sent": 2}


async def test_only_the_return_path_is_accepted(newsroom: Newsroom) -> None:
    tokens = await release_sent(newsroom)
    async with service(newsroom) as port:
        client = await smtp(port)
        await client.mail("")
        for foreign in ("press@example.org", "bounces@elsewhere.example", "nobody@example.org"):
            with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
                await client.rcpt(foreign)
            assert refused.value.code == 550
            assert refused.value.message.startswith("5.1.1")
        # The bare return path is ours too: reports that lost the token come there.
        assert (await client.rcpt("Bounces@Example.org")).code == 250
        token = tokens["ben@example.org"]
        assert (await client.rcpt(f"bounces+{token}@example.org")).code == 250
        assert (await client.data(hard_bounce(token, "ben@example.org"))).code == 250
        await client.quit()
    assert (await people(newsroom))["ben@example.org"][0] == "bounced"


async def test_a_store_that_cannot_write_answers_451_and_the_retry_counts_once(
    newsroom: Newsroom,
) -> None:
    tokens = await release_sent(newsroom)
    path = newsroom.db_url.removeprefix("sqlite:///")
    # The database itself refuses the write (as a full disk would): a trigger, no mock.
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON returns "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    token = tokens["chen@example.org"]
    report = hard_bounce(token, "chen@example.org")
    async with service(newsroom) as port:
        client = await smtp(port)
        await client.mail("")
        await client.rcpt(f"bounces+{token}@example.org")
        with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
            await client.data(report)
        assert deferred.value.code == 451
        assert deferred.value.message.startswith("4.3.0")
        assert (await people(newsroom))["chen@example.org"][:2] == ("active", 0)
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("DROP TRIGGER refuse")
        # The sending server tries again, on the same connection or a later one.
        await client.mail("")
        await client.rcpt(f"bounces+{token}@example.org")
        assert (await client.data(report)).code == 250
        await client.quit()
        client = await smtp(port)
        await client.mail("")
        await client.rcpt(f"bounces+{token}@example.org")
        assert (await client.data(report)).code == 250  # read before: counted once
        await client.quit()
    assert (await people(newsroom))["chen@example.org"][:2] == ("bounced", 1)


async def test_a_message_over_the_size_limit_is_refused_552(newsroom: Newsroom) -> None:
    tokens = await release_sent(newsroom)
    token = tokens["ana@example.org"]
    huge = hard_bounce(token, "ana@example.org") + OVERSIZED
    async with service(newsroom) as port:
        client = await smtp(port)
        await client.mail("")
        await client.rcpt(f"bounces+{token}@example.org")
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.data(huge)
        assert refused.value.code == 552
        await client.quit()
    assert (await people(newsroom))["ana@example.org"][0] == "active"


async def test_lmtp_answers_once_per_recipient(newsroom: Newsroom) -> None:
    tokens = await release_sent(newsroom, protocol="lmtp")
    ana, ben = tokens["ana@example.org"], tokens["ben@example.org"]
    report = hard_bounce(ana, "ana@example.org")

    def deliver(port: int) -> list[tuple[int, bytes]]:
        with smtplib.LMTP(HOST, port, timeout=10) as lmtp:
            assert lmtp.ehlo()[0] == 250  # LHLO: smtplib's LMTP says it instead of EHLO
            assert lmtp.mail("")[0] == 250
            assert lmtp.rcpt(f"bounces+{ana}@example.org")[0] == 250
            assert lmtp.rcpt("press@example.org")[0] == 550
            assert lmtp.rcpt(f"bounces+{ben}@example.org")[0] == 250
            # One reply per accepted recipient: the second would time out if missing.
            replies = [lmtp.data(report), lmtp.getreply()]
            # aiosmtpd's own refusal of an oversized message, once per recipient too.
            assert lmtp.mail("")[0] == 250
            assert lmtp.rcpt(f"bounces+{ana}@example.org")[0] == 250
            assert lmtp.rcpt(f"bounces+{ben}@example.org")[0] == 250
            replies += [lmtp.data(OVERSIZED), lmtp.getreply()]
            assert lmtp.noop()[0] == 250  # and the conversation is still in step
            return replies

    async with service(newsroom) as port:
        replies = await in_thread(lambda: deliver(port))
    assert [code for code, _ in replies] == [250, 250, 552, 552]
    # The message was read once: it is about Ana (the first token), not Ben.
    found = await people(newsroom)
    assert found["ana@example.org"][:2] == ("bounced", 1)
    assert found["ben@example.org"][:2] == ("active", 0)


# -- `pressdispatch run`, as an operator starts it -----------------------------------------


def start(newsroom: Newsroom) -> subprocess.Popen[bytes]:
    # The same signing key as this process: the tokens sent here must verify there.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSDISPATCH_")}
    if "PRESSDISPATCH_SIGNING_KEY" in os.environ:
        env["PRESSDISPATCH_SIGNING_KEY"] = os.environ["PRESSDISPATCH_SIGNING_KEY"]
    env["PYTHONUNBUFFERED"] = "1"
    config = newsroom.root / "config.toml"
    return subprocess.Popen(
        [sys.executable, "-m", "pressdispatch", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=(newsroom.root / "stderr").open("wb"),
        stdin=subprocess.DEVNULL,
        cwd=newsroom.root,
        env=env,
    )


def log(newsroom: Newsroom) -> str:
    return (newsroom.root / "stderr").read_text(encoding="utf-8")


@pytest.mark.e2e
async def test_run_takes_returned_mail_over_lmtp(newsroom: Newsroom) -> None:
    tokens = await release_sent(newsroom)
    port = free_port()
    configure(newsroom, "lmtp", port)
    proc = start(newsroom)
    try:
        announced = f"returned mail accepted at {HOST}:{port} (lmtp)"
        deadline = time.monotonic() + 60
        while announced not in log(newsroom):
            assert proc.poll() is None, log(newsroom)
            assert time.monotonic() < deadline, "not announced in time:\n" + log(newsroom)
            await asyncio.sleep(0.05)
        token = tokens["ben@example.org"]

        def deliver() -> tuple[int, bytes]:
            with smtplib.LMTP(HOST, port, timeout=10) as lmtp:
                lmtp.ehlo()
                lmtp.mail("")
                lmtp.rcpt(f"bounces+{token}@example.org")
                return lmtp.data(hard_bounce(token, "ben@example.org"))

        assert (await in_thread(deliver))[0] == 250
        assert (await people(newsroom))["ben@example.org"][0] == "bounced"
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, log(newsroom)
    assert "returned mail via lmtp: hard bounce 5.1.1: ben@example.org" in log(newsroom)


@pytest.mark.e2e
def test_a_listen_port_in_use_is_one_line_and_status_2(newsroom: Newsroom) -> None:
    with socket.socket() as other:
        other.bind((HOST, 0))
        other.listen()
        port = other.getsockname()[1]
        configure(newsroom, port=port)
        proc = start(newsroom)
        assert proc.wait(60) == 2
    assert log(newsroom) == f"port {port} is in use: set [bounces] listen\n"


async def test_a_client_still_connected_does_not_hold_up_stopping(newsroom: Newsroom) -> None:
    await release_sent(newsroom)
    async with service(newsroom) as port:
        client = await smtp(port)
        await client.mail("")  # and then silence, as a mail server keeping a connection
    # Stopped (within the helper's bound); the client finds itself hung up on.
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await client.noop()
