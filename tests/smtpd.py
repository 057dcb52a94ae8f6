"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 that records what arrives and
misbehaves on request.

    async with smtp_server() as server:
        transport = SmtpTransport(Smtp(host=server.host, port=server.port, security="none"), None)
        ...
        assert server.messages[0].data == message
        assert server.connections == 1

Faults are keyed by address (``"*"`` matches any) and say what the server does
instead of accepting, at which command, and for how many attempts::

    faults = {
        "greylisted@example.com": Fault.tempfail(times=2),  # 451 twice, then accepted
        "nobody@example.com": Fault.user_unknown(),         # 550 at RCPT, always
        "*": Fault.throttle(times=3),                       # 421 to the first three messages
    }

A MAIL-stage fault is looked up by the sender, RCPT and DATA faults by the
recipient, a CONNECT-stage fault (``Fault.refuse_connection``: a reply instead of
the greeting) under ``"*"`` only. ``server.faults`` may be changed while the server runs, and
``server.drop_connections()`` hangs up on every client (an idle timeout, a
restart); ``server.attempts`` counts how often each fault was consulted, and
``server.rcpt_tos`` lists every recipient a client named, in order, whatever came of it.
``await server.hung_up()`` waits until no client is connected: count ``messages``
after it when a client was stopped mid-send.

The server runs in aiosmtpd's own thread and event loop, like a real server
would: a handler that sleeps does not stall the client under test.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["connect", "mail", "rcpt", "data"]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Fault:
    """What the server does to one address instead of accepting.

    ``reply`` is the reply line to send (a 421 also closes the connection, as
    RFC 5321 says it must); ``None`` hangs up without replying. ``delay`` is how
    long to wait first. Only the first ``times`` attempts misbehave (``None``:
    all of them); attempts are counted per address key.
    """

    stage: Stage
    reply: str | None
    delay: float = 0.0
    times: int | None = None

    @classmethod
    def tempfail(cls, times: int | None = None, reply: str = "451 4.7.1 Try again later") -> Fault:
        return cls("rcpt", reply, times=times)

    @classmethod
    def user_unknown(cls, reply: str = "550 5.1.1 User unknown") -> Fault:
        return cls("rcpt", reply)

    @classmethod
    def reject_data(cls, reply: str = "554 5.6.0 Message rejected") -> Fault:
        return cls("data", reply)

    @classmethod
    def drop_data(cls, times: int | None = None) -> Fault:
        """Receive the whole message, then hang up instead of replying."""
        return cls("data", None, times=times)

    @classmethod
    def slow_data(cls, delay: float) -> Fault:
        """Receive the message, wait ``delay`` seconds, then accept it (if still connected)."""
        return cls("data", "250 2.0.0 OK, eventually", delay=delay)

    @classmethod
    def throttle(cls, times: int | None = None) -> Fault:
        return cls("rcpt", "421 4.7.0 Too many messages, slow down", times=times)

    @classmethod
    def refuse_connection(
        cls, times: int | None = None, reply: str = "421 4.7.0 Too many connections, try later"
    ) -> Fault:
        """Answer a new connection with ``reply`` instead of the greeting, then hang up."""
        return cls("connect", reply, times=times)

    @classmethod
    def drop_mail(cls, times: int | None = 1) -> Fault:
        """Hang up at MAIL FROM, as a server does with a connection it timed out while idle."""
        return cls("mail", None, times=times)


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # exactly as received, dot-unstuffed, CRLF line endings
    message_id: str | None
    connection: int  # 1 for the first connection the server accepted, and so on
    login: str | None  # the AUTH user name the client logged in with, if any


@dataclass
class SmtpServer:
    """The running server: where to connect, and what it has seen."""

    host: str
    port: int
    faults: dict[str, Fault] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    connections: int = 0  # connections accepted so far
    rcpt_tos: list[str] = field(default_factory=list)  # every RCPT TO, accepted or not
    attempts: dict[tuple[str, Stage], int] = field(default_factory=dict)
    _live: dict[SMTP, int] = field(default_factory=dict)  # connection -> its number
    _open: set[SMTP] = field(default_factory=set)  # connections not yet closed
    _controller: Controller | None = None

    def recipients(self) -> list[str]:
        return [rcpt for m in self.messages for rcpt in m.rcpt_tos]

    async def hung_up(self, timeout: float = 10.0) -> None:
        """Wait until every client has closed its connection: by then no message is
        still on its way in, and ``messages`` is final for what was sent so far."""
        deadline = time.monotonic() + timeout
        while self._open:
            assert time.monotonic() < deadline, f"{len(self._open)} clients still connected"
            await asyncio.sleep(0.01)

    def drop_connections(self) -> None:
        """Hang up on every client, as a server does when it restarts."""
        assert self._controller is not None
        for protocol in list(self._live):
            if protocol.transport is not None:
                self._controller.loop.call_soon_threadsafe(protocol.transport.close)

    def fault_for(self, address: str, stage: Stage) -> Fault | None:
        for key in (address, "*"):
            fault = self.faults.get(key)
            if fault is None or fault.stage != stage:
                continue
            seen = self.attempts.get((key, stage), 0)
            self.attempts[key, stage] = seen + 1
            if fault.times is None or seen < fault.times:
                return fault
            return None
        return None


class _Handler:
    """aiosmtpd hooks: apply faults, record what gets accepted."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self.server.fault_for(address, "mail")
        if fault is not None:
            return await _misbehave(smtp, fault)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.server.rcpt_tos.append(address)
        fault = self.server.fault_for(address, "rcpt")
        if fault is not None:
            return await _misbehave(smtp, fault)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        reply = "250 2.0.0 OK"
        for rcpt in envelope.rcpt_tos:
            fault = self.server.fault_for(rcpt, "data")
            if fault is not None:
                reply = await _misbehave(smtp, fault)
                break
        if reply.startswith("2"):
            data = bytes(envelope.original_content or b"")
            headers = BytesHeaderParser(policy=default).parsebytes(data)
            message_id = headers["Message-ID"]
            self.server.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=data,
                    message_id=str(message_id) if message_id is not None else None,
                    connection=self.server._live.get(smtp, 0),
                    login=_login(session),
                )
            )
        return reply


def _login(session: Session) -> str | None:
    data = session.auth_data
    return (
        data.login.decode() if session.authenticated and isinstance(data, LoginPassword) else None
    )


async def _misbehave(smtp: SMTP, fault: Fault) -> str:
    if fault.delay:
        await asyncio.sleep(fault.delay)  # cancelled if the client hangs up meanwhile
    if fault.reply is None:
        assert smtp.transport is not None
        smtp.transport.close()
        # connection_lost() cancels this handler: the client never gets a reply.
        await asyncio.get_running_loop().create_future()
    assert fault.reply is not None
    if fault.reply.startswith("421") and smtp.transport is not None:
        # Runs after aiosmtpd has written the reply, which close() still flushes.
        smtp.loop.call_soon(smtp.transport.close)
    return fault.reply


class _Smtp(SMTP):
    """aiosmtpd's server, with a greeting that can be refused."""

    def __init__(self, server: SmtpServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.state._open.add(self)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state._open.discard(self)
        super().connection_lost(exc)

    async def _handle_client(self) -> None:
        fault = self.state.fault_for("*", "connect")
        if fault is None:
            await super()._handle_client()
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.reply is not None:
            await self.push(fault.reply)
        assert self.transport is not None
        self.transport.close()


class _Controller(Controller):
    def __init__(self, server: SmtpServer, **kwargs: Any) -> None:
        super().__init__(_Handler(server), hostname=server.host, port=server.port, **kwargs)
        self.state = server

    def factory(self) -> SMTP:
        smtp = _Smtp(self.state, self.handler, **self.SMTP_kwargs)
        self.state.connections += 1
        self.state._live[smtp] = self.state.connections
        return smtp


def free_port() -> int:
    """A port nothing listens on (yet): also handy as an unreachable server."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _authenticator(users: Mapping[str, str]) -> Any:
    def check(
        smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == (
            data.password.decode()
        )
        # handled=False: let aiosmtpd send the 535 (handled=True would leave the client waiting).
        return AuthResult(success=ok, handled=False, auth_data=data)

    return check


@asynccontextmanager
async def smtp_server(
    faults: Mapping[str, Fault] | None = None,
    *,
    users: Mapping[str, str] | None = None,
    port: int | None = None,
    **smtp_options: Any,
) -> AsyncIterator[SmtpServer]:
    """Run an SMTP server on a free port of 127.0.0.1 for the duration of the block.

    ``users`` (login -> password) turns on AUTH (PLAIN and LOGIN, allowed
    without TLS; ``Received.login`` says who logged in). ``smtp_options`` go to
    ``aiosmtpd.smtp.SMTP`` (``timeout``, ``tls_context``, ...). ``port`` picks the
    port (a server that comes up where a client has been failing to connect).
    """
    server = SmtpServer(HOST, port or free_port(), faults=dict(faults or {}))
    if users is not None:
        smtp_options.setdefault("authenticator", _authenticator(users))
        smtp_options.setdefault("auth_require_tls", False)
    controller = _Controller(server, **smtp_options)
    await asyncio.to_thread(controller.start)
    # start() opens one connection of its own to check the server is up: not a client's.
    server.connections = 0
    server.attempts.clear()
    server._live.clear()
    await server.hung_up()  # that check's connection too
    server._controller = controller
    try:
        yield server
    finally:
        await asyncio.to_thread(controller.stop)
