"""The transport boundary: hand one message to the outside world, say what happened.

A transport never raises for a delivery problem: every outcome, including a
timeout or a dropped connection, comes back as a :class:`Outcome` the engine
records in the ledger. Exceptions are for bugs, for closing down, and for a
transport that cannot work as configured (:class:`~pressdispatch.errors.TransportStopped`:
the message was not tried, and no other will be until the transport says so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    SENT = "sent"  # the server accepted it (2xx), or it is in the outbox
    DEFERRED = "deferred"  # try again later: 4xx, timeout, disconnect
    FAILED = "failed"  # the server refused this message for good (5xx to MAIL, RCPT or DATA)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message for one recipient."""

    sender: str  # envelope MAIL FROM (bare address)
    recipient: str  # envelope RCPT TO (bare address)
    message: bytes  # complete RFC 5322 message, CRLF line endings
    message_id: str  # "<...@domain>", as in the Message-ID header
    release_id: str


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    code: int | None = None  # SMTP reply code, when there was one
    reply: str = ""  # the server's words, or what went wrong
    bounce: bool = False  # the recipient address itself was refused for good (550/551/553)
    #: The server could not be reached, or refused the connection or the login: nothing
    #: of the message left, so another relay may take it at once without any risk of a
    #: second copy (relays.py).
    unreached: bool = False


#: What a transport awaits last before the message could be accepted (before its data
#: goes out): the engine's sender is still waiting for its previous message's outcome to
#: be recorded, and meanwhile the transport can start this message's transaction. It
#: may be awaited more than once (a retry on another connection or relay).
Ready = Callable[[], Awaitable[None]]


class Transport(Protocol):
    """Send messages; safe to call ``send`` from many tasks at once.

    With ``ready``, nothing of the message may be accepted before ``ready()`` is done:
    the ledger counts on it (at most one accepted message per sender unrecorded).
    """

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome: ...

    async def close(self) -> None: ...
