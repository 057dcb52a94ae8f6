"""Send through an SMTP server: a pool of reused connections, rate limits, reply mapping.

Only the server's verdict on a message can fail it for good. A refusal at RCPT
concerns that recipient alone; the relay's own pushback (see pushback.py)
shrinks the pool, and a transport that cannot work as configured (no STARTTLS,
a certificate that does not verify, a refused login) raises TransportStopped
instead of spending a connection on every message.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from pressdispatch.clock import Timer
from pressdispatch.config import SmtpSection
from pressdispatch.content.returns import Kind, classify
from pressdispatch.dispatch.pushback import Concern, Window, concern
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status
from pressdispatch.errors import ConfigError, TransportStopped

BOUNCE_CODES = frozenset({550, 551, 553})  # at RCPT: the address itself is refused
LOGIN_REFUSED = frozenset({530, 534, 535, 538})  # AUTH: credentials or mechanism, for good
RETRY_STOPPED = 60.0  # seconds before a stopped transport tries one connection again


class SmtpTransport:
    """Deliver each envelope in its own MAIL/RCPT/DATA transaction over pooled connections."""

    def __init__(
        self, settings: SmtpSection, password: str | None, *, clock: Timer = time.monotonic
    ) -> None:
        if settings.username and not password:
            raise ConfigError(
                f"smtp.username is {settings.username!r} but ${settings.password_env} is not set"
            )
        self._settings = settings
        self._password = password or ""
        self._timeout = settings.timeout.total_seconds()
        self._clock = clock
        self.window = Window(settings.concurrency, clock)
        self._idle: list[aiosmtplib.SMTP] = []
        rate = settings.rate or None
        self._global = Bucket(lambda: rate, clock)
        self._domains: dict[str, Bucket] = {}
        self._local_hostname: str | None = None
        self._stopped: TransportStopped | None = None
        self._stopped_at = 0.0

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        self._check_stopped()
        # Tokens first, connection second: a message waiting its turn holds no connection.
        if self._settings.per_domain_rate:
            await self._domain_bucket(envelope.recipient).take()
        await self._global.take()
        async with self.window:
            self._check_stopped()  # another sender may have found out meanwhile
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._deliver(envelope, ready)
            except TimeoutError:
                return Outcome(Status.DEFERRED, reply=f"timed out after {self._timeout:g}s")

    def _check_stopped(self) -> None:
        if self._stopped is not None:
            if self._clock() - self._stopped_at < RETRY_STOPPED:
                raise self._stopped
            self._stopped = None  # time to try one connection again

    def _stop(self, message: str) -> TransportStopped:
        s = self._settings
        self._stopped = TransportStopped(f"smtp {s.host}:{s.port}: {message}", RETRY_STOPPED)
        self._stopped_at = self._clock()
        return self._stopped

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(conn) for conn in idle))

    def _domain_bucket(self, recipient: str) -> Bucket:
        domain = recipient.rpartition("@")[2].lower()
        if domain not in self._domains:
            rate = self._settings.per_domain_rate
            self._domains[domain] = Bucket(lambda: rate, self._clock)
        return self._domains[domain]

    async def _deliver(self, envelope: Envelope, ready: Ready | None) -> Outcome:
        result, reused = await self._attempt(envelope, ready, fresh=False)
        if result.stale and reused:  # the pooled connection had died while idle: never left
            result, _ = await self._attempt(envelope, ready, fresh=True)
        outcome = result.outcome
        if outcome.status is Status.SENT:
            self.window.success()
        elif concern(result.stage, outcome.code, outcome.reply) is Concern.RELAY:
            self.window.pushback()
            await self._trim()
        return outcome

    async def _attempt(
        self, envelope: Envelope, ready: Ready | None, *, fresh: bool
    ) -> tuple[_Result, bool]:
        """One try, and whether it was on a reused connection."""
        conn, reused = (None, False) if fresh else self._checkout()
        if conn is None:
            try:
                conn = await self._connect()
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code in LOGIN_REFUSED and self._settings.username:
                    raise self._stop(
                        f"the server refused the login of smtp.username "
                        f"{self._settings.username!r}: {exc.code} {exc.message} "
                        f"(check ${self._settings.password_env})"
                    ) from None
                outcome = Outcome(Status.DEFERRED, exc.code, exc.message, unreached=True)
                return _Result(outcome, keep=False), False
            except (aiosmtplib.SMTPException, OSError) as exc:
                if (tls := _tls_failure(exc)) is not None:
                    raise self._stop(
                        f"{tls} (check smtp.host, smtp.port and smtp.security, now "
                        f"{self._settings.security!r})"
                    ) from None
                reply = str(exc) or type(exc).__name__
                return _Result(Outcome(Status.DEFERRED, reply=reply, unreached=True), False), False
        result = _Result(Outcome(Status.DEFERRED), keep=False)
        try:
            result = await _transact(conn, envelope, ready)
        finally:  # also on timeout or cancellation: a half-done conversation is unusable
            if result.keep and conn.is_connected:
                self._idle.append(conn)
            else:
                conn.close()
        return result, reused

    async def _trim(self) -> None:
        """Close the idle connections the smaller window no longer allows."""
        extra = len(self._idle) - self.window.size
        if extra > 0:
            closing, self._idle = self._idle[:extra], self._idle[extra:]
            await asyncio.gather(*(_quit(conn) for conn in closing))

    def _checkout(self) -> tuple[aiosmtplib.SMTP | None, bool]:
        while self._idle:
            conn = self._idle.pop()
            if conn.is_connected:
                return conn, True
            conn.close()
        return None, False

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        if self._local_hostname is None:
            # aiosmtplib would look this up for every connection; a slow resolver
            # would then eat into each reconnecting message's timeout.
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        conn = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            local_hostname=self._local_hostname,
            use_tls=s.security == "tls",
            start_tls=False,  # done below, so a server without STARTTLS is refused, not tolerated
            timeout=self._timeout,
        )
        await conn.connect()
        try:
            # Greet here rather than inside the first MAIL, so that a refused EHLO is
            # a connection problem (DEFERRED), never a verdict on that message.
            try:
                await conn.ehlo()
            except aiosmtplib.SMTPHeloError:
                await conn.helo()
            if s.security == "starttls":
                if not conn.supports_extension("starttls"):
                    raise self._stop(
                        'the server does not offer STARTTLS, which smtp.security = "starttls" '
                        'requires (use "tls" for a port with implicit TLS such as 465, or '
                        '"none" only for a relay on this machine)'
                    )
                await conn.starttls()
            if s.username:
                if not conn.supports_extension("auth"):
                    raise self._stop(
                        f"smtp.username is {s.username!r} but the server offers no AUTH "
                        "(on this connection: a server may offer it only after STARTTLS)"
                    )
                await conn.login(s.username, self._password)
        except BaseException:
            conn.close()
            raise
        return conn


@dataclass(frozen=True, slots=True)
class _Result:
    outcome: Outcome
    keep: bool  # the connection can carry the next message
    stale: bool = False  # it failed before the server accepted anything for this message
    stage: str = "connect"  # where it went wrong: connect, MAIL, RCPT, DATA


def _tls_failure(exc: BaseException) -> str | None:
    """What went wrong with TLS, if that is what ``exc`` (or its cause) is about."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"the server's certificate does not verify: {seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return f"TLS failed: {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    return None


def _address_gone(reply: str) -> bool:
    """Whether a refusal at RCPT says the address does not exist, not that the sender is
    blocked: a ``550 5.7.1`` (policy, a block list, "spam") is never the journalist's."""
    found = re.search(r"\b5\.\d{1,3}\.\d{1,3}\b", reply)
    status = found.group(0) if found else "5.1.1"
    kind = classify(status, reply)
    # Any 5.1.x at RCPT is about the address (5.1.3: its syntax), unless it names a policy.
    return kind is Kind.HARD or (status.startswith("5.1.") and kind is not Kind.POLICY)


async def _transact(conn: aiosmtplib.SMTP, envelope: Envelope, ready: Ready | None) -> _Result:
    stage = "MAIL"
    try:
        size = [f"SIZE={len(envelope.message)}"] if conn.supports_extension("size") else []
        await _command(conn, "MAIL", envelope.sender, size)
        stage = "RCPT"
        await _command(conn, "RCPT", envelope.recipient, [])
        stage = "DATA"
        response = await _data(conn, envelope.message, ready)
    except aiosmtplib.SMTPResponseException as exc:
        status = Status.FAILED if exc.code >= 500 else Status.DEFERRED
        bounce = stage == "RCPT" and exc.code in BOUNCE_CODES and _address_gone(exc.message)
        outcome = Outcome(status, exc.code, exc.message, bounce=bounce)
        if exc.code == 421:  # "closing channel": aiosmtplib has hung up already
            return _Result(outcome, keep=False, stale=stage == "MAIL", stage=stage)
        return _Result(outcome, keep=await _reset(conn), stage=stage)
    except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
        reply = f"connection lost at {stage}: {exc}"
        outcome = Outcome(Status.DEFERRED, reply=reply)
        return _Result(outcome, keep=False, stale=stage == "MAIL", stage=stage)
    except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
        # ValueError: an address aiosmtplib cannot put on the wire (non-ASCII without SMTPUTF8)
        outcome = Outcome(Status.FAILED, reply=f"{stage}: {exc}")
        return _Result(outcome, keep=await _reset(conn), stage=stage)
    except (aiosmtplib.SMTPException, OSError) as exc:  # read timeouts, TLS errors, ...
        reply = f"{stage}: {exc or type(exc).__name__}"
        return _Result(Outcome(Status.DEFERRED, reply=reply), keep=False, stage=stage)
    return _Result(Outcome(Status.SENT, response.code, response.message), keep=True, stage=stage)


async def _command(conn: aiosmtplib.SMTP, verb: str, address: str, options: list[str]) -> None:
    """MAIL FROM or RCPT TO. aiosmtplib's ``mail``/``rcpt`` re-parse every address with
    ``email.utils``, which costs more than the command's round trip; our addresses are
    validated when they are imported. Non-ASCII ones still go the general way (SMTPUTF8).
    """
    if not address.isascii():
        if verb == "MAIL":
            await conn.mail(address, options=options)
        else:
            await conn.rcpt(address, options=options)
        return
    keyword = b"FROM:<" if verb == "MAIL" else b"TO:<"
    args = [verb.encode("ascii"), keyword + address.encode("ascii") + b">"]
    response = await conn.execute_command(*args, *(o.encode("ascii") for o in options))
    if response.code != 250 and not (verb == "RCPT" and response.code == 251):
        raise aiosmtplib.SMTPResponseException(response.code, response.message)


async def _data(
    conn: aiosmtplib.SMTP, message: bytes, ready: Ready | None
) -> aiosmtplib.SMTPResponse:
    """DATA, with the message's bytes put on the wire as they are when they can be.

    aiosmtplib's ``data`` runs two regular expressions over every message (line
    endings, leading dots), which costs as much CPU as the rest of the transaction.
    The renderer's messages already end every line with CRLF, so here a message
    whose line endings are all CRLF is only dot-stuffed (a plain bytes replace,
    rarely needed) and written; any other goes through ``data``.

    ``ready`` is awaited as late as can be: MAIL, RCPT and DATA's go-ahead overlap the
    recording of the sender's previous outcome.
    """
    wire = _on_the_wire(message)
    if wire is None or conn.protocol is None:
        if ready is not None:
            await ready()
        return await conn.data(message)
    start = await conn.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    if ready is not None:
        await ready()
    conn.protocol.write(wire)
    response = await conn.protocol.read_response(timeout=conn.timeout)
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response


def _on_the_wire(message: bytes) -> bytes | None:
    """The DATA payload (dot-stuffed, terminated), or None if a line ending is not CRLF."""
    crlf = message.count(b"\r\n")
    if (
        message.count(b"\n") != crlf
        or message.count(b"\r") != crlf
        or not message.endswith(b"\r\n")
    ):
        return None
    if message.startswith(b"."):
        message = b"." + message
    if b"\n." in message:
        message = message.replace(b"\n.", b"\n..")
    return message + b".\r\n"


async def _reset(conn: aiosmtplib.SMTP) -> bool:
    """Abandon the transaction so the connection can be reused; False if it is beyond saving."""
    if not conn.is_connected:
        return False
    try:
        await conn.rset()
    except (aiosmtplib.SMTPException, OSError):
        return False
    return True


async def _quit(conn: aiosmtplib.SMTP) -> None:
    try:
        await conn.quit()
    except (aiosmtplib.SMTPException, OSError):
        pass
    finally:
        conn.close()


class Bucket:
    """Async token bucket: one token per message, at most one second's worth saved up.

    It starts with a single token, so a fresh start is as smooth as a steady one.
    The rate is read on every refill, so a throttled rate applies at once.
    """

    def __init__(self, rate: Callable[[], float | None], clock: Timer) -> None:
        self._rate = rate
        self._clock = clock
        self._tokens = 1.0
        self._stamp = clock()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    async def take(self) -> None:
        async with self._lock:
            while True:
                rate, now = self._rate(), self._clock()
                if rate is None:
                    self._stamp = now
                    return
                elapsed, self._stamp = now - self._stamp, now
                self._tokens = min(max(1.0, rate), self._tokens + elapsed * rate)
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / rate)
