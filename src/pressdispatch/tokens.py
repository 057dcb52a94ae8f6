"""Signed tokens for the links in every email (unsubscribe, preferences, confirm).

A token names its subject (the subscriber's address) and, optionally, when it
was issued; an HMAC-SHA256 over purpose, subject and issue time makes it
unforgeable and binds it to one purpose, so an unsubscribe token cannot be
replayed as a preferences token or for another address. Unsubscribe links
never expire (RFC 8058 clients may use them long after sending); confirmation
links do.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import tempfile
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

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise TokenError("the signing key must be at least 16 bytes")
        self._key = key

    def _mac(self, purpose: str, subject: str, issued: str) -> str:
        message = f"{purpose}\x00{subject}\x00{issued}".encode()
        return _b64(hmac.digest(self._key, message, "sha256")[:_MAC_BYTES])

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
