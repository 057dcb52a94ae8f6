"""Several relays ([[smtp.relays]]) against real SMTP servers: shared by weight, each message
once, around a relay that is down."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pressdispatch.config import RelaySection, SmtpSection, load_settings
from pressdispatch.credentials import Credentials
from pressdispatch.dispatch.relays import RelayTransport, relay_transport
from pressdispatch.dispatch.transport import Outcome, Status
from pressdispatch.errors import ConfigError, TransportStopped
from pressdispatch.runtime import make_transport

from .dispatching import Newsroom, run_once, utc
from .smtpd import Fault, SmtpServer, free_port, smtp_server
from .test_transports import envelope

MINIMAL = """\
[newsroom]
name = "Press Office"
from = "press@example.org"

[transport]
kind = "smtp"
"""


class Clock:
    """Real time plus whatever the test skips ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


def relay(port: int, **values: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "none", **values}


def transport(relays: Sequence[dict[str, Any]], **smtp: Any) -> RelayTransport:
    section = SmtpSection(
        relays=tuple(RelaySection(**r) for r in relays), timeout=timedelta(seconds=5), **smtp
    )
    return relay_transport(section, [None] * len(relays))


@asynccontextmanager
async def servers(*faults: dict[str, Fault]) -> AsyncIterator[list[SmtpServer]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(smtp_server(f)) for f in faults]


async def send_many(t: RelayTransport, n: int, at_once: int) -> list[Outcome]:
    """``n`` messages to different journalists, ``at_once`` on their way at a time."""
    gate = asyncio.Semaphore(at_once)

    async def one(i: int) -> Outcome:
        async with gate:
            return await t.send(envelope(f"j{i:03d}@example.com", i))

    try:
        return await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await t.close()


def once_each(*received: SmtpServer) -> Counter[str]:
    seen = Counter(r for server in received for r in server.recipients())
    twice = {address: n for address, n in seen.items() if n > 1}
    assert not twice, f"sent twice: {twice}"
    return seen


# --- Sharing by weight ------------------------------------------------------------------


async def test_every_relay_is_used_in_proportion_to_its_weight() -> None:
    async with servers({}, {}, {}) as (a, b, c):
        t = transport([relay(a.port, weight=1), relay(b.port, weight=2), relay(c.port, weight=3)])
        outcomes = await send_many(t, 60, at_once=1)
    assert {o.status for o in outcomes} == {Status.SENT}
    # One at a time, every relay always has room: the shares are the weights exactly.
    assert [len(s.messages) for s in (a, b, c)] == [10, 20, 30]
    assert len(once_each(a, b, c)) == 60


async def test_under_load_the_shares_roughly_follow_the_weights() -> None:
    async with servers({}, {}) as (a, b):
        # Unset, a relay's weight is its concurrency: 3 against 9. While both have room
        # (a full relay is passed over, see below), the weights decide.
        t = transport([relay(a.port, concurrency=3), relay(b.port, concurrency=9)])
        outcomes = await send_many(t, 80, at_once=6)
    assert {o.status for o in outcomes} == {Status.SENT}
    assert len(once_each(a, b)) == 80
    assert 10 <= len(a.messages) <= 30, len(a.messages)  # 20 by weight


async def test_a_relay_without_room_is_passed_over_for_one_with_room() -> None:
    slow = {"*": Fault.slow_data(0.3)}
    async with servers(slow, {}) as (a, b):
        t = transport([relay(a.port, concurrency=1, weight=1), relay(b.port, concurrency=1)])
        started = time.monotonic()
        outcomes = await send_many(t, 20, at_once=2)
        seconds = time.monotonic() - started
    assert {o.status for o in outcomes} == {Status.SENT}
    assert len(once_each(a, b)) == 20
    # The slow relay takes a message whenever its one connection is free, not one in two.
    assert len(a.messages) < len(b.messages), (len(a.messages), len(b.messages))
    assert seconds < 10 * 0.3, seconds


# --- Failing over -----------------------------------------------------------------------


@pytest.mark.parametrize("down", ["refuses", "closed"])
async def test_a_relay_that_refuses_connections_leaves_its_messages_to_the_others(
    down: str,
) -> None:
    refusing = {"*": Fault.refuse_connection()} if down == "refuses" else {}
    async with servers(refusing, {}, {}) as (a, b, c):
        port = a.port if down == "refuses" else free_port()
        t = transport([relay(port, weight=4), relay(b.port), relay(c.port)])
        outcomes = await send_many(t, 60, at_once=6)
    assert {o.status for o in outcomes} == {Status.SENT}
    seen = once_each(a, b, c)
    assert len(seen) == 60  # every journalist once, none lost, none twice
    assert a.messages == []
    assert b.messages and c.messages
    # Down for a back-off, it is not asked again for every message.
    assert a.connections <= 8, a.connections


async def test_a_relay_that_stops_leaves_its_messages_to_the_others() -> None:
    async with servers({}, {}) as (a, b):
        # This relay wants STARTTLS, which the server does not offer: nothing can go there.
        t = transport([relay(a.port, security="starttls"), relay(b.port)])
        outcomes = await send_many(t, 20, at_once=4)
    assert {o.status for o in outcomes} == {Status.SENT}
    assert len(once_each(b)) == 20
    assert a.messages == []
    assert a.connections <= 4, a.connections  # one per message at most until it stopped


async def test_a_message_the_relay_may_have_received_is_not_sent_again_elsewhere() -> None:
    # The relay hangs up once the message is on the wire: it may have kept it. Another
    # relay would make it a second copy, so it is deferred, to be tried again later.
    async with servers({"*": Fault.drop_data()}, {}) as (a, b):
        t = transport([relay(a.port, weight=1), relay(b.port, weight=1)])
        first = await t.send(envelope("alice@example.com", 1))
        await t.close()
    assert first.status is Status.DEFERRED
    assert "DATA" in first.reply
    assert b.messages == []
    assert a.rcpt_tos == ["alice@example.com"]


async def test_when_every_relay_is_down_the_transport_stops_until_one_comes_back() -> None:
    clock = Clock()
    ports = [free_port(), free_port()]
    section = SmtpSection(relays=tuple(RelaySection(**relay(p)) for p in ports))
    t = relay_transport(section, [None, None], clock=clock)
    with pytest.raises(TransportStopped) as stopped:
        await t.send(envelope(n=1))
    # Both were tried for that one message, and both are named.
    assert all(f"127.0.0.1:{p}" in str(stopped.value) for p in ports)
    assert 0 < stopped.value.retry_after <= 1.0
    with pytest.raises(TransportStopped):  # at once: nothing is tried while they are down
        await t.send(envelope(n=2))
    clock.skipped += stopped.value.retry_after
    async with smtp_server(port=ports[1]) as back:
        outcome = await t.send(envelope(n=3))
        await t.close()
    assert outcome.status is Status.SENT
    assert back.connections == 1
    assert [m.message_id for m in back.messages] == ["<r1.en.3@example.org>"]


async def test_a_relay_back_from_its_back_off_gets_its_share_again() -> None:
    clock = Clock()
    port = free_port()
    async with smtp_server() as b:
        section = SmtpSection(relays=(RelaySection(**relay(port)), RelaySection(**relay(b.port))))
        t = relay_transport(section, [None, None], clock=clock)
        for n in range(4):
            assert (await t.send(envelope(n=n))).status is Status.SENT
        assert len(b.messages) == 4
        clock.skipped += 1.0  # the first back-off is over
        async with smtp_server(port=port) as a:
            for n in range(4, 10):
                assert (await t.send(envelope(n=n))).status is Status.SENT
            await t.close()
    assert len(a.messages) == 3  # one in two again


# --- Credentials and the configuration --------------------------------------------------


async def test_each_relay_logs_in_with_its_own_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_A_PASSWORD", "secret-a")
    monkeypatch.setenv("RELAY_B_PASSWORD", "secret-b")
    async with (
        smtp_server(users={"press-a": "secret-a"}) as a,
        smtp_server(users={"press-b": "secret-b"}) as b,
    ):
        path = tmp_path / "config.toml"
        path.write_text(
            MINIMAL
            + "".join(
                f'\n[[smtp.relays]]\nhost = "127.0.0.1"\nport = {s.port}\nsecurity = "none"\n'
                f'username = "press-{name}"\npassword_env = "RELAY_{name.upper()}_PASSWORD"\n'
                for name, s in (("a", a), ("b", b))
            ),
            encoding="utf-8",
        )
        settings = load_settings(path)
        t = make_transport(settings, Credentials.read(settings))
        outcomes = [await t.send(envelope(f"j{n}@example.com", n)) for n in range(4)]
        await t.close()
    assert {o.status for o in outcomes} == {Status.SENT}
    assert [m.login for m in a.messages] == ["press-a"] * 2
    assert [m.login for m in b.messages] == ["press-b"] * 2


def test_a_relay_with_a_username_and_no_password_names_the_relay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELAY_B_PASSWORD", raising=False)
    text = MINIMAL + (
        '\n[[smtp.relays]]\nhost = "a.example.org"\n'
        '\n[[smtp.relays]]\nhost = "b.example.org"\nport = 465\nusername = "press"\n'
        'password_env = "RELAY_B_PASSWORD"\n'
    )
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    settings = load_settings(tmp_path / "config.toml")
    with pytest.raises(ConfigError) as caught:
        make_transport(settings, Credentials.read(settings))
    assert "number 2 (b.example.org:465)" in str(caught.value)
    assert "RELAY_B_PASSWORD" in str(caught.value)


def test_relays_in_config_toml(tmp_path: Path) -> None:
    text = MINIMAL + (
        "\n[smtp]\nrate = 50\nper_domain_rate = 5\ntimeout = '20s'\n"
        '\n[[smtp.relays]]\nhost = "a.example.org"\nconcurrency = 8\nrate = 40\n'
        '\n[[smtp.relays]]\nhost = "b.example.org"\nport = 2525\nweight = 3\nrate = 20\n'
    )
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    smtp = load_settings(tmp_path / "config.toml").smtp
    first, second = smtp.relays
    assert (first.name, first.share, first.security) == ("a.example.org:587", 8, "starttls")
    assert (second.name, second.share, second.concurrency) == ("b.example.org:2525", 3, 4)
    assert smtp.connections == 12  # the engine's senders: every relay's connections
    assert smtp.overall_rate == 50  # [smtp] rate caps the 60 the relays allow together
    each = smtp.relay_settings()
    assert [(s.host, s.port, s.rate, s.per_domain_rate) for s in each] == [
        ("a.example.org", 587, 40, 0),  # the domain's rate is applied once, for all relays
        ("b.example.org", 2525, 20, 0),
    ]
    assert {s.timeout for s in each} == {timedelta(seconds=20)}


def test_an_unlimited_relay_makes_the_relays_unlimited_together() -> None:
    relays = (RelaySection(host="a", rate=10), RelaySection(host="b"))
    assert SmtpSection(relays=relays).overall_rate == 0
    assert SmtpSection(relays=relays[:1]).overall_rate == 10


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[smtp]\nhost = "mail.example.org"\n[[smtp.relays]]\nhost = "a.example.org"\n',
            "config.toml:8: smtp: smtp.host and [[smtp.relays]] both describe the relay",
        ),
        (
            '[smtp]\nconcurrency = 8\n[[smtp.relays]]\nhost = "a.example.org"\n',
            "config.toml:8: smtp: smtp.concurrency and [[smtp.relays]]",
        ),
        (
            '[[smtp.relays]]\nhost = "a.example.org"\n[[smtp.relays]]\nhost = "A.example.org"\n',
            "config.toml:8: smtp.relays: A.example.org:587 is listed twice (raise its weight)",
        ),
        (
            '[[smtp.relays]]\nhost = "a"\n[[smtp.relays]]\nhost = "b"\nweight = 0\n',
            "config.toml:12: smtp.relays.1.weight: Input should be greater than or equal to 1",
        ),
        ('[smtp]\ntimeout = "9s"\n[[smtp.relays]]\nport = 25\n', "smtp.relays.0.host: required"),
        (
            '[[smtp.relays]]\nhost = "a.example.org"\nsecurity = "ssl"\n',
            "config.toml:10: smtp.relays.0.security",
        ),
    ],
)
def test_relays_are_validated(tmp_path: Path, toml: str, expected: str) -> None:
    (tmp_path / "config.toml").write_text(MINIMAL + "\n" + toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "config.toml")
    assert expected in str(caught.value)


def test_the_same_relay_with_two_accounts_is_two_relays() -> None:
    relays = SmtpSection(
        relays=(RelaySection(host="a", username="one"), RelaySection(host="a", username="two"))
    ).relays
    assert len(relays) == 2


# --- Through the engine -----------------------------------------------------------------


@pytest.mark.databases("sqlite", "postgresql")
async def test_run_once_uses_every_relay_and_sends_each_once_around_a_refusing_one(
    newsroom: Newsroom,
) -> None:
    total = 60
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", [f"j{i:03d}@example.org,,en,,,no" for i in range(total)])
    async with servers({"*": Fault.refuse_connection()}, {}, {}) as (down, a, b):
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={
                "timeout": "3s",
                "relays": [
                    relay(down.port, concurrency=2),
                    relay(a.port, concurrency=2),
                    relay(b.port, concurrency=4),
                ],
            },
        )
        _, stats = await run_once(newsroom.settings())
    assert stats.outcomes == Counter(sent=total)
    assert len(once_each(down, a, b)) == total
    assert down.messages == []
    assert a.messages and b.messages
