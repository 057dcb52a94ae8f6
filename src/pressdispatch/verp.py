"""Return-path tokens (VERP): which delivery a message that came back was about.

With ``[bounces] return_path = "bounces@example.org"``, each delivery goes out with
the envelope sender ``bounces+<token>@example.org``. The token is the delivery's id
in base 36 followed by 13 base-32 characters of an HMAC over it: short (at most 26
characters), lower case (mail systems may change the case of a local part), never
the journalist's address, and impossible to forge without the signing key, so a
forged report cannot suppress anyone.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass

from pressdispatch.tokens import Signer

__all__ = ["MAX_TOKEN", "ReturnPath", "delivery_of", "delivery_token"]

_PURPOSE = "return-path"
_MAC_CHARS = 13  # 64 bits of the HMAC, in base 32
MAX_TOKEN = 13 + _MAC_CHARS  # a 64-bit id is at most 13 base-36 digits
_TOKEN = re.compile(rf"^[0-9a-z]{{1,13}}[a-z2-7]{{{_MAC_CHARS}}}$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if not number:
            return text


def _mac(signer: Signer, encoded_id: str) -> str:
    digest = signer.digest(_PURPOSE, encoded_id)[:8]
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()[:_MAC_CHARS]


def delivery_token(signer: Signer, delivery_id: int) -> str:
    """The token naming one delivery."""
    if delivery_id < 0:
        raise ValueError("a delivery id is not negative")
    encoded = _base36(delivery_id)
    return encoded + _mac(signer, encoded)


def delivery_of(signer: Signer, token: str) -> int | None:
    """The delivery a genuine token names; None for anything else (forged, mangled)."""
    token = token.strip().lower()
    if not _TOKEN.match(token):
        return None
    encoded, mac = token[:-_MAC_CHARS], token[-_MAC_CHARS:]
    if not hmac.compare_digest(mac, _mac(signer, encoded)):
        return None
    return int(encoded, 36)


@dataclass(frozen=True, slots=True)
class ReturnPath:
    """``bounces@example.org`` and its delimiter: the envelope sender of each delivery."""

    address: str
    delimiter: str = "+"

    @property
    def _parts(self) -> tuple[str, str]:
        local, _, domain = self.address.rpartition("@")
        return local.lower(), domain.lower()

    def sender(self, token: str) -> str:
        """The envelope sender (MAIL FROM) carrying ``token``."""
        local, domain = self._parts
        return f"{local}{self.delimiter}{token}@{domain}"

    def token_in(self, address: str) -> str | None:
        """The token of an address of this return path (any case); None when the address
        is not one of its own."""
        found = re.search(r"<?([^<>\s]+@[^<>\s]+)>?", address.strip())
        if found is None:
            return None
        local, _, domain = found.group(1).lower().rpartition("@")
        mine, my_domain = self._parts
        prefix = mine + self.delimiter.lower()
        if domain != my_domain or not local.startswith(prefix) or len(local) == len(prefix):
            return None
        return local[len(prefix) :]
