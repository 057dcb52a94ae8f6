"""The press officer's levers through the real command line: status, send, cancel, retry,
send-test, db upgrade and run --once.

Every test that needs a store runs on SQLite and on PostgreSQL. The commands call
asyncio.run themselves, so the tests are plain functions; the SMTP server runs in its own
thread (tests/smtpd.py) and is started from a private event loop around the CLI calls.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from pressdispatch.cli import app

from .dispatching import Newsroom, cli, make_newsroom, run_once, utc
from .smtpd import Fault, SmtpServer, free_port, smtp_server

pytestmark = pytest.mark.databases("sqlite", "postgresql")

runner = CliRunner()
PARIS = ZoneInfo("Europe/Paris")

PEOPLE = [
    "ana@example.org,Ana,fr,,,no",
    "ben@example.org,Ben,en,,,yes",  # cleared for embargoed copies
    "chen@example.org,Chen,zh en,,,no",
    "dia@example.org,Dia,es,,,no",  # no Spanish version: nothing
]


def status_json(newsroom: Newsroom, *release_id: str) -> dict[str, dict[str, Any]]:
    document = json.loads(cli(newsroom, "status", *release_id, "--json").stdout)
    assert document["problems"] == []
    return {r["id"]: r for r in document["releases"]}


def variants(report: Mapping[str, Any]) -> dict[tuple[str, str, str], int]:
    return {(v["language"], v["tier"], v["status"]): v["count"] for v in report["by_variant"]}


def paris(moment: datetime) -> str:
    local = moment.astimezone(PARIS)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} (Europe/Paris)"


@contextmanager
def smtp(
    newsroom: Newsroom, faults: Mapping[str, Fault], **sections: Mapping[str, Any]
) -> Iterator[SmtpServer]:
    """A real SMTP server (own thread) for sync tests; the newsroom is pointed at it."""
    loop = asyncio.new_event_loop()
    manager = smtp_server(faults)
    server = loop.run_until_complete(manager.__aenter__())
    try:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={
                "host": server.host,
                "port": server.port,
                "security": "none",
                "concurrency": 1,
                "timeout": "5s",
            },
            **sections,
        )
        yield server
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


# For behaviour that does not depend on the store: one backend is enough.
sqlite_only = pytest.mark.databases("sqlite")


def outbox(newsroom: Newsroom, folder: str) -> list[Path]:
    return sorted((newsroom.root / "var" / "outbox" / folder).glob("*.eml"))


# status


FUTURE_SUMMER = datetime(2031, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 CEST in Paris
FUTURE_WINTER = datetime(2031, 1, 15, 10, 0, tzinfo=UTC)  # 11:00 CET in Paris
LONG_AGO = datetime(2020, 3, 2, 9, 0, tzinfo=UTC)  # far beyond max_lateness


def test_status_shows_every_state_with_counts_and_local_times(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("draft-note", publish_at=FUTURE_WINTER, status="draft")
    newsroom.release("future", publish_at=FUTURE_SUMMER)
    newsroom.release("early", publish_at=FUTURE_SUMMER, embargo_send_at=utc(-60), title="First")
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.release("called-off", publish_at=FUTURE_SUMMER, status="cancelled")
    newsroom.release("ancient", publish_at=LONG_AGO)
    newsroom.release("vanished", publish_at=FUTURE_WINTER)
    cli(newsroom, "status")  # the store now knows "vanished"
    shutil.rmtree(newsroom.root / "releases" / "vanished")  # deleted before it started

    ran = cli(newsroom, "run", "--once")
    assert "launch: public copy queued for " in ran.stdout  # counts: test_run_once_summary
    assert "early: embargoed copy queued for " in ran.stdout
    assert "4 sent, 0 deferred, 0 failed" in ran.stdout
    assert "late: ancient (public copy) is overdue" in ran.stderr
    assert "`pressdispatch send ancient`" in ran.stderr
    # Edited after its embargoed copy went out: reported, not applied.
    newsroom.release("early", publish_at=FUTURE_SUMMER, embargo_send_at=utc(-60), title="Second")

    reports = status_json(newsroom)
    assert {rid: r["state"] for rid, r in reports.items()} == {
        "draft-note": "draft",
        "future": "scheduled",
        "early": "embargoed",
        "launch": "done",
        "called-off": "cancelled",
        "ancient": "late",
        "vanished": "missing",
    }
    assert {rid for rid, r in reports.items() if r["changed"]} == {"early"}
    launch = reports["launch"]
    assert launch["total"] == 3
    assert launch["by_status"] == {"sent": 3}
    assert variants(launch) == {("en", "public", "sent"): 2, ("fr", "public", "sent"): 1}
    early = reports["early"]
    assert early["by_status"] == {"sent": 1}
    assert variants(early) == {("en", "embargoed", "sent"): 1}
    assert datetime.fromisoformat(early["publish_at"]) == FUTURE_SUMMER
    assert early["publish_at_local"] == "2031-07-01 12:00 CEST (Europe/Paris)"
    for quiet in ("draft-note", "future", "called-off", "ancient", "vanished"):
        assert reports[quiet]["total"] == 0
        assert reports[quiet]["by_status"] == {}
        assert reports[quiet]["errors"] == []
    assert reports["draft-note"]["publish_at_local"] == "2031-01-15 11:00 CET (Europe/Paris)"

    human = cli(newsroom, "status").stdout
    for line in (
        "draft-note: draft",
        "future: scheduled",
        "early: embargoed",
        "launch: done",
        "called-off: cancelled",
        "ancient: late",
        "vanished: missing",
        "publish at 2031-07-01 12:00 CEST (Europe/Paris)",
        "publish at 2031-01-15 11:00 CET (Europe/Paris)",
        "publish at 2020-03-02 10:00 CET (Europe/Paris)",
        f"embargoed copies at {paris(datetime.fromisoformat(early['embargo_send_at']))}",
        "start it with `pressdispatch send ancient`",
        "deliveries: 3 sent",
    ):
        assert line in human, line
    table = [line.split() for line in human.splitlines()]
    assert ["en", "public", "sent", "2"] in table
    assert ["fr", "public", "sent", "1"] in table
    assert ["en", "embargoed", "sent", "1"] in table


@sqlite_only
def test_status_human_output_flags_files_changed_after_the_dispatch_started(
    newsroom: Newsroom,
) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("early", publish_at=FUTURE_SUMMER, embargo_send_at=utc(-60), title="First")
    cli(newsroom, "run", "--once")
    newsroom.release("early", publish_at=FUTURE_SUMMER, embargo_send_at=utc(-60), title="Second")
    assert status_json(newsroom)["early"]["changed"] is True
    assert "files changed after dispatch started" in cli(newsroom, "status").stdout


def test_status_of_one_release_and_of_an_unknown_id(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("future", publish_at=FUTURE_SUMMER)
    newsroom.release("other", publish_at=FUTURE_WINTER)
    one = cli(newsroom, "status", "future").stdout
    assert "future: scheduled" in one
    assert "other" not in one
    assert list(status_json(newsroom, "future")) == ["future"]
    unknown = cli(newsroom, "status", "nope", code=1)
    assert "no release 'nope'" in unknown.stderr
    assert cli(newsroom, "status", "nope", "--json", code=1).stdout == ""


def test_status_lists_last_errors_then_retry_sends_once_the_fault_is_gone(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers(
        "press",
        ["ok@example.org,,en,,,no", "spam@example.org,,en,,,no", "grey@example.org,,en,,,no"],
    )
    faults = {"spam@example.org": Fault.reject_data(), "grey@example.org": Fault.tempfail()}
    # The deferred delivery must not come due again while this run still sends the others.
    with smtp(newsroom, faults, scheduler={"retry_initial": "1h", "retry_max": "2h"}) as server:
        ran = cli(newsroom, "run", "--once", code=1)  # a failed delivery: exit status 1
        assert "launch: public copy queued for " in ran.stdout
        assert "launch: 1 sent, 1 deferred, 1 failed" in ran.stdout
        assert "1 sent, 1 deferred, 1 failed" in ran.stdout.splitlines()[-1]

        report = status_json(newsroom, "launch")["launch"]
        assert report["state"] == "sending"  # the deferred one is still pending
        assert report["by_status"] == {"sent": 1, "deferred": 1, "failed": 1}
        errors = {e["address"]: e for e in report["errors"]}
        assert set(errors) == {"spam@example.org", "grey@example.org"}
        assert (errors["spam@example.org"]["status"], errors["spam@example.org"]["code"]) == (
            "failed",
            554,
        )
        assert "Message rejected" in errors["spam@example.org"]["reply"]
        assert (errors["grey@example.org"]["status"], errors["grey@example.org"]["code"]) == (
            "deferred",
            451,
        )
        assert errors["grey@example.org"]["attempts"] == 1
        human = cli(newsroom, "status", "launch").stdout
        assert "failed: spam@example.org (attempt 1) 554" in human
        assert "deferred: grey@example.org (attempt 1) 451" in human
        assert "deliveries: 1 deferred, 1 failed, 1 sent" in human

        server.faults.clear()
        again = cli(newsroom, "retry", "launch")
        assert "launch: 2 deliveries queued again" in again.stdout
        assert status_json(newsroom, "launch")["launch"]["by_status"] == {"sent": 1, "queued": 2}
        resent = cli(newsroom, "run", "--once")
        assert "launch: 2 sent" in resent.stdout
        assert "2 sent, 0 deferred, 0 failed" in resent.stdout
    assert Counter(server.recipients()) == Counter(
        ["ok@example.org", "spam@example.org", "grey@example.org"]
    )
    report = status_json(newsroom, "launch")["launch"]
    assert (report["state"], report["by_status"], report["errors"]) == ("done", {"sent": 3}, [])


def test_retry_does_not_mail_an_address_that_bounced(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", ["ok@example.org,,en,,,no", "gone@example.org,,en,,,no"])
    with smtp(newsroom, {"gone@example.org": Fault.user_unknown()}) as server:
        cli(newsroom, "run", "--once", code=1)
        server.faults.clear()  # the server would now take it, but the address bounced
        cli(newsroom, "retry", "launch")
        cli(newsroom, "run", "--once")
    assert server.recipients() == ["ok@example.org"]


# run --once


def test_run_once_summary(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.release("early", publish_at=FUTURE_SUMMER, embargo_send_at=utc(-60))
    newsroom.release("ancient", publish_at=LONG_AGO)
    ran = cli(newsroom, "run", "--once")
    lines = ran.stdout.splitlines()
    assert sorted(lines[:2]) == [  # in the order the store lists what is due
        "early: embargoed copy queued for 1 journalists",
        "launch: public copy queued for 3 journalists",
    ]
    assert lines[2:] == [
        "early: 1 sent",
        "launch: 3 sent",
        "4 sent, 0 deferred, 0 failed",
    ]
    assert ran.stderr.splitlines() == [
        "late: ancient (public copy) is overdue by more than 1 day, 0:00:00; "
        "start it with `pressdispatch send ancient`"
    ]
    assert cli(newsroom, "run", "--once").stdout.splitlines() == ["0 sent, 0 deferred, 0 failed"]


def test_a_relay_that_cannot_work_as_configured_stops_sending_and_status_says_why(
    newsroom: Newsroom,
) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("launch", publish_at=utc(-60))
    with smtp(newsroom, {}) as server:
        relay = {"host": server.host, "port": server.port, "concurrency": 1}
        newsroom.write_config(transport={"kind": "smtp"}, smtp={**relay, "security": "starttls"})
        ran = cli(newsroom, "run", "--once", code=1)
        assert server.messages == []
        assert server.connections == 1
        because = (
            f"smtp {server.host}:{server.port}: the server does not offer STARTTLS, "
            'which smtp.security = "starttls" requires'
        )
        assert ran.stderr.splitlines()[-1].startswith(f"error: sending stopped: {because}")
        shown = cli(newsroom, "status").stdout.splitlines()
        assert shown[0].startswith("sending stopped since ")
        assert because in shown[0]
        document = json.loads(cli(newsroom, "status", "--json").stdout)
        assert because in document["sending"]["stopped"]["message"]
        assert document["sending"]["workers"] == []  # run --once has signed off
        # Nobody's copy was spent: all three still wait, none deferred, none attempted.
        assert document["releases"][0]["by_status"] == {"queued": 3}

        newsroom.write_config(transport={"kind": "smtp"}, smtp={**relay, "security": "none"})
        assert cli(newsroom, "run", "--once").stdout.splitlines()[-1] == (
            "3 sent, 0 deferred, 0 failed"
        )
    assert json.loads(cli(newsroom, "status", "--json").stdout)["sending"]["stopped"] is None


# send


def test_send_starts_a_late_release_and_run_once_sends_it(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("ancient", publish_at=LONG_AGO)
    first = cli(newsroom, "run", "--once")
    assert "0 sent, 0 deferred, 0 failed" in first.stdout
    assert "late: ancient (public copy)" in first.stderr
    assert outbox(newsroom, "ancient") == []
    assert status_json(newsroom)["ancient"]["state"] == "late"

    started = cli(newsroom, "send", "ancient")
    assert "ancient: will be sent" in started.stdout
    assert "pressdispatch run --once" in started.stdout
    assert status_json(newsroom)["ancient"]["state"] == "due"

    ran = cli(newsroom, "run", "--once")
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("ancient: public copy queued for ")
    assert lines[1:] == ["ancient: 3 sent", "3 sent, 0 deferred, 0 failed"]
    assert "late:" not in ran.stderr
    assert len(outbox(newsroom, "ancient")) == 3
    assert status_json(newsroom)["ancient"]["state"] == "done"
    assert cli(newsroom, "run", "--once").stdout.splitlines() == ["0 sent, 0 deferred, 0 failed"]


def test_send_refuses_a_future_draft_cancelled_or_unknown_release(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("future", publish_at=FUTURE_SUMMER)
    newsroom.release("old-draft", publish_at=utc(-3600), status="draft")
    newsroom.release("old-cancelled", publish_at=utc(-3600), status="cancelled")
    newsroom.release("old-ready", publish_at=utc(-3600))
    cli(newsroom, "cancel", "old-ready")

    future = cli(newsroom, "send", "future", code=1).stderr
    assert "future is scheduled for 2031-07-01T" in future
    assert "starts by itself" in future
    assert "old-draft is draft" in cli(newsroom, "send", "old-draft", code=1).stderr
    assert "old-cancelled is cancelled" in cli(newsroom, "send", "old-cancelled", code=1).stderr
    assert "old-ready is cancelled" in cli(newsroom, "send", "old-ready", code=1).stderr
    assert "no release 'nope'" in cli(newsroom, "send", "nope", code=1).stderr

    assert cli(newsroom, "run", "--once").stdout.splitlines() == ["0 sent, 0 deferred, 0 failed"]
    assert not (newsroom.root / "var" / "outbox").exists()


@sqlite_only
def test_send_on_a_future_draft_or_cancelled_release_says_why_not_scheduled(
    newsroom: Newsroom,
) -> None:
    newsroom.release("memo", publish_at=FUTURE_SUMMER, status="draft")
    newsroom.release("halted", publish_at=FUTURE_SUMMER, status="cancelled")
    draft = cli(newsroom, "send", "memo", code=1).stderr
    cancelled = cli(newsroom, "send", "halted", code=1).stderr
    assert "memo is draft" in draft
    assert "halted is cancelled" in cancelled
    assert "starts by itself" not in draft + cancelled


@sqlite_only
def test_send_refuses_a_missing_release(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("vanished", publish_at=LONG_AGO)
    cli(newsroom, "status")
    shutil.rmtree(newsroom.root / "releases" / "vanished")
    assert status_json(newsroom)["vanished"]["state"] == "missing"
    result = runner.invoke(
        app, ["--config", str(newsroom.root / "config.toml"), "send", "vanished"]
    )
    if result.exit_code == 0:  # accepted: then it must really go out
        cli(newsroom, "run", "--once")
        assert status_json(newsroom)["vanished"]["total"] == 3
    else:
        assert result.exit_code == 1
        assert "vanished" in result.stderr


# cancel


def test_cancel_after_the_embargoed_copies_stops_the_rest(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(3600), embargo_send_at=utc(-60))
    newsroom.subscribers("press", [*PEOPLE, "eve@example.org,Eve,en,,,yes"])
    with smtp(newsroom, {"eve@example.org": Fault.tempfail()}) as server:
        ran = cli(newsroom, "run", "--once")
        assert "launch: embargoed copy queued for " in ran.stdout
        assert "launch: 1 sent, 1 deferred" in ran.stdout
        assert status_json(newsroom)["launch"]["state"] == "embargoed"

        stopped = cli(newsroom, "cancel", "launch")
        assert stopped.stdout.strip() == "launch: cancelled; 1 pending deliveries stopped"

        server.faults.clear()
        assert cli(newsroom, "run", "--once").stdout.splitlines() == [
            "0 sent, 0 deferred, 0 failed"
        ]
        # At publication nothing more goes out: no public copy, no retry of Eve's.
        report, stats = asyncio.run(run_once(newsroom.settings(), now=utc(3601)))
        assert report.started == []
        assert stats.outcomes == Counter()
    assert server.recipients() == ["ben@example.org"]
    launch = status_json(newsroom)["launch"]
    assert launch["state"] == "cancelled"
    assert launch["by_status"] == {"sent": 1, "cancelled": 1}
    assert "launch: cancelled" in cli(newsroom, "status", "launch").stdout


def test_cancel_a_release_known_only_from_its_files(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("fresh", publish_at=utc(600))  # never synced: no command has run yet
    stopped = cli(newsroom, "cancel", "fresh")
    assert stopped.stdout.strip() == "fresh: cancelled; 0 pending deliveries stopped"
    assert status_json(newsroom)["fresh"]["state"] == "cancelled"
    _, stats = asyncio.run(run_once(newsroom.settings(), now=utc(601)))
    assert stats.outcomes == Counter()
    assert status_json(newsroom)["fresh"]["total"] == 0
    assert "no release 'nope'" in cli(newsroom, "cancel", "nope", code=1).stderr


# send-test


def test_send_test_writes_one_message_outside_the_ledger(newsroom: Newsroom) -> None:
    newsroom.subscribers("press", PEOPLE)
    newsroom.release("early", publish_at=FUTURE_SUMMER, embargo_send_at=FUTURE_WINTER)
    before = status_json(newsroom)["early"]

    public = cli(newsroom, "send-test", "early", "--to", "Editor@Example.COM", "--lang", "fr")
    assert public.stdout.startswith("sent:")
    [written] = outbox(newsroom, "send-test")
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "Editor@example.com"
    assert message["Subject"] == "[Test] Title (fr)"  # marked: a test copy

    embargoed = cli(newsroom, "send-test", "early", "--to", "editor@example.com", "--embargo")
    assert embargoed.stdout.startswith("sent:")
    [copy] = [p for p in outbox(newsroom, "send-test") if p != written]
    subject = message_from_bytes(copy.read_bytes(), policy=policy.default)["Subject"]
    assert subject.startswith("[Test] [Embargoed until ")
    assert subject.endswith("] Title (en)")

    assert status_json(newsroom)["early"] == before  # no delivery recorded, nothing counted
    assert outbox(newsroom, "early") == []


@sqlite_only
def test_send_test_refusals(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=FUTURE_SUMMER)  # en and fr, no embargo
    bad = cli(newsroom, "send-test", "launch", "--to", "not-an-address", code=2)
    assert "@" in bad.stderr
    assert (
        "no 'ru' version"
        in cli(
            newsroom, "send-test", "launch", "--to", "a@example.org", "--lang", "ru", code=1
        ).stderr
    )
    assert (
        "unknown language 'xx'"
        in cli(
            newsroom, "send-test", "launch", "--to", "a@example.org", "--lang", "xx", code=2
        ).stderr
    )
    assert (
        "no embargoed copy"
        in cli(newsroom, "send-test", "launch", "--to", "a@example.org", "--embargo", code=1).stderr
    )
    assert (
        "no valid release 'nope'"
        in cli(newsroom, "send-test", "nope", "--to", "a@example.org", code=1).stderr
    )
    assert not (newsroom.root / "var" / "outbox").exists()


# db upgrade


def test_db_upgrade_prints_the_revision_and_can_run_twice(newsroom: Newsroom) -> None:
    first = cli(newsroom, "db", "upgrade").stdout.strip()
    assert first.startswith("database at revision ")
    revision = first.removeprefix("database at revision ")
    assert revision not in ("", "None")
    assert cli(newsroom, "db", "upgrade").stdout.strip() == first


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://press@localhost/press", "unsupported database 'mysql'"),
        (f"postgresql://nobody@127.0.0.1:{free_port()}/press", "cannot migrate"),
    ],
    ids=["scheme", "unreachable"],
)
def test_db_upgrade_with_a_bad_database_url_is_a_clear_error(
    tmp_path: Path, url: str, words: str
) -> None:
    newsroom = make_newsroom(tmp_path, url)
    result = cli(newsroom, "db", "upgrade", code=1)
    assert result.stderr.startswith("error: database.url: ")
    assert words in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("url", "command"),
    [
        ("mysql://press@localhost/press", ["status"]),
        (f"postgresql://nobody@127.0.0.1:{free_port()}/press", ["status"]),
        (f"postgresql://nobody@127.0.0.1:{free_port()}/press", ["run", "--once"]),
    ],
    ids=["status-scheme", "status-unreachable", "run-unreachable"],
)
def test_other_commands_with_a_bad_database_url_are_a_clear_error(
    tmp_path: Path, url: str, command: list[str]
) -> None:
    newsroom = make_newsroom(tmp_path, url)
    result = cli(newsroom, *command, code=1)
    assert "database.url" in result.stderr
