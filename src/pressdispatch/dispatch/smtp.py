"""Send through an SMTP server: a small pool of reused connections, rate limits, reply mapping.

Only the server's verdict on a message can fail it for good. Anything that goes
wrong while connecting, securing or logging in says nothing about the message,
so it comes back DEFERRED and the engine tries again later (a wrong password,
once fixed, then costs nobody their copy of the release).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from pressdispatch.config import Smtp
from pressdispatch.dispatch.transport import Envelope, Outcome, Status
from pressdispatch.errors import ConfigError

Clock = Callable[[], float]

BOUNCE_CODES = frozenset({550, 551, 553})  # at RCPT: the address itself is refused
THROTTLE_CODES = frozenset({421, 450, 451, 452, 454})
UNLIMITED_CAP = 5.0  # messages/second after the first "slow down" when no rate is configured
SLOWEST = 0.2  # messages/second; halving never goes below this
DOUBLING = 20.0  # seconds for a lowered rate to double on its way back
RECOVERY = 60.0  # seconds after which an unlimited rate is unlimited again
COOLDOWN = 1.0  # seconds: replies to messages already in flight count as one signal


class SmtpTransport:
    """Deliver each envelope in its own MAIL/RCPT/DATA transaction over pooled connections."""

    def __init__(
        self, settings: Smtp, password: str | None, *, clock: Clock = time.monotonic
    ) -> None:
        if settings.username and not password:
            raise ConfigError(
                f"smtp.username is {settings.username!r} but ${settings.password_env} is not set"
            )
        self._settings = settings
        self._password = password or ""
        self._timeout = settings.timeout.total_seconds()
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._idle: list[aiosmtplib.SMTP] = []
        self._throttle = _Throttle(settings.rate, clock)
        self._global = _Bucket(self._throttle.rate, clock)
        self._domains: dict[str, _Bucket] = {}
        self._local_hostname: str | None = None

    @property
    def current_rate(self) -> float | None:
        """Messages per second allowed right now (lowered after throttling); None = unlimited."""
        return self._throttle.rate()

    async def send(self, envelope: Envelope) -> Outcome:
        # Tokens first, connection second: a message waiting its turn holds no connection.
        if self._settings.per_domain_rate:
            await self._domain_bucket(envelope.recipient).take()
        await self._global.take()
        async with self._slots:
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._deliver(envelope)
            except TimeoutError:
                return Outcome(Status.DEFERRED, reply=f"timed out after {self._timeout:g}s")

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(conn) for conn in idle))

    def _domain_bucket(self, recipient: str) -> _Bucket:
        domain = recipient.rpartition("@")[2].lower()
        if domain not in self._domains:
            rate = self._settings.per_domain_rate
            self._domains[domain] = _Bucket(lambda: rate, self._clock)
        return self._domains[domain]

    async def _deliver(self, envelope: Envelope) -> Outcome:
        outcome, stale = await self._attempt(envelope, fresh=False)
        if stale:  # the pooled connection had died while idle; the message never left
            outcome, _ = await self._attempt(envelope, fresh=True)
        if outcome.code in THROTTLE_CODES:
            self._throttle.slow_down()
        return outcome

    async def _attempt(self, envelope: Envelope, *, fresh: bool) -> tuple[Outcome, bool]:
        """One try, and whether it failed on a reused connection before anything was accepted."""
        conn, reused = (None, False) if fresh else self._checkout()
        if conn is None:
            try:
                conn = await self._connect()
            except _NoStartTls:
                return Outcome(Status.DEFERRED, reply="server does not offer STARTTLS"), False
            except aiosmtplib.SMTPResponseException as exc:
                return Outcome(Status.DEFERRED, exc.code, exc.message), False
            except (aiosmtplib.SMTPException, OSError) as exc:
                return Outcome(Status.DEFERRED, reply=str(exc) or type(exc).__name__), False
        result = _Result(Outcome(Status.DEFERRED), keep=False)
        try:
            result = await _transact(conn, envelope)
        finally:  # also on timeout or cancellation: a half-done conversation is unusable
            if result.keep and conn.is_connected:
                self._idle.append(conn)
            else:
                conn.close()
        return result.outcome, result.stale and reused

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
                    raise _NoStartTls
                await conn.starttls()
            if s.username:
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


class _NoStartTls(Exception):
    pass


async def _transact(conn: aiosmtplib.SMTP, envelope: Envelope) -> _Result:
    stage = "MAIL"
    try:
        size = [f"SIZE={len(envelope.message)}"] if conn.supports_extension("size") else []
        await _command(conn, "MAIL", envelope.sender, size)
        stage = "RCPT"
        await _command(conn, "RCPT", envelope.recipient, [])
        stage = "DATA"
        response = await _data(conn, envelope.message)
    except aiosmtplib.SMTPResponseException as exc:
        status = Status.FAILED if exc.code >= 500 else Status.DEFERRED
        bounce = stage == "RCPT" and exc.code in BOUNCE_CODES
        outcome = Outcome(status, exc.code, exc.message, bounce=bounce)
        if exc.code == 421:  # "closing channel": aiosmtplib has hung up already
            return _Result(outcome, keep=False, stale=stage == "MAIL")
        return _Result(outcome, keep=await _reset(conn))
    except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
        reply = f"connection lost at {stage}: {exc}"
        return _Result(Outcome(Status.DEFERRED, reply=reply), keep=False, stale=stage == "MAIL")
    except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
        # ValueError: an address aiosmtplib cannot put on the wire (non-ASCII without SMTPUTF8)
        return _Result(Outcome(Status.FAILED, reply=f"{stage}: {exc}"), keep=await _reset(conn))
    except (aiosmtplib.SMTPException, OSError) as exc:  # read timeouts, TLS errors, ...
        reply = f"{stage}: {exc or type(exc).__name__}"
        return _Result(Outcome(Status.DEFERRED, reply=reply), keep=False)
    return _Result(Outcome(Status.SENT, response.code, response.message), keep=True)


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


async def _data(conn: aiosmtplib.SMTP, message: bytes) -> aiosmtplib.SMTPResponse:
    """DATA, with the message's bytes put on the wire as they are when they can be.

    aiosmtplib's ``data`` runs two regular expressions over every message (line
    endings, leading dots), which costs as much CPU as the rest of the transaction.
    The renderer's messages already end every line with CRLF, so here a message
    whose line endings are all CRLF is only dot-stuffed (a plain bytes replace,
    rarely needed) and written; any other goes through ``data``.
    """
    wire = _on_the_wire(message)
    if wire is None or conn.protocol is None:
        return await conn.data(message)
    start = await conn.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
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


class _Throttle:
    """The global rate: lowered when the server says "slow down", recovering gradually."""

    def __init__(self, configured: float, clock: Clock) -> None:
        self._configured = configured or None
        self._clock = clock
        self._lowered: float | None = None  # the rate set by the last slow-down
        self._since = 0.0

    def rate(self) -> float | None:
        if self._lowered is None:
            return self._configured
        elapsed = self._clock() - self._since
        rate = self._lowered * 2 ** (elapsed / DOUBLING)
        if (self._configured is None and elapsed >= RECOVERY) or (
            self._configured is not None and rate >= self._configured
        ):
            self._lowered = None
            return self._configured
        return rate

    def slow_down(self) -> None:
        now = self._clock()
        if self._lowered is not None and now - self._since < COOLDOWN:
            return
        current = self.rate()
        self._lowered = max(SLOWEST, current / 2 if current is not None else UNLIMITED_CAP)
        self._since = now


class _Bucket:
    """Async token bucket: one token per message, at most one second's worth saved up.

    It starts with a single token, so a fresh start is as smooth as a steady one.
    The rate is read on every refill, so a throttled rate applies at once.
    """

    def __init__(self, rate: Callable[[], float | None], clock: Clock) -> None:
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
