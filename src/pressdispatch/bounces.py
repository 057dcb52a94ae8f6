"""One message that came back after sending: whom it is about, what it says, what it does.

Every door for returned mail ends here: the inbound SMTP/LMTP endpoint
(web/inbound.py), `pressdispatch bounces ingest` and the IMAP poller. In order
(docs/bounces.md):

1. Which delivery: the return-path token (verp.py) in an envelope recipient, in
   ``To``, ``Delivered-To`` or ``X-Original-To``; else in the returned message's
   ``X-Pressdispatch-Delivery`` header; else its ``Message-ID`` (an HMAC digest the
   ledger holds). A token that does not verify names nothing: a forged report
   changes nothing.
2. What it says: content/returns.py (delivery-status and feedback reports, then
   flufl.bounce for the delivery's own address only, then auto-replies).
3. What it does: store/returns.py, in one transaction (suppression.py's rules).

A message naming no delivery of ours is still kept, as unrecognised or for what it
says, so a person can read it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from pressdispatch.content.returns import Finding, Kind, read_returned
from pressdispatch.render.headers import DELIVERY as DELIVERY_HEADER
from pressdispatch.store.returns import Event, Returns, Target
from pressdispatch.tokens import Signer
from pressdispatch.verp import ReturnPath, delivery_of

__all__ = ["Processed", "parse", "process"]

log = logging.getLogger(__name__)

_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
# When one report says several things about one delivery, the strongest counts.
_WEIGHT = {
    Kind.COMPLAINT: 6,
    Kind.HARD: 5,
    Kind.SOFT: 4,
    Kind.POLICY: 3,
    Kind.NOTHING: 2,
    Kind.AUTO_REPLY: 1,
    Kind.UNRECOGNISED: 0,
}
_WHAT = {
    Kind.COMPLAINT: "spam complaint",
    Kind.HARD: "hard bounce",
    Kind.SOFT: "soft bounce",
    Kind.POLICY: "policy refusal",
    Kind.NOTHING: "report that changes nothing",
    Kind.AUTO_REPLY: "auto-reply",
    Kind.UNRECOGNISED: "unrecognised message",
}


@dataclass(frozen=True, slots=True)
class Processed:
    """What one message was, whom it concerned, and what was done: one line of output."""

    kind: Kind
    whom: str  # the journalist's address, or a description of the lack of one
    release_id: str | None
    status_code: str
    action: str
    duplicate: bool = False
    paused: str | None = None

    @property
    def recognised(self) -> bool:
        return self.kind is not Kind.UNRECOGNISED

    def line(self) -> str:
        code = f" {self.status_code}" if self.status_code else ""
        release = f" ({self.release_id})" if self.release_id else ""
        return f"{_WHAT[self.kind]}{code}: {self.whom}{release}: {self.action}"


def parse(raw: bytes) -> Message:
    """A returned message, its headers kept as the plain text they came as: the standard
    library's parsed headers (policy.default) raise on some malformed ones, and what
    comes back is often malformed; the reader needs only the text."""
    return BytesParser(policy=policy.compat32).parsebytes(raw)


async def process(
    returns: Returns,
    signer: Signer,
    return_path: ReturnPath | None,
    raw: bytes,
    now: datetime,
    *,
    via: str,
    recipients: Sequence[str] = (),
) -> Processed:
    """Read one returned message and do what it calls for; ``recipients`` are the
    envelope's (RCPT TO), when it came by SMTP or LMTP."""
    message = parse(raw)
    target, how = await _target(returns, signer, return_path, message, recipients)
    findings = read_returned(message, expected=target.address if target else "")
    finding = _strongest(findings, target)
    report_id = str(message.get("Message-ID", "") or "").strip()
    # The same report about the same delivery counts once, however it came in; one
    # about no delivery of ours, once per message exactly as it was.
    about = str(target.delivery_id) if target else hashlib.sha256(raw).hexdigest()
    seed = report_id or hashlib.sha256(raw).hexdigest()
    key = hashlib.sha256(f"{seed}\x00{about}".encode()).hexdigest()
    event = Event(
        key=key,
        via=via,
        report_id=report_id,
        target=target,
        address=target.address if target else finding.recipient,
        kind=finding.kind.value,
        status_code=finding.status,
        diagnostic=finding.diagnostic,
        raw=raw.decode("utf-8", "replace"),
    )
    recorded = await returns.record(event, now)
    whom = target.address if target else (f"{finding.recipient}, " if finding.recipient else "")
    if target is None:
        whom += how
    processed = Processed(
        finding.kind,
        whom,
        target.release_id if target else None,
        finding.status,
        recorded.action,
        recorded.duplicate,
        recorded.paused,
    )
    log.info("returned mail via %s: %s", via, processed.line())
    return processed


async def _target(
    returns: Returns,
    signer: Signer,
    return_path: ReturnPath | None,
    message: Message,
    recipients: Sequence[str],
) -> tuple[Target | None, str]:
    """The delivery the message is about; without one, why not, in words."""
    forged = False
    if return_path is not None:
        addresses = [*recipients]
        for name in _ENVELOPE_HEADERS:
            addresses.extend(str(value) for value in message.get_all(name, []))
        for address in addresses:
            token = return_path.token_in(address)
            if token is None:
                continue
            delivery_id = delivery_of(signer, token)
            if delivery_id is None:
                forged = True
                continue
            target = await returns.delivery(delivery_id)
            if target is not None:
                return target, ""
            return None, "a delivery that no longer exists"
    for returned in _returned_headers(message):
        token = str(returned.get(DELIVERY_HEADER, "") or "").strip()
        if token:
            delivery_id = delivery_of(signer, token)
            if delivery_id is not None:
                found = await returns.delivery(delivery_id)
                if found is not None:
                    return found, ""
            else:
                forged = True
        message_id = str(returned.get("Message-ID", "") or "").strip()
        if message_id:
            found = await returns.by_message_id(message_id)
            if found is not None:
                return found, ""
    if forged:
        return None, "nobody: its delivery token is not genuine"
    return None, "nobody: it names no delivery of ours"


def _returned_headers(message: Message) -> Iterable[Message]:
    """The headers of the message sent, as the report returns them (whole or headers)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list):
                yield from (inner for inner in payload if isinstance(inner, Message))
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                yield BytesParser(policy=policy.compat32).parsebytes(text, headersonly=True)


def _strongest(findings: Sequence[Finding], target: Target | None) -> Finding:
    """The finding that counts: with a delivery, those about its address (or about none in
    particular: the token said whose it is); of them, the strongest."""
    if target is not None:
        own = [f for f in findings if f.recipient in ("", target.address)]
        # One recipient per envelope: a report on our return path with a failed block for
        # another address is a forwarding address's failure, still this delivery's.
        findings = own or list(findings)
    return max(findings, key=lambda f: _WEIGHT[f.kind], default=Finding(Kind.UNRECOGNISED, ""))
