"""Return-path tokens: each delivery's own envelope sender, and what reading it back gives."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from pressdispatch.config import BouncesSection
from pressdispatch.store.schema import deliveries, subscribers
from pressdispatch.tokens import Signer
from pressdispatch.verp import MAX_TOKEN, ReturnPath, delivery_of, delivery_token

from .dispatching import Newsroom, run_once, runtime, utc
from .smtpd import smtp_server

SIGNER = Signer(b"k" * 32)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_a_token_names_its_delivery_in_any_case(delivery_id: int) -> None:
    token = delivery_token(SIGNER, delivery_id)
    assert len(token) <= MAX_TOKEN and token == token.lower()
    assert delivery_of(SIGNER, token) == delivery_id
    assert delivery_of(SIGNER, token.upper()) == delivery_id  # a relay changed the case


def test_a_forged_or_mangled_token_names_nothing() -> None:
    token = delivery_token(SIGNER, 41)
    assert delivery_of(Signer(b"other key, other newsroom"), token) is None
    forged = delivery_token(SIGNER, 42)[:-13] + token[-13:]  # 42's id, 41's signature
    assert delivery_of(SIGNER, forged) is None
    assert delivery_of(SIGNER, token[:-1]) is None
    assert delivery_of(SIGNER, "") is None
    assert delivery_of(SIGNER, "ana@example.org") is None


def test_the_return_path_carries_the_token_and_reads_it_back() -> None:
    path = ReturnPath("Bounces@Example.org")
    token = delivery_token(SIGNER, 7)
    sender = path.sender(token)
    assert sender == f"bounces+{token}@example.org"
    assert len(sender.partition("@")[0]) <= 64
    assert path.token_in(f"<{sender.upper()}>") == token
    assert path.token_in(f"bounces+{token}@elsewhere.org") is None
    assert path.token_in("bounces@example.org") is None
    assert path.token_in(f"press+{token}@example.org") is None
    dashed = ReturnPath("bounces@example.org", "-")
    assert dashed.token_in(dashed.sender(token)) == token


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"return_path": "a" * 40 + "@example.org"}, "64 characters"),
        ({"return_path": "Bounces <bounces@example.org>"}, "bare address"),
        ({"return_path": "bounces@example.org", "delimiter": "#"}, "one to three"),
        ({"return_path": "bounces@example.org", "listen": "2525"}, "host:port"),
        ({"listen": "127.0.0.1:2525"}, "set it"),
    ],
)
def test_bounces_settings_say_what_is_wrong(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BouncesSection.model_validate(values)


@pytest.mark.databases("sqlite")
async def test_each_delivery_goes_out_with_its_own_return_path(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", ["ana@example.org,,en,,,no", "ben@example.org,,en,,,no"])
    async with smtp_server() as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": server.host, "port": server.port, "security": "none"},
            bounces={"return_path": "bounces@example.org"},
        )
        await run_once(newsroom.settings())
        await server.hung_up()
    async with runtime(newsroom.settings()) as rt, rt.db.engine.connect() as conn:
        ids = dict(
            (
                await conn.execute(
                    select(subscribers.c.email, deliveries.c.id).join(
                        deliveries, deliveries.c.subscriber_id == subscribers.c.id
                    )
                )
            ).all()
        )
        signer = rt.renderer.signer
    assert len(server.messages) == 2
    for received in server.messages:
        token = ReturnPath("bounces@example.org").token_in(received.mail_from)
        assert token is not None and "ana" not in token and "ben" not in token
        assert delivery_of(signer, token) == ids[received.rcpt_tos[0]]
        headers = message_from_bytes(received.data, policy=policy.default)
        assert headers["X-Pressdispatch-Delivery"] == token
        assert headers["From"].addresses[0].addr_spec == "press@example.org"  # unchanged


@pytest.mark.databases("sqlite")
async def test_without_a_return_path_the_sender_is_the_newsroom(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", ["ana@example.org,,en,,,no"])
    async with smtp_server() as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": server.host, "port": server.port, "security": "none"},
        )
        await run_once(newsroom.settings())
        await server.hung_up()
    [received] = server.messages
    assert received.mail_from == "press@example.org"
    assert b"X-Pressdispatch-Delivery" not in received.data


@pytest.mark.databases("sqlite")
async def test_the_outbox_keeps_each_deliverys_return_path_as_delivered_mail_does(
    newsroom: Newsroom,
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", ["ana@example.org,,en,,,no"])
    newsroom.write_config(bounces={"return_path": "bounces@example.org"})
    await run_once(newsroom.settings())
    [path] = (newsroom.root / "var" / "outbox" / "launch").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    token = message["X-Pressdispatch-Delivery"]
    assert message["Return-Path"] == f"<bounces+{token}@example.org>"
