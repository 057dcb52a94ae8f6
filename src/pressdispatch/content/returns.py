"""What one message that came back after sending says: read with the email package.

In the order a returned message is read (docs/bounces.md, when it lands):

1. an RFC 3464 delivery-status report: one finding per recipient block, its
   ``Action`` and ``Status`` classified (``delayed``, ``delivered``, ``relayed`` and
   ``expanded`` change nothing);
2. an RFC 5965 feedback report: ``abuse``, ``fraud``, ``virus`` and ``other`` are a
   complaint, ``not-spam`` is nothing;
3. when the delivery's recipient is known (``expected``, from the token of the envelope
   recipient): flufl.bounce's heuristics, the fallback for bounces in no standard format
   (qmail, Yahoo!, Exim without a report...). Its guesses also match addresses quoted in
   a returned or forwarded body, so only the expected address is ever acted on; what it
   says about any other is dropped. A failure is classified by the status code and words
   next to the address in the bounce's text (a 5.7.x or a block is a policy refusal, a
   4.x.x soft), hard when the text says nothing we read; a warning that delivery is still
   being tried changes nothing, as a ``delayed`` report does;
4. an auto-reply (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``, ``Precedence:
   auto_reply``, an out-of-office subject) without a report part: recorded, changes
   nothing. A real report carries ``Auto-Submitted: auto-replied`` too, so reports are
   read first.

Pure: no I/O (a debug line when flufl.bounce trips), no store. Which delivery a finding
concerns (the token of the envelope recipient) is decided elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from enum import StrEnum

from flufl.bounce import all_failures

__all__ = ["Finding", "Kind", "classify", "read_returned"]

log = logging.getLogger(__name__)
# flufl.bounce logs a line for each of its detectors and a traceback for each one that
# trips on odd mail, then raises; _fallback handles that. Its own lines would bury the
# service's log under one screen per returned message.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


class Kind(StrEnum):
    """What a finding means for the journalist it concerns."""

    HARD = "hard"  # the address does not exist (any more)
    SOFT = "soft"  # for now: a full mailbox, a server down
    POLICY = "policy"  # the receiving side refused the sender: never the journalist's fault
    COMPLAINT = "complaint"  # the journalist reported the message as spam
    NOTHING = "nothing"  # delayed, delivered, relayed; a not-spam report
    AUTO_REPLY = "auto-reply"  # out of office and the like
    UNRECOGNISED = "unrecognised"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    recipient: str  # the address the report is about, lower case; "" when it names none
    status: str = ""  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str = ""  # the receiving server's words


# Enhanced status codes (RFC 3463) that say the mailbox is gone for good.
_HARD = frozenset({"5.1.1", "5.1.2", "5.1.6", "5.1.10", "5.2.1"})
_NO_DOMAIN = re.compile(
    r"NXDOMAIN|host or domain name not found|domain (?:does not|doesn't) exist", re.I
)
_POLICY = re.compile(
    r"\bblock(?:ed|list)|blacklist|\bspam\b|spamhaus|\bpolicy\b|\bDMARC\b|\bSPF\b|\bDKIM\b"
    r"|authentication|reputation|rejected for policy reasons",
    re.I,
)
_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_PARAGRAPH_LINES = 6  # of a bounce's text, read for the words about one address
_DIAGNOSTIC_CHARS = 300
_UNCHANGED = frozenset({"delayed", "delivered", "relayed", "expanded"})
_COMPLAINTS = frozenset({"abuse", "fraud", "virus", "other"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response)|out of (?:the )?office|autoreply"
    r"|r[ée]ponse automatique|absence|abwesenheit|automatische antwort|respuesta autom[áa]tica)",
    re.I,
)


def classify(status: str, diagnostic: str = "") -> Kind:
    """What a failure with this enhanced status code and diagnostic means."""
    if status.startswith("5.7"):
        return Kind.POLICY
    if status in _HARD:  # the code says it plainly, whatever else the text says
        return Kind.HARD
    if _POLICY.search(diagnostic):
        return Kind.POLICY
    if _NO_DOMAIN.search(diagnostic):
        return Kind.HARD
    if status.startswith(("4.", "5.")):
        return Kind.SOFT  # a full mailbox (5.2.2), the system (5.3.x), the network (5.4.x)…
    return Kind.UNRECOGNISED


def read_returned(message: Message, *, expected: str = "") -> list[Finding]:
    """Every finding in a returned message; ``[UNRECOGNISED]`` when it says nothing we read.

    ``expected`` is the address the returned delivery went to; without it a bounce in no
    standard format is not read, as nothing would tell its guesses from quoted addresses.
    """
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type", "")).lower()
        if report_type == "delivery-status":
            found = _delivery_status(message)
            if found:
                return found
        if report_type == "feedback-report":
            found = _feedback(message)
            if found:
                return found
    if expected:
        found = _fallback(message, expected.strip().lower())
        if found:
            return found
    if _auto_reply(message):
        return [Finding(Kind.AUTO_REPLY, _address(_header(message, "From")))]
    return [Finding(Kind.UNRECOGNISED, "")]


def _blocks(message: Message, content_type: str) -> list[Message]:
    for part in message.walk():
        if part.get_content_type() == content_type:
            payload = part.get_payload()
            if isinstance(payload, list):
                return [block for block in payload if isinstance(block, Message)]
    return []


def _delivery_status(message: Message) -> list[Finding]:
    found = []
    for block in _blocks(message, "message/delivery-status")[1:]:  # the first is per message
        recipient = _address(
            str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        )
        action = str(block.get("Action", "")).strip().lower()
        diagnostic = " ".join(_header(block, "Diagnostic-Code").split())
        status = _status(str(block.get("Status", "")), diagnostic)
        if action in _UNCHANGED:
            found.append(Finding(Kind.NOTHING, recipient, status, diagnostic))
        elif action == "failed":
            found.append(Finding(classify(status, diagnostic), recipient, status, diagnostic))
    return found


def _feedback(message: Message) -> list[Finding]:
    blocks = _blocks(message, "message/feedback-report")
    if not blocks:
        return []
    fields = blocks[0]
    kind = str(fields.get("Feedback-Type", "")).strip().lower()
    recipient = _address(str(fields.get("Original-Rcpt-To", "")))
    if not recipient:
        recipient = _returned_recipient(message)
    if kind == "not-spam":
        return [Finding(Kind.NOTHING, recipient)]
    if kind in _COMPLAINTS:
        return [Finding(Kind.COMPLAINT, recipient, diagnostic=f"feedback report: {kind}")]
    return []


def _returned_recipient(message: Message) -> str:
    """The To of the message a feedback report returns (its headers or the whole of it)."""
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return _address(str(inner.get("To", "")))
            if isinstance(payload, str):
                found = re.search(r"^To:\s*(.+)$", payload, re.M | re.I)
                return _address(found.group(1)) if found else ""
    return ""


def _fallback(message: Message, expected: str) -> list[Finding]:
    """flufl.bounce's reading, kept for the expected address alone."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a heuristic tripping on odd mail must not stop the reading of the rest
        log.debug("flufl.bounce could not read a returned message", exc_info=True)
        return []
    if expected in _decoded(permanent):
        status, diagnostic = _words_about(message, expected)
        kind = classify(status, diagnostic)
        # flufl.bounce reports failures it cannot grade as permanent
        return [
            Finding(Kind.HARD if kind is Kind.UNRECOGNISED else kind, expected, status, diagnostic)
        ]
    if expected in _decoded(temporary):  # its temporary failures are "still trying" warnings
        return [Finding(Kind.NOTHING, expected, *_words_about(message, expected))]
    return []


def _decoded(addresses: frozenset[bytes]) -> set[str]:
    return {_address(address.decode("ascii", "replace")) for address in addresses}


def _words_about(message: Message, address: str) -> tuple[str, str]:
    """The status code and the words of the first paragraph of the bounce's own text that
    names the address, preferring one with a code: a paragraph is where qmail, Exim and
    Yahoo! put a recipient's address and the reply of its server."""
    # whole addresses only: ana@example.org is not in diana@example.org
    named = re.compile(rf"(?<![\w.+-]){re.escape(address)}(?![\w-]|\.\w)", re.I)
    first = ""
    for text in _own_texts(message):
        lines = [line.strip() for line in text.splitlines()]
        for start, line in enumerate(lines):
            if not named.search(line):
                continue
            end = lines.index("", start) if "" in lines[start:] else len(lines)
            paragraph = " ".join(" ".join(lines[start:end][:_PARAGRAPH_LINES]).split())
            said = _CODE.search(paragraph)
            if said:
                return ".".join(said.groups()), paragraph[:_DIAGNOSTIC_CHARS]
            first = first or paragraph[:_DIAGNOSTIC_CHARS]
    return "", first


def _own_texts(part: Message) -> Iterator[str]:
    """The plain text of a bounce, without the returned message it carries, whose headers
    name the recipient too and say nothing about the failure."""
    if part.get_content_maintype() == "message" or part.get_content_type() == "text/rfc822-headers":
        return
    if part.is_multipart():
        for inner in part.get_payload():
            if isinstance(inner, Message):
                yield from _own_texts(inner)
        return
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes) and part.get_content_type() == "text/plain":
        try:
            yield payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            yield payload.decode("utf-8", "replace")


def _auto_reply(message: Message) -> bool:
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        submitted not in ("", "no")
        or "X-Autoreply" in message
        or "X-Autorespond" in message
        or precedence == "auto_reply"
        or bool(_AUTO_SUBJECT.match(_header(message, "Subject")))
    )


def _header(message: Message, name: str) -> str:
    """A header's text, its encoded words (RFC 2047) decoded; as it came when they cannot be."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError, HeaderParseError):
        return str(value)


def _status(field: str, diagnostic: str) -> str:
    """The enhanced status code of the Status field, else the first in the diagnostic; a
    generic ``5.0.0`` in the field gives way to a precise code of the same class in the
    diagnostic (some servers report ``5.0.0`` and say ``5.1.10`` in the text)."""
    stated = _CODE.search(field)
    said = _CODE.search(diagnostic)
    if stated and said and stated.group(2, 3) == ("0", "0") and said.group(1) == stated.group(1):
        return ".".join(said.groups())
    code = stated or said
    return ".".join(code.groups()) if code else ""


def _address(field: str) -> str:
    """The address in ``rfc822; a@b``, ``<a@b>`` or ``Name <a@b>``, lower case."""
    value = field.split(";", 1)[1] if ";" in field else field
    found = re.search(r"<([^<>@\s]+@[^<>\s]+)>", value) or re.search(
        r"([^<>\s;,]+@[^<>\s;,]+)", value
    )
    return found.group(1).strip().lower() if found else ""
