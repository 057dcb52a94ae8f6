"""Mail header values: refuse line breaks, encode non-ASCII, build deterministic Message-IDs."""

from __future__ import annotations

import re
from base64 import b64encode
from email.header import Header
from email.utils import parseaddr

from pressdispatch.errors import HeaderInjection
from pressdispatch.tokens import Signer

MESSAGE_ID = "message-id"  # the signer's purpose for Message-ID digests
DELIVERY = "X-Pressdispatch-Delivery"  # the header naming the return-path token, for reports

LINESEP = "\r\n"


def safe(name: str, value: str) -> str:
    """``value`` unchanged if it is fit for a header; HeaderInjection otherwise."""
    if "\r" in value or "\n" in value:
        raise HeaderInjection(name)
    if "\x00" in value:
        raise HeaderInjection(name, "NUL characters")
    return value


def encode(name: str, value: str) -> str:
    """A complete ``Name: value`` line (folded, RFC 2047 for non-ASCII), without the final CRLF."""
    safe(name, value)
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}"
    folded = Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name)
    return f"{name}: {folded.encode(linesep=LINESEP)}"


_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")


def address(name: str, display_name: str, email: str) -> str:
    """``Name: Display <email>``, the display name quoted or RFC 2047-encoded when needed."""
    safe(name, display_name)
    safe(name, email)
    if not display_name:
        return f"{name}: {email}"
    if _ATEXT.match(display_name):
        return f"{name}: {display_name} <{email}>"
    if display_name.isascii():
        quoted = display_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}: "{quoted}" <{email}>'
    words = _encoded_words(display_name)
    last = words.rpartition(LINESEP)[2]
    start = 0 if LINESEP in words else len(name) + 2
    fold = " " if start + len(last) + len(email) + 3 <= 78 else f"{LINESEP} "
    return f"{name}: {words}{fold}<{email}>"


def _encoded_words(text: str) -> str:
    """RFC 2047 "B" encoded words, one per folded line, each at most 75 characters.

    Written out because ``email.header.Header`` costs more than the rest of a
    recipient's headers together, and every journalist with a non-ASCII name
    needs one.
    """
    words: list[bytes] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:  # a character is never split across words
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return f"{LINESEP} ".join(f"=?utf-8?b?{b64encode(word).decode('ascii')}?=" for word in words)


_WORD_BYTES = 45  # 60 base64 characters + 12 for "=?utf-8?b?" and "?=": 72


def mailbox(name: str, value: str) -> str:
    """A header for an address written as in config (``Name <addr>`` or ``addr``)."""
    safe(name, value)
    display, email = parseaddr(value)
    return address(name, display, email)


def message_id(release_id: str, language: str, email: str, domain: str, signer: Signer) -> str:
    """Deterministic: the same release, language and recipient always give the same id.

    A re-send after a crash carries the id of the first attempt, so the receiving
    side (and the ledger) can recognise it. The digest is an HMAC, not a plain hash:
    a report that quotes the id names its delivery (the ledger holds the id), and
    nobody without the signing key can make up the id of someone else's copy.
    """
    subject = f"{release_id}\x00{language}\x00{email.lower()}"
    digest = signer.digest(MESSAGE_ID, subject).hex()
    return f"<{release_id}.{language}.{digest[:24]}@{domain}>"
