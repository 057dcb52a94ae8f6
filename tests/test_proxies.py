"""Client addresses behind reverse proxies: only ``web.trusted_proxies`` may name the client.

The rate limits of the console's login and of /subscribe count per client address. A
visitor who could choose that address (by sending ``X-Forwarded-For``) could try
passwords or flood inboxes without limit, so the tests send the header the way an
attacker would: over real HTTP to uvicorn, as ``pressdispatch serve`` and ``run`` start
it, from a process on the same host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from pressdispatch.config import load_settings
from pressdispatch.errors import ConfigError
from pressdispatch.web.app import create_app
from pressdispatch.web.proxies import client_address
from pressdispatch.web.server import listen, serve_web

from .dispatching import Newsroom, make_newsroom, runtime, sqlite_url

PASSWORD = "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_fresh = (f"198.51.100.{n}" for n in itertools.count(1))  # a new address each time


@pytest.fixture
def newsroom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Newsroom:
    monkeypatch.setenv("PRESSDISPATCH_ADMIN_TOKEN", PASSWORD)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    return make_newsroom(tmp_path, sqlite_url(tmp_path))


@asynccontextmanager
async def served(newsroom: Newsroom, **web: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The web app under uvicorn on a free local port, as the commands serve it."""
    newsroom.write_config(web=web)
    sockets = listen("127.0.0.1", 0)
    port = sockets[0].getsockname()[1]
    stop = asyncio.Event()
    async with runtime(newsroom.settings()) as rt:
        server = asyncio.create_task(serve_web(create_app(rt), sockets, stop))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
            try:
                for _ in range(200):
                    try:
                        await client.get("/healthz")
                        break
                    except httpx.TransportError:
                        assert not server.done(), "the web app did not start"
                        await asyncio.sleep(0.05)
                yield client
            finally:
                stop.set()
                assert await server


async def login(
    client: httpx.AsyncClient, forwarded: Mapping[str, str], password: str = "wrong"
) -> httpx.Response:
    return await client.post("/admin/login", data={"password": password}, headers=forwarded)


async def subscribe(
    client: httpx.AsyncClient, email: str, forwarded: Mapping[str, str]
) -> httpx.Response:
    fields = urlencode([("lang", "en"), ("email", email)])
    return await client.post("/subscribe", content=fields, headers=FORM | dict(forwarded))


def xff(*chain: str) -> dict[str, str]:
    return {"X-Forwarded-For": ", ".join(chain)}


# -- a stranger cannot choose their address -----------------------------------------------


async def test_a_strangers_x_forwarded_for_does_not_reset_the_login_limit(
    newsroom: Newsroom,
) -> None:
    async with served(newsroom) as client:  # a local process: uvicorn used to trust it
        for _ in range(5):
            assert (await login(client, xff(next(_fresh)))).status_code == 403
        refused = await login(client, xff(next(_fresh)), PASSWORD)
        assert refused.status_code == 429
        assert "set-cookie" not in refused.headers


async def test_a_strangers_x_forwarded_for_does_not_reset_the_subscribe_limit(
    newsroom: Newsroom,
) -> None:
    async with served(newsroom) as client:
        for n in range(5):
            sent = await subscribe(client, f"reader{n}@example.org", xff(next(_fresh)))
            assert sent.status_code == 200
        refused = await subscribe(client, "reader5@example.org", xff(next(_fresh)))
        assert refused.status_code == 429


async def test_a_strangers_x_forwarded_proto_does_not_decide_the_cookie(
    newsroom: Newsroom,
) -> None:
    async with served(newsroom) as client:
        response = await login(client, {"X-Forwarded-Proto": "https"}, PASSWORD)
        assert response.status_code == 303
        assert "secure" not in response.headers["set-cookie"].lower()


async def test_uvicorns_forwarded_allow_ips_no_longer_opens_a_door(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    async with served(newsroom) as client:
        for _ in range(5):
            await login(client, xff(next(_fresh)))
        assert (await login(client, xff(next(_fresh)))).status_code == 429
    assert "FORWARDED_ALLOW_IPS is ignored: list your proxies in web.trusted_proxies" in (
        caplog.text
    )


# -- a trusted proxy names the client -----------------------------------------------------


async def test_a_trusted_proxy_names_the_client_and_a_forged_left_part_changes_nothing(
    newsroom: Newsroom,
) -> None:
    async with served(newsroom, trusted_proxies=["127.0.0.1"]) as client:
        for _ in range(5):
            assert (await login(client, xff("203.0.113.7"))).status_code == 403
        assert (await login(client, xff("203.0.113.7"), PASSWORD)).status_code == 429
        # The visitor at 203.0.113.7 writes a new address before the one the proxy appends.
        for _ in range(3):
            forged = await login(client, xff(next(_fresh), "203.0.113.7"), PASSWORD)
            assert forged.status_code == 429
        # Someone else behind the same proxy is not held up.
        assert (await login(client, xff("203.0.113.8"), PASSWORD)).status_code == 303


async def test_behind_a_trusted_proxy_each_visitor_has_their_own_subscribe_limit(
    newsroom: Newsroom,
) -> None:
    async with served(newsroom, trusted_proxies=["127.0.0.0/8", "::1"]) as client:
        for n in range(5):
            sent = await subscribe(client, f"reader{n}@example.org", xff("203.0.113.7"))
            assert sent.status_code == 200
        refused = await subscribe(client, "reader5@example.org", xff("6.6.6.6, 203.0.113.7"))
        assert refused.status_code == 429
        other = await subscribe(client, "reader5@example.org", xff("203.0.113.8"))
        assert other.status_code == 200


async def test_a_trusted_proxys_x_forwarded_proto_makes_the_cookie_secure(
    newsroom: Newsroom,
) -> None:
    async with served(newsroom, trusted_proxies=["127.0.0.1"]) as client:
        forwarded = xff("203.0.113.7") | {"X-Forwarded-Proto": "https"}
        response = await login(client, forwarded, PASSWORD)
        assert response.status_code == 303
        assert "secure" in response.headers["set-cookie"].lower()
        plain = await login(client, xff("203.0.113.7") | {"X-Forwarded-Proto": "http"}, PASSWORD)
        assert "secure" not in plain.headers["set-cookie"].lower()


async def test_proxies_on_ipv6_and_several_hops(newsroom: Newsroom) -> None:
    newsroom.write_config(web={"trusted_proxies": ["fd00::/8", "10.0.0.0/8"]})
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        app = create_app(rt)
        async with app.router.lifespan_context(app):

            def via(peer: str) -> httpx.AsyncClient:
                transport = httpx.ASGITransport(app=app, client=(peer, 40000))
                return httpx.AsyncClient(transport=transport, base_url="http://test")

            async with via("fd00::7") as edge, via("2001:db8::66") as stranger:
                # The visitor, then the CDN at 10.1.2.3; the peer is the load balancer.
                chain = xff("2001:db8::5", "10.1.2.3")
                for _ in range(5):
                    assert (await login(edge, chain)).status_code == 403
                for spoofed in ("2001:db8::6", "garbage", ""):
                    again = xff(spoofed, "2001:DB8:0::5", "10.1.2.3")  # the same, written anew
                    assert (await login(edge, again)).status_code == 429
                assert (await login(edge, xff("2001:db8::6", "10.1.2.3"))).status_code == 403
                # A stranger's header is ignored, whichever address it names.
                for _ in range(5):
                    assert (await login(stranger, xff(next(_fresh)))).status_code == 403
                assert (await login(stranger, xff("2001:db8::7"))).status_code == 429


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("192.0.2.1", ["198.51.100.1"], "192.0.2.1"),  # not a proxy: its header is ignored
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # forged left part
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.9.9.9"], "198.51.100.1"),  # two headers
        ("10.0.0.2", ["198.51.100.1:4711"], "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.2", ["2001:DB8:0:0::1"], "2001:db8::1"),
        ("::ffff:10.0.0.2", ["::ffff:198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, unknown"], "10.0.0.2"),  # malformed: trust ends at the proxy
        ("10.0.0.2", ["6.6.6.6, 10.9.9.9, [::1"], "10.0.0.2"),
        ("10.0.0.2", ["6.6.6.6, garbage, 10.9.9.9"], "10.9.9.9"),
        ("10.0.0.2", ["10.3.3.3, 10.9.9.9"], "10.3.3.3"),  # every hop a proxy: the farthest
        ("fd00::1", ["198.51.100.1"], "198.51.100.1"),
        ("not an address", ["198.51.100.1"], "not an address"),
    ],
)
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    peer: str, header: list[str], client: str
) -> None:
    trusted = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]
    assert client_address(peer, header, trusted) == client


# -- config.toml --------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_and_networks_empty_by_default(newsroom: Newsroom) -> None:
    assert newsroom.settings().web.trusted_proxies == ()
    newsroom.write_config(web={"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]})
    shown = [str(n) for n in newsroom.settings().web.trusted_proxies]
    assert shown == ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"127.0.0.1"', "expected a list of IP addresses or networks"),
        ('["proxy.example.org"]', "'proxy.example.org' is not an IP address or a CIDR network"),
        ('["10.0.0.1/8"]', "'10.0.0.1/8' has host bits set: write the network, '10.0.0.0/8'"),
        ('["10.0.0.0/33"]', "'10.0.0.0/33' is not an IP address or a CIDR network"),
        ("[8080]", "8080 is not an IP address or a CIDR network"),
    ],
)
def test_a_bad_trusted_proxy_is_an_error_naming_the_line(
    tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    text = '[newsroom]\nname = "P"\nfrom = "p@example.org"\n\n[web]\nport = 8001\n'
    path.write_text(f"{text}trusted_proxies = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}:7: web.trusted_proxies: {message}")
