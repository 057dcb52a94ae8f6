"""Pushback from the relay: what a refusal concerns, and how many connections to use.

A refusal says something about one of three things, and only the relay's own
pushback may slow everybody down:

- the recipient: a 4xx or 5xx at RCPT (greylisting, a full mailbox, an unknown
  user) defers or fails that journalist only;
- the relay: a 421 anywhere, a 4xx before or at MAIL (connecting, greeting,
  logging in, MAIL FROM), a reply that says the sender goes too fast (for
  example ``451 4.7.1 rate limit exceeded``, ``452 4.5.3 too many recipients``)
  or a connection that cannot be opened. The pool then shrinks;
- the configuration: a relay without STARTTLS when it is required, a
  certificate that does not verify, a login the relay refuses for good. No
  message can go until someone fixes it, so the transport stops (TransportStopped).

:class:`Window` is the pool's size under pushback: additive increase,
multiplicative decrease, as TCP does with its congestion window. Each success
adds about one connection per window's worth of messages; each relay pushback
halves it; at one connection, further pushback pauses new messages for a
while (1 s, then twice as long each time, at most a minute) and the first
success ends the pausing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from enum import StrEnum

from pressdispatch.clock import Timer

FIRST_PAUSE = 1.0  # seconds
LONGEST_PAUSE = 60.0
COOLDOWN = 1.0  # seconds: replies to messages already in flight count as one signal

# Words relays use when they throttle a sender rather than refuse a recipient:
# Gmail "unusual rate", SES "Maximum sending rate exceeded", Exchange "too many
# connections" and "insufficient system resources", Postfix "too many recipients".
# A bare "try again later" is greylisting: that one is about the recipient.
_SLOW_DOWN = re.compile(
    r"\brate\b|too (many|fast|much)|throttl|slow(ly)? down|exceeded|limit (reached|exceeded)"
    r"|(connection|session|message)s? limit|system resources",
    re.IGNORECASE,
)


class Concern(StrEnum):
    RECIPIENT = "recipient"
    RELAY = "relay"


def concern(stage: str, code: int | None, reply: str) -> Concern:
    """Whom a refusal at ``stage`` (connect, MAIL, RCPT, DATA) concerns.

    "Recipient" covers the message too: a refusal of its content at DATA, a
    connection lost while it was on the wire.
    """
    if code == 421 or stage == "connect":
        return Concern.RELAY
    if stage == "MAIL":
        # A hang-up at MAIL (no code) is a connection that timed out while idle.
        return Concern.RELAY if code is not None and code < 500 else Concern.RECIPIENT
    if code is not None and 400 <= code < 500 and _SLOW_DOWN.search(reply):
        return Concern.RELAY
    return Concern.RECIPIENT


class Window:
    """How many connections may carry messages now, and when the next may start.

    ``async with window:`` waits for a free place; :meth:`pushback` and
    :meth:`success` adjust the size as the relay answers.
    """

    def __init__(self, ceiling: int, clock: Timer = time.monotonic) -> None:
        self.ceiling = ceiling
        self._clock = clock
        self._size = float(ceiling)
        self._used = 0
        self._pause = 0.0  # the last pause's length; 0 once a message got through
        self._paused_until = 0.0
        self._quiet_until = 0.0
        self._changed = asyncio.Event()  # set whenever a place may have come free

    @property
    def size(self) -> int:
        """Connections allowed now."""
        return max(1, int(self._size))

    @property
    def paused_for(self) -> float:
        """Seconds before a new message may start; 0 when it may start now."""
        return max(0.0, self._paused_until - self._clock())

    def pushback(self) -> None:
        """The relay asked us to slow down."""
        now = self._clock()
        if now < self._quiet_until:
            return
        self._quiet_until = now + COOLDOWN
        if self._size >= 2:
            self._size = max(1.0, self._size / 2)
            return
        self._pause = min(max(self._pause * 2, FIRST_PAUSE), LONGEST_PAUSE)
        self._paused_until = now + self._pause

    def success(self) -> None:
        self._pause = 0.0
        if self._size < self.ceiling:
            self._size = min(float(self.ceiling), self._size + 1 / self._size)
            self._changed.set()

    async def __aenter__(self) -> None:
        while True:
            wait = self.paused_for
            if wait <= 0 and self._used < self.size:
                self._used += 1
                return
            self._changed.clear()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
            else:
                await self._changed.wait()

    async def __aexit__(self, *_: object) -> None:
        self._used -= 1
        self._changed.set()
