"""The IMAP door for returned mail (imap.py), against a real Dovecot (tests/imapd.py).

A release goes out through the test's own delivery, its returns are put in the
mailbox with APPEND beside mail that is none of ours, and `pressdispatch bounces
poll` or the running service reads them: what was read moves to Processed, what
was not to Unrecognized, and nothing is deleted or touched that the poll did not read.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pressdispatch.imap import Account, MailboxError
from pressdispatch.service import Service
from pressdispatch.web.server import listen

from .dispatching import Newsroom, utc
from .imapd import PASSWORD, Imapd, Message, imapd
from .returns_mail import auto_reply, dsn, failed
from .test_bounces import PEOPLE, command, people, send, sent

pytestmark = pytest.mark.databases("sqlite")

PASSWORD_ENV = "PRESSDISPATCH_TEST_IMAP_PASSWORD"

HUMAN = (
    b"From: Dana Reporter <dana@daily.example>\r\n"
    b"To: bounces@example.org\r\n"
    b"Subject: Re: Campaign in Minsk\r\n"
    b"Message-ID: <human.1@daily.example>\r\n\r\n"
    b"Could I speak to someone about this?\r\n"
)
NOISE = (
    b"From: robot@ads.example\r\n"
    b"To: bounces@example.org\r\n"
    b"Subject: Win a prize\r\n"
    b"Message-ID: <noise.1@ads.example>\r\n\r\n"
    b"Click here.\r\n"
)
SOMEONE_DELETED = (
    b"From: colleague@example.org\r\n"
    b"To: bounces@example.org\r\n"
    b"Subject: Old note\r\n"
    b"Message-ID: <deleted.1@example.org>\r\n\r\n"
    b"Flagged deleted by someone else's client, not yet expunged.\r\n"
)


@pytest.fixture
def server() -> Iterator[Imapd]:
    with imapd() as running:
        yield running


def configure(newsroom: Newsroom, server: Imapd, **extra: object) -> None:
    bounces = {
        "return_path": "bounces@example.org",
        "imap_url": server.url(),
        "imap_password_env": PASSWORD_ENV,
        **extra,
    }
    newsroom.write_config(bounces=bounces)


def put(server: Imapd, *messages: bytes, flags: tuple[str, ...] = ()) -> None:
    with server.mailbox() as box:
        for raw in messages:
            box.append(raw, "INBOX", flag_set=flags)


def ids(found: list[Message]) -> list[str]:
    return [m.message_id for m in found]


async def returns_for_ana_and_chen(newsroom: Newsroom) -> tuple[bytes, bytes]:
    newsroom.subscribers("press", PEOPLE)
    assert await send(newsroom, "first") == Counter(sent=3)
    tokens = await sent(newsroom, "first")
    hard = dsn(tokens["ana@example.org"][0], [failed("ana@example.org", "5.1.1", "User unknown")])
    return hard, auto_reply(tokens["chen@example.org"][0])


@pytest.mark.e2e  # a real IMAP server
async def test_a_poll_files_what_it_read_and_deletes_nothing(
    newsroom: Newsroom, server: Imapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    configure(newsroom, server)
    hard, away = await returns_for_ana_and_chen(newsroom)
    put(server, hard, HUMAN, away, NOISE)
    put(server, SOMEONE_DELETED, flags=("\\Deleted",))
    with server.mailbox() as box:
        box.folder.create("Archive")
        box.append(HUMAN.replace(b"human.1", b"archived.1"), "Archive")

    output = await command(newsroom, "bounces", "poll")

    lines = output.strip().splitlines()
    assert len(lines) == 4, output
    assert lines[0].startswith("UID 1: hard bounce 5.1.1: ana@example.org (first): bounced")
    assert lines[0].endswith("(moved to Processed)")
    assert lines[1].startswith("UID 2: unrecognised message")
    assert lines[2].startswith("UID 3: auto-reply: chen@example.org (first)")
    assert lines[3].startswith("UID 4: unrecognised message")
    assert output.count("(moved to Unrecognized)") == 2
    assert (await people(newsroom))["ana@example.org"][0] == "bounced"
    assert (await people(newsroom))["chen@example.org"][0] == "active"
    after = server.contents()
    assert ids(after["Processed"]) == ["<report.1@mx.example.net>", "<away.1@example.org>"]
    assert ids(after["Unrecognized"]) == ["<human.1@daily.example>", "<noise.1@ads.example>"]
    # Someone else's deleted message, and another folder: not touched.
    assert ids(after["INBOX"]) == ["<deleted.1@example.org>"]
    assert after["INBOX"][0].flags == ("\\Deleted",)
    assert ids(after["Archive"]) == ["<archived.1@daily.example>"]
    # Read without being marked seen: a person still finds the human message unread.
    assert all("\\Seen" not in m.flags for m in after["Unrecognized"])
    assert sum(len(found) for found in after.values()) == 6
    listed = json.loads(await command(newsroom, "bounces", "list", "--json"))
    assert Counter(r["via"] for r in listed) == Counter(imap=4)

    # A second poll finds nothing new and changes nothing.
    assert (await command(newsroom, "bounces", "poll")).strip() == ""
    assert server.contents() == after
    assert len(json.loads(await command(newsroom, "bounces", "list", "--json"))) == 4


@pytest.mark.e2e  # a real IMAP server
async def test_a_message_that_fails_stays_in_place_and_is_read_at_the_next_poll(
    newsroom: Newsroom, server: Imapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    configure(newsroom, server)
    hard, _ = await returns_for_ana_and_chen(newsroom)
    put(server, hard)
    database = Path(newsroom.settings().database.url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as conn:  # the store cannot record returns for a while
        conn.execute("ALTER TABLE returns RENAME TO returns_away")

    output = await command(newsroom, "bounces", "poll", code=1)

    assert "UID 1: left in place, to be read again:" in output
    assert ids(server.contents()["INBOX"]) == ["<report.1@mx.example.net>"]
    assert (await people(newsroom))["ana@example.org"][0] == "active"
    with sqlite3.connect(database) as conn:
        conn.execute("ALTER TABLE returns_away RENAME TO returns")
    output = await command(newsroom, "bounces", "poll")
    assert "ana@example.org (first): bounced" in output
    assert "(moved to Processed)" in output
    assert server.contents()["INBOX"] == []
    assert (await people(newsroom))["ana@example.org"][0] == "bounced"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("capabilities", "prefix"),
    [
        # No MOVE: COPY, then UID EXPUNGE of the copied message alone (UIDPLUS).
        ("IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS", "INBOX."),
        # Neither: the original stays, flagged \Deleted, for its owner's client to expunge.
        ("IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE", ""),
    ],
    ids=["uidplus-inbox-prefix", "no-uidplus"],
)
async def test_a_server_without_move_loses_nobody_elses_deleted_mail(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch, capabilities: str, prefix: str
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with imapd(capabilities=capabilities, prefix=prefix) as server:
        configure(newsroom, server)
        hard, _ = await returns_for_ana_and_chen(newsroom)
        put(server, SOMEONE_DELETED, flags=("\\Deleted",))
        put(server, hard, NOISE)

        output = await command(newsroom, "bounces", "poll")

        assert f"(moved to {prefix}Processed)" in output
        assert f"(moved to {prefix}Unrecognized)" in output
        after = server.contents()
        assert ids(after[f"{prefix}Processed"]) == ["<report.1@mx.example.net>"]
        assert ids(after[f"{prefix}Unrecognized"]) == ["<noise.1@ads.example>"]
        inbox = ids(after["INBOX"])
        assert "<deleted.1@example.org>" in inbox
        if "UIDPLUS" in capabilities:
            assert inbox == ["<deleted.1@example.org>"]
        # Read again, nothing new: the copied originals are flagged and left out.
        assert (await command(newsroom, "bounces", "poll")).strip() == ""


@pytest.mark.e2e  # a real IMAP server
async def test_the_service_polls_and_a_missing_password_is_logged_not_fatal(
    newsroom: Newsroom,
    server: Imapd,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    configure(newsroom, server, imap_interval="0.2s")
    hard, _ = await returns_for_ana_and_chen(newsroom)
    put(server, hard)
    stop = asyncio.Event()
    service = await Service.open(newsroom.settings())
    running = asyncio.create_task(service.run(stop, listening=listen("127.0.0.1", 0)))
    try:
        missing = f"{PASSWORD_ENV} is not set"
        await until(lambda: caplog.text.count(missing) >= 2)  # each poll says it again
        assert not running.done()
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

        async def inbox_empty() -> bool:
            return not (await asyncio.to_thread(server.contents))["INBOX"]

        for _ in range(100):
            if await inbox_empty():
                break
            await asyncio.sleep(0.1)
        contents = await asyncio.to_thread(server.contents)
        assert ids(contents["Processed"]) == ["<report.1@mx.example.net>"]
    finally:
        stop.set()
        await running
        await service.close()
    assert (await people(newsroom))["ana@example.org"][0] == "bounced"


@pytest.mark.e2e  # a real IMAP server
async def test_a_missing_password_or_a_refused_login_is_one_line(
    newsroom: Newsroom, server: Imapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    configure(newsroom, server)
    output = await command(newsroom, "bounces", "poll", code=1)
    assert f"error: {PASSWORD_ENV} is not set" in output
    # Last: Dovecot makes the next login from this address wait after a refused one.
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    output = await command(newsroom, "bounces", "poll", code=1)
    assert "the server refused the login" in output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "imaps://bounces@mail.example.org",
            Account("tls", "mail.example.org", 993, "bounces", "INBOX"),
        ),
        (
            "imap://press%40example.org@mail.example.org/Returns/Bounces",
            Account("starttls", "mail.example.org", 143, "press@example.org", "Returns/Bounces"),
        ),
        ("imap://u@127.0.0.1:1143", Account("plain", "127.0.0.1", 1143, "u", "INBOX")),
        ("imap://u@[::1]:1143/INBOX", Account("plain", "::1", 1143, "u", "INBOX")),
    ],
)
def test_the_url_says_where_and_how_to_connect(url: str, expected: Account) -> None:
    assert Account.of(url) == expected


def test_a_url_without_a_user_is_refused() -> None:
    with pytest.raises(MailboxError, match="expected imaps://user@host"):
        Account.of("imaps://mail.example.org")


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = utc(timeout)
    while not condition():
        assert utc() < deadline, "timed out"
        await asyncio.sleep(0.05)
