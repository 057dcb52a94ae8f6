"""Send through several relays (``[[smtp.relays]]``): shared by weight, around the ones down.

Each message goes to one relay, picked by smooth weighted round-robin (as nginx
balances upstreams: over any run of messages each relay's share follows its
weight, interleaved rather than in bursts) among the relays with a free
connection; when none has one, among all that are up.

A relay is down when it cannot be reached, refuses the connection or the login
(an outcome marked ``unreached``), or stops (TransportStopped: TLS, a refused
password). Nothing of the message reached it, so the message goes to another
relay at once and cannot arrive twice. Any other outcome, including a timeout
or a connection lost during DATA, is the message's: another try could be a
second copy, so it goes back to the engine as it is. A relay that was
unreachable stays down for a back-off (1 s, doubling to a minute, reset by its
first success); a stopped one for as long as it says. When every relay is
down, this transport stops as a single one does: the engine gives the messages
back untried and waits for the first relay to come back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pressdispatch.clock import Timer
from pressdispatch.config import SmtpSection
from pressdispatch.dispatch.pushback import FIRST_PAUSE, LONGEST_PAUSE
from pressdispatch.dispatch.smtp import Bucket, SmtpTransport
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status
from pressdispatch.errors import ConfigError, TransportStopped

__all__ = ["Relay", "RelayTransport", "relay_transport"]


@dataclass(eq=False)
class Relay:
    """One relay, and what the balancing knows of it."""

    name: str  # host:port
    transport: SmtpTransport
    weight: int
    credit: int = 0  # smooth weighted round-robin: the relay with the most goes next
    sending: int = 0  # messages handed to it and not yet answered
    down_until: float = 0.0
    backoff: float = 0.0  # the last back-off's length; 0 once a message got through
    why: str = ""  # what put it down

    def free(self) -> int:
        """Connections it could use now for one more message."""
        window = self.transport.window
        return 0 if window.paused_for > 0 else window.size - self.sending


class RelayTransport:
    """A Transport over several SMTP relays; safe to call ``send`` from many tasks at once."""

    def __init__(
        self,
        relays: Sequence[Relay],
        *,
        rate: float = 0,
        per_domain_rate: float = 0,
        clock: Timer = time.monotonic,
    ) -> None:
        if not relays:
            raise ValueError("a RelayTransport needs at least one relay")
        self.relays = tuple(relays)
        self._clock = clock
        overall = rate or None
        self._global = Bucket(lambda: overall, clock)
        self._per_domain_rate = per_domain_rate
        self._domains: dict[str, Bucket] = {}

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        # The overall limits are the newsroom's, whichever relay carries the message.
        if self._per_domain_rate:
            await self._domain_bucket(envelope.recipient).take()
        await self._global.take()
        tried: set[Relay] = set()
        last = Outcome(Status.DEFERRED, reply="no relay was tried")
        while (relay := self._pick(tried)) is not None:
            tried.add(relay)
            relay.sending += 1
            try:
                outcome = await relay.transport.send(envelope, ready=ready)
            except TransportStopped as exc:
                self._down(relay, str(exc), exc.retry_after)
                continue
            finally:
                relay.sending -= 1
            if outcome.unreached:
                last = outcome
                self._unreachable(relay, f"smtp {relay.name}: {outcome.reply}")
                continue
            if outcome.status is Status.SENT:
                relay.backoff = 0.0
                relay.down_until = 0.0  # it works: whatever put it down is over
            return outcome
        if all(self._is_down(r) for r in self.relays):
            raise self._stopped()
        # A relay tried for this message came back meanwhile: this one waits its retry.
        return last

    async def close(self) -> None:
        await asyncio.gather(*(r.transport.close() for r in self.relays))

    def _pick(self, tried: set[Relay]) -> Relay | None:
        candidates = [r for r in self.relays if r not in tried and not self._is_down(r)]
        if not candidates:
            return None
        candidates = [r for r in candidates if r.free() > 0] or candidates
        total = sum(r.weight for r in candidates)
        for r in candidates:
            r.credit += r.weight
        chosen = max(candidates, key=lambda r: r.credit)
        chosen.credit -= total
        return chosen

    def _is_down(self, relay: Relay) -> bool:
        return self._clock() < relay.down_until

    def _unreachable(self, relay: Relay, why: str) -> None:
        if self._is_down(relay):
            return  # the other messages that were on their way there: one signal, not many
        relay.backoff = min(max(relay.backoff * 2, FIRST_PAUSE), LONGEST_PAUSE)
        self._down(relay, why, relay.backoff)

    def _down(self, relay: Relay, why: str, seconds: float) -> None:
        relay.why = why
        relay.down_until = max(relay.down_until, self._clock() + seconds)

    def _stopped(self) -> TransportStopped:
        now = self._clock()
        back = min(r.down_until for r in self.relays) - now
        reasons = "; ".join(r.why for r in self.relays)
        return TransportStopped(f"every relay is down: {reasons}", max(back, 0.01))

    def _domain_bucket(self, recipient: str) -> Bucket:
        domain = recipient.rpartition("@")[2].lower()
        if domain not in self._domains:
            rate = self._per_domain_rate
            self._domains[domain] = Bucket(lambda: rate, self._clock)
        return self._domains[domain]


def relay_transport(
    smtp: SmtpSection, passwords: Sequence[str | None], *, clock: Timer = time.monotonic
) -> RelayTransport:
    """The transport for ``[[smtp.relays]]``, each relay with its password (in order)."""
    relays = []
    for number, (config, settings, password) in enumerate(
        zip(smtp.relays, smtp.relay_settings(), passwords, strict=True), start=1
    ):
        try:
            transport = SmtpTransport(settings, password, clock=clock)
        except ConfigError as exc:
            raise ConfigError(f"[[smtp.relays]] number {number} ({config.name}): {exc}") from None
        relays.append(Relay(config.name, transport, config.share))
    return RelayTransport(relays, rate=smtp.rate, per_domain_rate=smtp.per_domain_rate, clock=clock)
