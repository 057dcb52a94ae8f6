"""The inbound SMTP/LMTP endpoint (``[bounces] listen``): where returned mail comes in.

An organisation's mail server routes ``bounces+*@`` here (over LMTP, as for Mailman 3)
or relays it (SMTP). Only the return path's own addresses are accepted (550 5.1.1 for
anything else, so it is no open door for other mail); at the end of DATA the message
goes through bounces.py, and 250 means its outcome is committed. When the store cannot
take it, 451: the sending server keeps the message and tries again, so nothing is lost
(bounces.py counts a report read twice once).

The servers run in the service's own event loop and share its Runtime, like the web app
(web/server.py); the commands bind the sockets first, so a port in use is one line.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import weakref
from collections.abc import Sequence
from typing import AnyStr, Literal

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from pressdispatch import bounces
from pressdispatch.clock import Clock
from pressdispatch.runtime import Runtime
from pressdispatch.verp import ReturnPath

__all__ = ["MAX_MESSAGE", "ReturnedMail", "serve_returns"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 10 * 1024 * 1024  # a report with the original attached; more is not one
Protocol = Literal["smtp", "lmtp"]


class ReturnedMail:
    """aiosmtpd's handler: accepts mail for the return path and processes it at DATA."""

    def __init__(self, rt: Runtime, return_path: ReturnPath, via: Protocol, clock: Clock) -> None:
        self.rt = rt
        self.return_path = return_path
        self.via = via
        self.clock = clock

    def ours(self, address: str) -> bool:
        bare = address.strip().strip("<>").lower() == self.return_path.address.lower()
        return bare or self.return_path.token_in(address) is not None

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.ours(address):
            return f"550 5.1.1 <{address}>: only returned mail for the newsroom is accepted here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await bounces.process(
                self.rt.returns,
                self.rt.renderer.signer,
                self.return_path,
                raw,
                self.clock(),
                via=self.via,
                recipients=list(envelope.rcpt_tos),
            )
        except Exception:
            # Not committed: the sender keeps the message and tries again later.
            log.exception("returned mail via %s could not be recorded", self.via)
            return "451 4.3.0 Cannot record the message now; try again later"
        return "250 2.0.0 Returned mail recorded"


class _Lmtp(LMTP):
    """LMTP owes one reply per accepted recipient after the message (RFC 2033 4.2). The
    message is processed once, so every recipient gets the same reply: the handler's, or
    aiosmtpd's own refusal of an oversized message, which it would send only once."""

    _owed = 0  # replies owed for the message being received: its recipients

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("354") and self.envelope is not None:
            # Counted now: aiosmtpd forgets the envelope before it sends the reply.
            self._owed = len(self.envelope.rcpt_tos)
        elif self._owed:
            if "\r\n" not in text:
                text = "\r\n".join([text] * self._owed)
            self._owed = 0
        await super().push(text)


async def serve_returns(
    rt: Runtime,
    sockets: Sequence[socket.socket],
    stop: asyncio.Event,
    *,
    clock: Clock,
) -> None:
    """Take returned mail on ``sockets`` (web/server.py ``listen``) until ``stop``, then
    hang up on whoever is still connected (a message not yet answered is sent again)."""
    settings = rt.settings.bounces
    return_path = rt.return_path
    if return_path is None:
        raise ValueError("[bounces] listen reads what comes back to return_path: set it")
    handler = ReturnedMail(rt, return_path, settings.protocol, clock)
    kind = _Lmtp if settings.protocol == "lmtp" else SMTP
    loop = asyncio.get_running_loop()
    # aiosmtpd looks up the machine's name for every connection unless told one.
    hostname = return_path.address.rpartition("@")[2]
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def session() -> SMTP:
        smtp = kind(
            handler,
            data_size_limit=MAX_MESSAGE,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="pressdispatch",
            loop=loop,
        )
        sessions.add(smtp)
        return smtp

    servers: list[asyncio.Server] = []
    try:
        for sock in sockets:
            servers.append(await loop.create_server(session, sock=sock))
        host, port = sockets[0].getsockname()[:2]
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        log.info("returned mail accepted at %s (%s)", where, settings.protocol)
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        for smtp in list(sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        for server in servers:
            await server.wait_closed()
        for sock in sockets:
            sock.close()
