"""The transports against a real SMTP server (aiosmtpd), a real folder and real RSA keys."""

from __future__ import annotations

import asyncio
import base64
import email
import ssl
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from email.policy import default
from pathlib import Path
from typing import Any

import dkim
import pytest

from pressdispatch.config import DkimSection, SmtpSection
from pressdispatch.dispatch.dkim import DkimSigner, SigningTransport
from pressdispatch.dispatch.outbox import OutboxTransport
from pressdispatch.dispatch.pushback import (
    COOLDOWN,
    FIRST_PAUSE,
    LONGEST_PAUSE,
    Concern,
    concern,
)
from pressdispatch.dispatch.smtp import SmtpTransport
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status
from pressdispatch.errors import ConfigError, TransportStopped

from .smtpd import Fault, SmtpServer, free_port, smtp_server

SENDER = "press@example.org"


def message(recipient: str, n: int = 0, *, message_id: str | None = None) -> bytes:
    """Built like ours: CRLF, the usual headers, and a line that needs dot-stuffing."""
    message_id = message_id or f"<r1.en.{n}@example.org>"
    return (
        f"From: Test Press Office <{SENDER}>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: Release {n}\r\n"
        "Date: Tue, 01 Dec 2026 10:00:00 +0100\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "\r\n"
        f"Body of message {n}.\r\n"
        ".a line that starts with a dot\r\n"
        "  trailing spaces   \r\n"
    ).encode()


def envelope(recipient: str = "alice@example.com", n: int = 0, **kwargs: Any) -> Envelope:
    data = message(recipient, n, **kwargs)
    mid = email.message_from_bytes(data)["Message-ID"]
    return Envelope(SENDER, recipient, data, mid, "2026-12-01-launch")


def settings(server: SmtpServer, **overrides: Any) -> SmtpSection:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "timeout": timedelta(seconds=5),
    }
    return SmtpSection(**(values | overrides))


class Clock:
    """Real time plus whatever the test skips ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


# --- SMTP: delivery and the connection pool ---------------------------------------------


@pytest.mark.asyncio
async def test_message_arrives_byte_identical() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server), None)
        env = envelope()
        outcome = await transport.send(env)
        await transport.close()
    assert outcome.status is Status.SENT and outcome.code == 250
    [received] = server.messages
    assert received.data == env.message
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("alice@example.com",)
    assert received.message_id == env.message_id


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a lone dot would end DATA early; a leading dot must survive the trip
        (b".\r\n..two dots\r\n.\r\nend\r\n", b".\r\n..two dots\r\n.\r\nend\r\n"),
        # not our CRLF: the message is still sent, with its line endings made CRLF
        (b"bare\nline feeds\n.dot\n", b"bare\r\nline feeds\r\n.dot\r\n"),
        (b"no final line break", b"no final line break\r\n"),
    ],
)
async def test_bodies_arrive_intact_whatever_their_dots_and_line_endings(
    body: bytes, expected: bytes
) -> None:
    head = f"From: {SENDER}\r\nTo: alice@example.com\r\nMessage-ID: <d@example.org>\r\n\r\n"
    env = Envelope(SENDER, "alice@example.com", head.encode() + body, "<d@example.org>", "r")
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server), None)
        outcome = await transport.send(env)
        await transport.close()
    assert outcome.status is Status.SENT
    [received] = server.messages
    assert received.data == head.encode() + expected


@pytest.mark.asyncio
async def test_connections_are_reused() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server, concurrency=2), None)
        envs = [envelope(f"user{n}@example.com", n) for n in range(20)]
        outcomes = await asyncio.gather(*(transport.send(e) for e in envs))
        await transport.close()
    assert {o.status for o in outcomes} == {Status.SENT}
    assert sorted(server.recipients()) == sorted(e.recipient for e in envs)
    assert server.connections <= 2


@pytest.mark.asyncio
async def test_reconnects_after_the_server_hangs_up() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server), None)
        assert (await transport.send(envelope(n=1))).status is Status.SENT
        server.drop_connections()
        await asyncio.sleep(0.1)
        assert (await transport.send(envelope(n=2))).status is Status.SENT
        await transport.close()
    assert server.connections == 2
    assert len(server.messages) == 2


@pytest.mark.parametrize(
    "fault",
    [Fault.drop_mail(times=1), Fault("mail", "421 4.4.2 Idle too long, closing", times=1)],
    ids=["hang-up", "421"],
)
@pytest.mark.asyncio
async def test_a_pooled_connection_dead_at_mail_is_retried_once(fault: Fault) -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server), None)
        assert (await transport.send(envelope(n=1))).status is Status.SENT
        server.faults["*"] = fault  # the idle connection turns out to be dead
        outcome = await transport.send(envelope(n=2))
        await transport.close()
    assert outcome.status is Status.SENT
    assert server.connections == 2
    assert len(server.messages) == 2
    assert transport.window.size == 4  # a stale connection is not a request to slow down


@pytest.mark.asyncio
async def test_a_fresh_connection_dead_at_mail_is_not_retried() -> None:
    async with smtp_server({"*": Fault.drop_mail(times=1)}) as server:
        transport = SmtpTransport(settings(server), None)
        first = await transport.send(envelope(n=1))
        second = await transport.send(envelope(n=2))
        await transport.close()
    assert first.status is Status.DEFERRED
    assert "connection lost at MAIL" in first.reply
    assert second.status is Status.SENT


@pytest.mark.asyncio
async def test_close_quits_and_can_be_called_twice() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server), None)
        await transport.send(envelope())
        await transport.close()
        await transport.close()
        assert (await transport.send(envelope(n=2))).status is Status.SENT  # reconnects
        await transport.close()
    assert server.connections == 2


# --- SMTP: what each reply means --------------------------------------------------------

BOB = "bob@example.com"


@pytest.mark.parametrize(
    ("fault", "status", "code", "bounce"),
    [
        (Fault.tempfail(), Status.DEFERRED, 451, False),
        (Fault.user_unknown(), Status.FAILED, 550, True),
        (Fault("rcpt", "551 5.1.6 User has moved"), Status.FAILED, 551, True),
        (Fault("rcpt", "553 5.1.3 Bad address syntax"), Status.FAILED, 553, True),
        (Fault("rcpt", "554 5.7.1 Relay denied"), Status.FAILED, 554, False),
        (Fault.reject_data(), Status.FAILED, 554, False),
        (Fault("data", "452 4.3.1 Insufficient storage"), Status.DEFERRED, 452, False),
    ],
    ids=["451-rcpt", "550-rcpt", "551-rcpt", "553-rcpt", "554-rcpt", "554-data", "452-data"],
)
@pytest.mark.asyncio
async def test_reply_mapping(fault: Fault, status: Status, code: int, bounce: bool) -> None:
    async with smtp_server({BOB: fault}) as server:
        transport = SmtpTransport(settings(server), None)
        outcome = await transport.send(envelope(BOB))
        after = await transport.send(envelope(n=2))  # the connection survives a refusal
        await transport.close()
    assert (outcome.status, outcome.code, outcome.bounce) == (status, code, bounce)
    assert outcome.reply == fault.reply.split(" ", 1)[1]
    assert after.status is Status.SENT
    assert server.connections == 1


@pytest.mark.asyncio
async def test_a_refused_sender_fails_without_bouncing_the_recipient() -> None:
    async with smtp_server({SENDER: Fault("mail", "553 5.7.1 Sender not allowed")}) as server:
        transport = SmtpTransport(settings(server), None)
        outcome = await transport.send(envelope(BOB))
        await transport.close()
    assert (outcome.status, outcome.code, outcome.bounce) == (Status.FAILED, 553, False)


@pytest.mark.asyncio
async def test_a_temporary_failure_clears_on_the_next_attempt() -> None:
    async with smtp_server({BOB: Fault.tempfail(times=1)}) as server:
        transport = SmtpTransport(settings(server), None)
        first = await transport.send(envelope(BOB))
        second = await transport.send(envelope(BOB))
        await transport.close()
    assert (first.status, second.status) == (Status.DEFERRED, Status.SENT)


@pytest.mark.asyncio
async def test_a_hang_up_during_data_is_deferred() -> None:
    async with smtp_server({BOB: Fault.drop_data()}) as server:
        transport = SmtpTransport(settings(server), None)
        outcome = await transport.send(envelope(BOB))
        after = await transport.send(envelope(n=2))
        await transport.close()
    assert outcome.status is Status.DEFERRED
    assert "connection lost at DATA" in outcome.reply
    assert not outcome.unreached  # the message was on the wire: never for another relay
    assert after.status is Status.SENT
    assert server.connections == 2  # not retried: the server may have kept the message


@pytest.mark.asyncio
async def test_a_slow_server_is_deferred_after_the_timeout() -> None:
    async with smtp_server({BOB: Fault.slow_data(3.0)}) as server:
        transport = SmtpTransport(settings(server, timeout=timedelta(seconds=0.5)), None)
        start = time.monotonic()
        outcome = await transport.send(envelope(BOB))
        elapsed = time.monotonic() - start
        after = await transport.send(envelope(n=2))
        await transport.close()
    assert outcome == Outcome(Status.DEFERRED, reply="timed out after 0.5s")
    assert 0.4 < elapsed < 1.5
    assert after.status is Status.SENT
    assert server.connections == 2  # the timed-out connection was thrown away


@pytest.mark.asyncio
async def test_an_unreachable_server_is_deferred() -> None:
    transport = SmtpTransport(
        SmtpSection(host="127.0.0.1", port=free_port(), security="none"), None
    )
    outcome = await transport.send(envelope())
    await transport.close()
    assert outcome.status is Status.DEFERRED
    assert outcome.code is None
    assert "port" in outcome.reply
    assert outcome.unreached  # nothing left: another relay may take it (relays.py)


@pytest.mark.asyncio
async def test_starttls_missing_stops_the_transport_without_a_connection_per_message() -> None:
    async with smtp_server() as server:  # no tls_context: STARTTLS not offered
        transport = SmtpTransport(settings(server, security="starttls"), None)
        with pytest.raises(TransportStopped) as stopped:
            await transport.send(envelope(n=1))
        with pytest.raises(TransportStopped):  # at once, without trying again
            await transport.send(envelope(n=2))
        await transport.close()
    assert "does not offer STARTTLS" in str(stopped.value)
    assert 'smtp.security = "starttls"' in str(stopped.value)
    assert stopped.value.retry_after > 0
    assert server.connections == 1
    assert server.messages == []


@pytest.mark.asyncio
async def test_a_stopped_transport_tries_one_connection_again_after_a_while() -> None:
    clock = Clock()
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server, security="starttls"), None, clock=clock)
        with pytest.raises(TransportStopped) as stopped:
            await transport.send(envelope())
        clock.skipped += stopped.value.retry_after
        with pytest.raises(TransportStopped):
            await transport.send(envelope())
        await transport.close()
    assert server.connections == 2


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a certificate no client trusts."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.asyncio
async def test_a_certificate_that_does_not_verify_stops_the_transport(
    self_signed: ssl.SSLContext,
) -> None:
    async with smtp_server(tls_context=self_signed) as server:
        transport = SmtpTransport(settings(server, security="starttls"), None)
        with pytest.raises(
            TransportStopped, match="certificate does not verify: self-signed"
        ) as stopped:
            await transport.send(envelope())
        await transport.close()
    assert "smtp.security" in str(stopped.value)
    assert server.messages == []


@pytest.mark.asyncio
async def test_implicit_tls_against_a_plain_server_stops_the_transport() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server, security="tls"), None)
        with pytest.raises(TransportStopped, match="TLS failed") as stopped:
            await transport.send(envelope())
        await transport.close()
    assert "smtp.security, now 'tls'" in str(stopped.value)


@pytest.mark.asyncio
async def test_one_recipients_failure_does_not_affect_the_others() -> None:
    faults = {
        "unknown@example.com": Fault.user_unknown(),
        "dropped@example.com": Fault.drop_data(),
        "busy@example.com": Fault.tempfail(),
    }
    good = [f"user{n}@example.com" for n in range(9)]
    bad = list(faults)
    recipients = good[:3] + bad[:1] + good[3:6] + bad[1:] + good[6:]
    async with smtp_server(faults) as server:
        transport = SmtpTransport(settings(server, concurrency=3), None)
        envs = [envelope(r, n) for n, r in enumerate(recipients)]
        outcomes = dict(
            zip(recipients, await asyncio.gather(*map(transport.send, envs)), strict=True)
        )
        await transport.close()
    assert all(outcomes[r].status is Status.SENT for r in good)
    assert outcomes["unknown@example.com"].status is Status.FAILED
    assert outcomes["dropped@example.com"].status is Status.DEFERRED
    assert outcomes["busy@example.com"].status is Status.DEFERRED
    assert sorted(server.recipients()) == sorted(good)


# --- SMTP: rates and throttling ---------------------------------------------------------


@pytest.mark.asyncio
async def test_the_global_rate_spaces_messages_out() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server, rate=20, concurrency=4), None)
        start = time.monotonic()
        envs = [envelope(f"user{n}@example.com", n) for n in range(10)]
        outcomes = await asyncio.gather(*map(transport.send, envs))
        elapsed = time.monotonic() - start
        await transport.close()
    assert {o.status for o in outcomes} == {Status.SENT}
    assert elapsed >= 0.4  # one at once, then nine at 1/20 s apart


@pytest.mark.asyncio
async def test_the_per_domain_rate_applies_to_each_domain() -> None:
    async with smtp_server() as server:
        transport = SmtpTransport(settings(server, per_domain_rate=10, concurrency=4), None)
        start = time.monotonic()
        envs = [envelope(f"user{n}@{d}.example", n) for n in range(4) for d in ("a", "b")]
        outcomes = await asyncio.gather(*map(transport.send, envs))
        elapsed = time.monotonic() - start
        await transport.close()
    assert {o.status for o in outcomes} == {Status.SENT}
    assert elapsed >= 0.25  # four to each domain at 1/10 s apart


@pytest.mark.asyncio
async def test_a_refusal_at_rcpt_concerns_only_that_recipient() -> None:
    async with smtp_server({"*": Fault.tempfail()}) as server:
        transport = SmtpTransport(settings(server, concurrency=4), None)
        envs = [envelope(f"user{n}@example.com", n) for n in range(8)]
        outcomes = await asyncio.gather(*map(transport.send, envs))
        await transport.close()
    assert {(o.status, o.code) for o in outcomes} == {(Status.DEFERRED, 451)}
    assert transport.window.size == 4
    assert transport.window.paused_for == 0
    assert server.connections <= 4  # the connections carried on after each refusal


@pytest.mark.parametrize(
    "fault",
    [
        Fault.throttle(times=1),  # 421 at RCPT: the relay closes the connection
        Fault("mail", "451 4.3.2 Please come back later", times=1),  # 4xx at MAIL
        Fault.tempfail(times=1, reply="450 4.7.1 Rate limit exceeded, slow down"),
    ],
    ids=["421", "4xx-at-mail", "rate-at-rcpt"],
)
@pytest.mark.asyncio
async def test_relay_pushback_halves_the_pool_which_grows_back_on_success(fault: Fault) -> None:
    async with smtp_server({"*": fault}) as server:
        transport = SmtpTransport(settings(server, concurrency=4), None)
        assert (await transport.send(envelope(n=0))).status is Status.DEFERRED
        assert transport.window.size == 2
        for n in range(1, 8):  # additive increase: about one more per window of successes
            assert (await transport.send(envelope(n=n))).status is Status.SENT
        await transport.close()
    assert transport.window.size == 4


@pytest.mark.asyncio
async def test_replies_to_messages_in_flight_together_count_as_one_pushback() -> None:
    async with smtp_server({"*": Fault.throttle(times=4)}) as server:
        transport = SmtpTransport(settings(server, concurrency=8), None)
        envs = [envelope(f"user{n}@example.com", n) for n in range(4)]
        outcomes = await asyncio.gather(*map(transport.send, envs))
        await transport.close()
    assert {(o.status, o.code) for o in outcomes} == {(Status.DEFERRED, 421)}
    assert transport.window.size == 4


@pytest.mark.asyncio
async def test_pushback_at_one_connection_pauses_a_bounded_while() -> None:
    clock = Clock()
    async with smtp_server({"*": Fault.throttle(times=2)}) as server:
        transport = SmtpTransport(settings(server, concurrency=1), None, clock=clock)
        await transport.send(envelope(n=0))
        assert transport.window.size == 1
        assert 0 < transport.window.paused_for <= FIRST_PAUSE
        clock.skipped += FIRST_PAUSE
        started = time.monotonic()
        await transport.send(envelope(n=1))  # pushed back again: twice as long
        assert FIRST_PAUSE < transport.window.paused_for <= 2 * FIRST_PAUSE
        clock.skipped += 2 * FIRST_PAUSE
        assert (await transport.send(envelope(n=2))).status is Status.SENT
        await transport.close()
    assert time.monotonic() - started < 1  # the pauses were skipped, not slept through
    for _ in range(20):
        transport.window.pushback()
        clock.skipped += COOLDOWN
    assert transport.window.paused_for <= LONGEST_PAUSE


@pytest.mark.asyncio
async def test_connection_refused_at_the_greeting_shrinks_the_pool() -> None:
    async with smtp_server({"*": Fault.refuse_connection(times=1)}) as server:
        transport = SmtpTransport(settings(server, concurrency=4), None)
        first = await transport.send(envelope(n=0))
        second = await transport.send(envelope(n=1))
        await transport.close()
    assert (first.status, first.code, first.unreached) == (Status.DEFERRED, 421, True)
    assert second.status is Status.SENT
    assert transport.window.size == 2


@pytest.mark.parametrize(
    ("stage", "code", "reply", "expected"),
    [
        ("RCPT", 451, "4.7.1 Try again later", Concern.RECIPIENT),  # greylisting
        ("RCPT", 450, "4.2.0 Greylisted, see https://example.org", Concern.RECIPIENT),
        ("RCPT", 452, "4.2.2 Mailbox full", Concern.RECIPIENT),
        ("RCPT", 550, "5.1.1 User unknown", Concern.RECIPIENT),
        ("RCPT", 550, "5.7.1 Rate limited for this recipient", Concern.RECIPIENT),  # a 5xx
        ("DATA", 554, "5.7.1 Message rejected as spam", Concern.RECIPIENT),
        ("DATA", None, "connection lost at DATA", Concern.RECIPIENT),
        ("MAIL", None, "connection lost at MAIL", Concern.RECIPIENT),
        ("MAIL", 553, "5.7.1 Sender address rejected", Concern.RECIPIENT),
        ("RCPT", 421, "4.7.0 Too many messages, slow down", Concern.RELAY),
        ("MAIL", 451, "4.3.0 Temporary server error", Concern.RELAY),
        ("connect", None, "Connection refused", Concern.RELAY),
        ("connect", 554, "5.7.1 No SMTP service here", Concern.RELAY),
        ("RCPT", 450, "4.7.1 Rate limit exceeded", Concern.RELAY),
        ("RCPT", 452, "4.5.3 Too many recipients", Concern.RELAY),
        ("DATA", 451, "4.7.28 Unusual rate of unsolicited mail", Concern.RELAY),
        ("DATA", 454, "Throttling failure: Maximum sending rate exceeded.", Concern.RELAY),
        ("RCPT", 452, "4.3.1 Insufficient system resources", Concern.RELAY),
    ],
)
def test_what_a_refusal_concerns(
    stage: str, code: int | None, reply: str, expected: Concern
) -> None:
    assert concern(stage, code, reply) is expected


# --- SMTP: authentication ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_auth_login() -> None:
    async with smtp_server(users={"press": "s3cret"}) as server:
        transport = SmtpTransport(settings(server, username="press"), "s3cret")
        outcome = await transport.send(envelope())
        await transport.close()
    assert outcome.status is Status.SENT
    assert [m.login for m in server.messages] == ["press"]


@pytest.mark.asyncio
async def test_a_wrong_password_stops_the_transport_with_the_servers_reply() -> None:
    # Not a verdict on any message: the password is wrong for every message alike.
    # Nothing is tried until it is fixed, so nobody's copy is spent on it.
    async with smtp_server(users={"press": "s3cret"}) as server:
        transport = SmtpTransport(settings(server, username="press"), "wrong")
        with pytest.raises(TransportStopped) as stopped:
            await transport.send(envelope())
        await transport.close()
    assert "535" in str(stopped.value)
    assert "credentials invalid" in str(stopped.value).lower()
    assert "PRESSDISPATCH_SMTP_PASSWORD" in str(stopped.value)
    assert server.messages == []


def test_a_username_without_a_password_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PRESSDISPATCH_SMTP_PASSWORD"):
        SmtpTransport(SmtpSection(username="press"), None)


# --- Outbox -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_outbox_writes_one_readable_file_per_message(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path / "outbox")
    env = envelope()
    outcome = await transport.send(env)
    path = tmp_path / "outbox" / "2026-12-01-launch" / "r1.en.0@example.org.eml"
    assert outcome == Outcome(
        Status.SENT, reply="written to 2026-12-01-launch/r1.en.0@example.org.eml"
    )
    # As delivered mail: the envelope sender first, then the message unchanged.
    assert path.read_bytes() == f"Return-Path: <{env.sender}>\r\n".encode() + env.message
    parsed = email.message_from_bytes(path.read_bytes(), policy=default)
    assert parsed["Message-ID"] == env.message_id
    assert parsed["Subject"] == "Release 0"
    assert parsed.get_content().startswith("Body of message 0.")


@pytest.mark.asyncio
async def test_outbox_sending_again_replaces_the_file(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path)
    first, second = envelope(n=1, message_id="<same@x>"), envelope(n=2, message_id="<same@x>")
    await asyncio.gather(transport.send(first), transport.send(first))
    await transport.send(second)
    assert [p.name for p in (tmp_path / "2026-12-01-launch").iterdir()] == ["same@x.eml"]
    written = (tmp_path / "2026-12-01-launch" / "same@x.eml").read_bytes()
    assert written.endswith(second.message)


@pytest.mark.asyncio
async def test_outbox_file_names_are_safe(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path)
    env = envelope(message_id="<../a/b c:d+e@x.org>")
    outcome = await transport.send(env)
    assert outcome.reply == "written to 2026-12-01-launch/.._a_b_c_d+e@x.org.eml"
    assert [p.name for p in tmp_path.rglob("*.eml")] == [".._a_b_c_d+e@x.org.eml"]


@pytest.mark.asyncio
async def test_outbox_disk_errors_are_deferred(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    outcome = await OutboxTransport(blocker).send(envelope())
    assert outcome.status is Status.DEFERRED
    assert outcome.reply


# --- DKIM -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A fresh 2048-bit key (``openssl``: the venv has no ``cryptography``) and its DNS record."""
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def dns(record: bytes) -> Callable[..., bytes | None]:
    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        return record if name == b"s1._domainkey.example.org." else None

    return lookup


def dkim_settings(key: Path) -> DkimSection:
    return DkimSection(domain="example.org", selector="s1", private_key_file=key)


def test_a_signed_message_verifies(rsa_key: tuple[Path, bytes]) -> None:
    key, record = rsa_key
    original = message("alice@example.com")
    signed = DkimSigner(dkim_settings(key)).sign(original)
    assert signed.startswith(b"DKIM-Signature: ") and signed.endswith(original)
    assert dkim.verify(signed, dnsfunc=dns(record))
    tag = signed.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ")
    assert b"c=relaxed/relaxed" in tag and b"a=rsa-sha256" in tag
    assert b"h=from : to : subject : date : message-id : content-type : mime-version" in tag


def test_tampering_breaks_the_signature(rsa_key: tuple[Path, bytes]) -> None:
    key, record = rsa_key
    signed = DkimSigner(dkim_settings(key)).sign(message("alice@example.com"))
    body = signed.replace(b"Body of message 0.", b"Body of message 1.")
    subject = signed.replace(b"Subject: Release 0", b"Subject: Release 1")
    assert not dkim.verify(body, dnsfunc=dns(record))
    assert not dkim.verify(subject, dnsfunc=dns(record))


def test_a_missing_or_bad_key_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError, match=r"nope\.pem"):
        DkimSigner(dkim_settings(missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match=r"garbage\.pem"):
        DkimSigner(dkim_settings(garbage))


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        if ready is not None:
            await ready()
        self.sent.append(envelope)
        return Outcome(Status.SENT, 250, "ok")

    async def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_signing_transport_signs_then_delegates(rsa_key: tuple[Path, bytes]) -> None:
    key, record = rsa_key
    inner = Recorder()
    transport = SigningTransport(inner, DkimSigner(dkim_settings(key)))
    assert await transport.send(envelope()) == Outcome(Status.SENT, 250, "ok")
    unsigned = envelope(n=2)
    broken = Envelope(SENDER, BOB, b"Subject: no From\r\n\r\nbody\r\n", "<x@y>", "r")
    failed = await transport.send(broken)
    await transport.close()
    assert failed.status is Status.FAILED and "DKIM signing failed" in failed.reply
    [sent] = inner.sent
    assert dkim.verify(sent.message, dnsfunc=dns(record))
    assert sent.message != unsigned.message


@pytest.mark.asyncio
async def test_a_signed_message_verifies_after_smtp(rsa_key: tuple[Path, bytes]) -> None:
    key, record = rsa_key
    async with smtp_server() as server:
        inner = SmtpTransport(settings(server), None)
        transport = SigningTransport(inner, DkimSigner(dkim_settings(key)))
        assert (await transport.send(envelope())).status is Status.SENT
        await transport.close()
    assert dkim.verify(server.messages[0].data, dnsfunc=dns(record))
