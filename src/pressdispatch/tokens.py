"""Signed tokens for the links in every email (unsubscribe, preferences, confirm, embargoed).

A token names its subject (the subscriber's address) and, optionally, when it
was issued; an HMAC-SHA256 over purpose, subject and issue time makes it
unforgeable and binds it to one purpose, so an unsubscribe token cannot be
replayed as a preferences token or for another address. Unsubscribe links
never expire (RFC 8058 clients may use them long after sending); confirmation
links do.

An embargoed link (``/embargoed/<token>``) names a journalist, a release and a
language. Its time is the ``publish_at`` it was made for, and it works until
``EMBARGOED_LINK_LIFETIME`` after that: before publication it shows the release, after
it redirects to the public page, and a week later it is dead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pressdispatch.errors import TokenError

_MAC_BYTES = 16
KEY_FILE = "signing.key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and verifies tokens with one secret key."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise TokenError("the signing key must be at least 16 bytes")
        # Keyed once: copying it costs less than half of keying HMAC for every link,
        # and an embargoed copy signs five links per journalist.
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def _mac(self, purpose: str, subject: str, issued: str) -> str:
        mac = self._keyed.copy()
        mac.update(f"{purpose}\x00{subject}\x00{issued}".encode())
        return _b64(mac.digest()[:_MAC_BYTES])

    def digest(self, purpose: str, subject: str) -> bytes:
        """The raw MAC of ``subject`` for ``purpose``: for tokens with their own encoding
        (verp.py's return-path tokens)."""
        mac = self._keyed.copy()
        mac.update(f"{purpose}\x00{subject}".encode())
        return mac.digest()

    def sign(self, purpose: str, subject: str, *, issued_at: datetime | None = None) -> str:
        """A URL-safe token for ``subject``; pass ``issued_at`` for tokens that expire."""
        encoded = _b64(subject.encode())
        issued = format(int(issued_at.timestamp()), "x") if issued_at else "0"
        return f"{encoded}.{issued}.{self._mac(purpose, encoded, issued)}"

    def verify(
        self,
        token: str,
        purpose: str,
        *,
        max_age: timedelta | None = None,
        now: datetime | None = None,
    ) -> str:
        """The subject of a genuine token for ``purpose``; TokenError otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed link")
        encoded, issued, mac = parts
        expected = self._mac(purpose, encoded, issued)
        if not hmac.compare_digest(mac.encode("utf-8", "replace"), expected.encode()):
            raise TokenError("this link is not valid")
        try:
            subject = _unb64(encoded).decode()
            issued_at = int(issued, 16)
        except ValueError:
            raise TokenError("malformed link") from None
        if max_age is not None:
            moment = now or datetime.now(UTC)
            if issued_at == 0 or moment.timestamp() - issued_at > max_age.total_seconds():
                raise TokenError("this link has expired")
        return subject


EMBARGOED = "embargoed"
#: How long after ``publish_at`` an embargoed link still opens (redirecting by then).
EMBARGOED_LINK_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class EmbargoedLink:
    """Whom an embargoed link was made for, and what it shows."""

    address: str  # lowercased
    release_id: str
    language: str


def sign_embargoed(signer: Signer, link: EmbargoedLink, publish_at: datetime) -> str:
    """The token of ``/embargoed/<token>`` for ``link``, expiring after ``publish_at``."""
    subject = f"{link.address.lower()}\n{link.release_id}\n{link.language}"
    return signer.sign(EMBARGOED, subject, issued_at=publish_at)


def verify_embargoed(signer: Signer, token: str, now: datetime) -> EmbargoedLink:
    """What a genuine, unexpired embargoed token names; TokenError otherwise."""
    subject = signer.verify(token, EMBARGOED, max_age=EMBARGOED_LINK_LIFETIME, now=now)
    try:
        address, release_id, language = subject.split("\n")
    except ValueError:
        raise TokenError("malformed link") from None
    return EmbargoedLink(address, release_id, language)


def load_signing_key(env_value: str | None, data_dir: Path) -> bytes:
    """The key from the environment, else a random key kept in the data folder.

    The fallback lets the embedded default run with no set-up while keeping the
    key out of the repository; production sets the environment variable.
    """
    if env_value:
        return env_value.encode()
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32).encode()
    # Write a private temporary file, then link it into place: the key file appears
    # complete or not at all, and a process starting at the same time uses the first one.
    fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".signing-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_bytes().strip()
    finally:
        os.unlink(temporary)
    return key
