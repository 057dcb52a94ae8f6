"""The visitor's address and scheme behind reverse proxies, believed only from trusted ones.

Every use of the client address (the rate limits of the console's login and of
/subscribe, log lines) reads ``request.client``, and the console's ``Secure`` cookie
reads ``request.url.scheme``. This middleware is the one place that decides them.
uvicorn's own proxy-header handling is switched off (web/server.py): it trusts
127.0.0.1 by default, which let any local process pick its address.

- A peer that is not in ``web.trusted_proxies`` is the client; its
  ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are ignored.
- Behind a trusted peer, ``X-Forwarded-For`` is read from the right (each proxy
  appends the address it saw): the client is the right-most address that is not
  itself a trusted proxy. Entries to its left were written by the client and may be
  anything. A malformed entry ends the walk: nothing to its left can be vouched for,
  so the client is the last proxy walked (the limits then hold that proxy's visitors
  together rather than believe a forged address).
- ``X-Forwarded-Proto`` from a trusted peer sets the scheme when it is ``http`` or
  ``https`` (in a list, the left-most: what the visitor's browser used).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from pressdispatch.config import Network

__all__ = ["ProxyHeaders", "client_address"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ProxyHeaders:
    """ASGI middleware: rewrites ``scope["client"]`` and ``scope["scheme"]`` as above."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if self.trusted and scope["type"] in ("http", "websocket") and peer:
            _rewrite(scope, str(peer[0]), self.trusted)
        await self.app(scope, receive, send)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address for a request from ``peer`` with these X-Forwarded-For values."""
    nearest = _address(peer)
    if nearest is None or not _trusted(nearest, trusted):
        return peer
    for entry in reversed([e for value in forwarded_for for e in value.split(",")]):
        hop = _address(entry)
        if hop is None:
            break
        nearest = hop
        if not _trusted(hop, trusted):
            break
    return str(nearest)


def _rewrite(scope: Scope, peer: str, trusted: Sequence[Network]) -> None:
    address = _address(peer)
    if address is None or not _trusted(address, trusted):
        return
    forwarded_for: list[str] = []
    proto = ""
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1")
    if forwarded_for:
        scope["client"] = (client_address(peer, forwarded_for, trusted), 0)
    scheme = proto.split(",", 1)[0].strip().lower()
    if scheme in ("http", "https"):
        scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")


def _address(text: str) -> Address | None:
    """An IP address as proxies write it (``192.0.2.1``, ``192.0.2.1:443``, ``[2001:db8::1]:443``).

    None for anything else: ``unknown``, an obfuscated name, garbage.
    """
    text = text.strip()
    if text.startswith("["):  # [IPv6] or [IPv6]:port
        text, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[:1] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:  # IPv4:port
        text, _, port = text.partition(":")
        if not port.isdigit():
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 visitor of a dual-stack socket shows up as ::ffff:192.0.2.1: one visitor, one key.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)
