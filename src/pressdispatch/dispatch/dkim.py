"""DKIM signing (RFC 6376), as a wrapper around whichever transport delivers the message."""

from __future__ import annotations

import asyncio
import dataclasses

import dkim
import dkim.crypto

from pressdispatch.config import DkimSection
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status, Transport
from pressdispatch.errors import ConfigError


class DkimSigner:
    """Sign with rsa-sha256, relaxed/relaxed, over the configured headers a message has."""

    def __init__(self, settings: DkimSection) -> None:
        path = settings.private_key_file
        try:
            # dkimpy finds the PEM body by "--\n", so a key saved with CRLF would not parse.
            key = path.read_bytes().replace(b"\r\n", b"\n")
        except OSError as exc:
            raise ConfigError(
                f"{path}: cannot read the DKIM private key: {exc.strerror or exc}"
            ) from None
        try:
            dkim.crypto.parse_pem_private_key(key)
        except Exception as exc:  # dkimpy's hand-written ASN.1 parser can fail in many ways
            raise ConfigError(f"{path}: not a PEM RSA private key ({exc})") from None
        headers = tuple(h.lower() for h in settings.headers)
        if "from" not in headers:
            raise ConfigError("dkim.headers: must include From (RFC 6376 requires it)")
        refused = [h for h in headers if h.encode() in dkim.DKIM.SHOULD_NOT]
        if refused:
            raise ConfigError(f"dkim.headers: must not sign {', '.join(refused)}")
        try:
            self._domain = settings.domain.encode("idna")
            self._selector = settings.selector.encode("ascii")
        except UnicodeError:
            raise ConfigError("dkim: domain or selector is not a valid DNS name") from None
        self._key = key
        self._headers = [h.encode("ascii") for h in headers]

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header prepended; raises dkim.DKIMException."""
        signer = dkim.DKIM(message, linesep=b"\r\n")
        present = {bytes(name).lower() for name, _ in signer.headers}
        signature: bytes = signer.sign(
            self._selector,
            self._domain,
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in self._headers if h in present],
        )
        return signature + message


class SigningTransport:
    """Sign each message, then hand it to ``inner``."""

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self._inner = inner
        self._signer = signer

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        try:
            # An RSA signature takes milliseconds of CPU: a thread keeps the loop responsive.
            signed = await asyncio.to_thread(self._signer.sign, envelope.message)
        except dkim.DKIMException as exc:
            return Outcome(Status.FAILED, reply=f"DKIM signing failed: {exc}")
        return await self._inner.send(dataclasses.replace(envelope, message=signed), ready=ready)

    async def close(self) -> None:
        await self._inner.close()
