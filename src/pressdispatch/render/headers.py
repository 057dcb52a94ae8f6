"""Mail header values: refuse line breaks, encode non-ASCII, build deterministic Message-IDs."""

from __future__ import annotations

import hashlib
import re
from email.header import Header
from email.utils import parseaddr

from pressdispatch.errors import HeaderInjection

LINESEP = "\r\n"


def safe(name: str, value: str) -> str:
    """``value`` unchanged if it is fit for a header; HeaderInjection otherwise."""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise HeaderInjection(name)
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
    encoded = Header(display_name, "utf-8", header_name=name).encode(linesep=LINESEP)
    return f"{name}: {encoded} <{email}>"


def mailbox(name: str, value: str) -> str:
    """A header for an address written as in config (``Name <addr>`` or ``addr``)."""
    safe(name, value)
    display, email = parseaddr(value)
    return address(name, display, email)


def message_id(release_id: str, language: str, email: str, domain: str) -> str:
    """Deterministic: the same release, language and recipient always give the same id.

    A re-send after a crash carries the id of the first attempt, so the
    receiving side (and the ledger) can recognise it.
    """
    digest = hashlib.sha256(f"{release_id}\x00{language}\x00{email.lower()}".encode()).hexdigest()
    return f"<{release_id}.{language}.{digest[:24]}@{domain}>"
