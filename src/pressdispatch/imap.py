"""The IMAP door for returned mail: ``[bounces] imap_url``, polled by `pressdispatch run`
every ``imap_interval`` and once by `pressdispatch bounces poll`.

A poll logs in (the password is read from ``imap_password_env`` at each poll), lists
the folder's messages by UID, leaving out those flagged ``\\Deleted``, and fetches them
without marking them seen. Each goes through bounces.process like the other doors;
only once that has committed is it moved: to ``Processed`` when it was read, to
``Unrecognized`` when nothing in it made sense, where a person can read it. A message
that fails stays where it is and is read again at the next poll; a report read twice
counts once (bounces.py), so a stop between the commit and the move costs nothing.

Nothing is deleted, and nothing the poll did not fetch is touched: listmonk's users
lost unrelated mail to a poller that emptied the folder. A server without MOVE gets
COPY, then ``\\Deleted`` on the copied message and, with UIDPLUS, ``UID EXPUNGE`` of
that message alone; never a bare EXPUNGE, which would take every message anyone
flagged. Without UIDPLUS the flagged original waits for the owner's client to expunge.

``imaps://`` is TLS from the first byte (port 993); ``imap://`` upgrades with STARTTLS
(port 143), except on a loopback host, where it stays plain (a local relay, the tests).
Certificates are verified, which imaplib does not do unless asked.

The two folders are made at the top of the account's personal namespace (``INBOX.``
on servers that keep everything under INBOX) and subscribed, so mail clients show them.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import ipaddress
import logging
import os
import re
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError

from pressdispatch.bounces import Processed, process
from pressdispatch.clock import Clock
from pressdispatch.errors import PressDispatchError
from pressdispatch.runtime import Runtime

__all__ = ["PROCESSED", "UNRECOGNIZED", "Account", "MailboxError", "Polled", "keep_polling", "poll"]

log = logging.getLogger(__name__)

PROCESSED = "Processed"
UNRECOGNIZED = "Unrecognized"
_TIMEOUT = 60.0  # seconds a server may take to answer one command
_CHUNK = 50  # messages fetched per command: few round trips, bounded memory
# What a server or the network can throw at a session.
_FAILED = (OSError, ImapToolsError, imaplib.IMAP4.error)


class MailboxError(PressDispatchError):
    """The mailbox of ``[bounces] imap_url`` cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Account:
    """Where the returned mail waits, from ``imaps://user@host[:port][/folder]``."""

    security: Literal["tls", "starttls", "plain"]
    host: str
    port: int
    user: str
    folder: str

    @classmethod
    def of(cls, url: str) -> Account:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise MailboxError(
                f"[bounces] imap_url: expected imaps://user@host[:port][/folder], got {url!r}"
            )
        host = parts.hostname
        try:
            port = parts.port
        except ValueError as exc:
            raise MailboxError(f"[bounces] imap_url: {exc}") from None
        if parts.scheme == "imaps":
            security: Literal["tls", "starttls", "plain"] = "tls"
        else:
            security = "plain" if _loopback(host) else "starttls"
        folder = unquote(parts.path.strip("/")) or "INBOX"
        default = 993 if security == "tls" else 143
        return cls(security, host, port or default, unquote(parts.username), folder)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass(frozen=True, slots=True)
class Polled:
    """One message of one poll: what it was, and where it went (nowhere, if it failed)."""

    uid: str
    processed: Processed | None
    folder: str = ""
    problem: str = ""

    def line(self) -> str:
        if self.processed is None:
            return f"UID {self.uid}: left in place, to be read again: {self.problem}"
        return f"UID {self.uid}: {self.processed.line()} (moved to {self.folder})"


async def poll(rt: Runtime, clock: Clock) -> AsyncIterator[Polled]:
    """One poll of ``[bounces] imap_url``; each message as it is done. MailboxError
    when the mailbox cannot be reached, logged into or written to."""
    settings = rt.settings.bounces
    account = Account.of(settings.imap_url)
    password = os.environ.get(settings.imap_password_env)
    if not password:
        raise MailboxError(
            f"{settings.imap_password_env} is not set: it holds the password of "
            f"{account.user} at {account.host} ([bounces] imap_password_env)"
        )
    box = await asyncio.to_thread(_Session, account, password)
    try:
        uids = await asyncio.to_thread(box.uids)
        for start in range(0, len(uids), _CHUNK):
            fetched = await asyncio.to_thread(box.fetch, uids[start : start + _CHUNK])
            for uid, raw in fetched:
                try:
                    done = await process(
                        rt.returns, rt.renderer.signer, rt.return_path, raw, clock(), via="imap"
                    )
                except Exception as exc:  # one message must not keep the others waiting
                    log.exception("%s: UID %s could not be processed; left in place", account, uid)
                    yield Polled(uid, None, problem=str(exc) or type(exc).__name__)
                    continue
                folder = box.processed if done.recognised else box.unrecognized
                await asyncio.to_thread(box.move, uid, folder)
                yield Polled(uid, done, folder)
    finally:
        await asyncio.to_thread(box.close)


async def keep_polling(
    rt: Runtime, stop: asyncio.Event, clock: Clock, leading: Callable[[], bool] = lambda: True
) -> None:
    """Until ``stop``: a poll every ``[bounces] imap_interval`` while imap_url is set and
    this process is ``leading`` (one process reads the mailbox). A mailbox that cannot
    be read is logged at each poll; the service goes on."""
    settings = rt.settings.bounces
    if not settings.imap_url:
        return
    while not stop.is_set():
        if leading():
            await _poll_logged(rt, clock)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.imap_interval.total_seconds())


async def _poll_logged(rt: Runtime, clock: Clock) -> None:
    try:
        async for polled in poll(rt, clock):
            if polled.processed is None:
                log.warning("returned mail via imap: %s", polled.line())
    except MailboxError as exc:
        log.error("returned mail via imap: %s", exc)
    except Exception:
        log.exception("returned mail via imap: the poll failed")


class _RawMailMessage(MailMessage):
    """imap-tools' message, keeping the bytes as the server sent them (its ``obj`` is a
    parse that would serialise differently)."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = next((i[1] for i in fetch_data if isinstance(i, tuple)), b"")


class _Session:
    """One logged-in connection with the folder selected; blocking: called in a thread."""

    def __init__(self, account: Account, password: str) -> None:
        self.account = account
        try:
            self.box = _connect(account)
            self.box.email_message_class = _RawMailMessage
        except _FAILED as exc:
            raise MailboxError(f"{account}: cannot connect: {exc}") from exc
        try:
            # LOGIN takes ASCII only; AUTHENTICATE PLAIN carries UTF-8 (RFC 4616).
            ascii_only = account.user.isascii() and password.isascii()
            login = self.box.login if ascii_only else self.box.login_utf8
            login(account.user, password, initial_folder=None)
        except _FAILED as exc:
            self._drop()
            raise MailboxError(f"{account}: the server refused the login: {exc}") from exc
        try:
            # imaplib keeps the capabilities offered before login, which may leave MOVE out.
            self.capabilities = _capabilities(self.box.client)
            prefix = _personal_prefix(self.box.client, self.capabilities)
            self.processed = self._ensure(prefix + PROCESSED)
            self.unrecognized = self._ensure(prefix + UNRECOGNIZED)
            self.box.folder.set(account.folder)
        except (*_FAILED, MailboxError) as exc:
            self.close()
            raise MailboxError(f"{account}: {exc}") from exc

    def uids(self) -> list[str]:
        try:
            # No CHARSET: nothing to encode, and some servers refuse the argument.
            found = self.box.uids("UNDELETED", charset=None)
        except _FAILED as exc:
            raise MailboxError(f"{self.account}: cannot list the messages: {exc}") from exc
        return sorted(found, key=int)

    def fetch(self, uids: Sequence[str]) -> list[tuple[str, bytes]]:
        """The messages with these UIDs, as sent, still unseen if they were."""
        try:
            messages = self.box.fetch(uid_list=list(uids), mark_seen=False, bulk=True)
            found = [(m.uid, m.raw) for m in messages if isinstance(m, _RawMailMessage)]
        except _FAILED as exc:
            raise MailboxError(f"{self.account}: cannot fetch: {exc}") from exc
        return [(uid, raw) for uid, raw in found if uid is not None and raw]

    def move(self, uid: str, folder: str) -> None:
        try:
            # Not imap-tools' move(): without MOVE in the capabilities imaplib kept from
            # before login, it copies and then EXPUNGEs every message flagged \Deleted.
            if "MOVE" in self.capabilities:
                _ok(self.box.client.uid("MOVE", uid, _quoted(folder)), "UID MOVE")
                return
            self.box.copy(uid, folder)
            _ok(self.box.client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            if "UIDPLUS" in self.capabilities:
                _ok(self.box.client.uid("EXPUNGE", uid), "UID EXPUNGE")
        except (*_FAILED, MailboxError) as exc:
            raise MailboxError(f"{self.account}: cannot move UID {uid} to {folder}: {exc}") from exc

    def close(self) -> None:
        try:
            self.box.logout()
        except _FAILED:
            self._drop()

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self.box.client.shutdown()

    def _ensure(self, folder: str) -> str:
        if not self.box.folder.exists(folder):
            try:
                self.box.folder.create(folder)
            except ImapToolsError:
                if not self.box.folder.exists(folder):  # else another poller made it first
                    raise
            self.box.folder.subscribe(folder, True)
        return folder


def _connect(account: Account) -> BaseMailBox:
    host, port = account.host, account.port
    if account.security == "tls":
        return MailBox(host, port, timeout=_TIMEOUT, ssl_context=ssl.create_default_context())
    if account.security == "starttls":
        context = ssl.create_default_context()
        return MailBoxStartTls(host, port, timeout=_TIMEOUT, ssl_context=context)
    return MailBoxUnencrypted(host, port, timeout=_TIMEOUT)


def _capabilities(client: imaplib.IMAP4) -> frozenset[str]:
    typ, data = client.capability()
    _ok((typ, data), "CAPABILITY")
    words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
    return frozenset(words.upper().split())


_NAMESPACE = re.compile(r'^\s*\(\(\s*"((?:[^"\\]|\\.)*)"')


def _personal_prefix(client: imaplib.IMAP4, capabilities: frozenset[str]) -> str:
    """Where the account's own folders begin: "" on most servers, "INBOX." on some."""
    if "NAMESPACE" not in capabilities:
        return ""
    typ, data = client.namespace()
    if typ != "OK" or not data or not isinstance(data[0], bytes):
        return ""
    found = _NAMESPACE.match(data[0].decode("utf-8", "replace"))
    return found.group(1).replace('\\"', '"').replace("\\\\", "\\") if found else ""


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(result: tuple[str, Any], command: str) -> None:
    if result[0] != "OK":
        raise MailboxError(f"{command}: the server answered {result[0]} {result[1]!r}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
