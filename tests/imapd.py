"""A real IMAP server for tests: Dovecot (Debian's dovecot-imapd), a private instance
on a free port of 127.0.0.1 with its own configuration, mail and sockets in a
temporary folder, plain IMAP (no TLS) and one account.

    with imapd() as server:
        with server.mailbox() as box:
            box.append(message)
        ...
        assert server.contents() == {"INBOX": [...], "Processed": [...]}

``capabilities`` replaces what the server announces after login (to play a server
without MOVE or UIDPLUS); ``prefix`` puts the account's folders under it, as Courier
and Cyrus do with "INBOX.". Without Dovecot the test is skipped, but fails under CI
(.ci/run installs it).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import BaseMailBox, MailBoxUnencrypted

HOST = "127.0.0.1"
USER = "bounces"
PASSWORD = "imap-test-password"


@dataclass(frozen=True)
class Message:
    uid: str
    flags: tuple[str, ...]
    message_id: str


@dataclass(frozen=True)
class Imapd:
    port: int
    folder: Path

    def url(self, folder: str = "") -> str:
        return f"imap://{USER}@{HOST}:{self.port}" + (f"/{folder}" if folder else "")

    def mailbox(self, folder: str = "INBOX") -> BaseMailBox:
        return MailBoxUnencrypted(HOST, self.port, timeout=10).login(USER, PASSWORD, folder)

    def contents(self) -> dict[str, list[Message]]:
        """Every folder's messages, in UID order."""
        found: dict[str, list[Message]] = {}
        with self.mailbox() as box:
            for info in box.folder.list():
                box.folder.set(info.name, readonly=True)
                found[info.name] = [
                    Message(m.uid or "", m.flags, str(m.obj["Message-ID"]))
                    for m in box.fetch("ALL", mark_seen=False, bulk=True)
                ]
        return found

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def available() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None
    )


@contextlib.contextmanager
def imapd(*, capabilities: str = "", prefix: str = "") -> Iterator[Imapd]:
    binary = available()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed (Debian: dovecot-imapd)")
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd)")
    # Not under pytest's tmp_path: Dovecot's unprivileged processes must reach it.
    folder = Path(tempfile.mkdtemp(prefix="pressdispatch-dovecot-"))
    folder.chmod(0o755)
    port = _free_port()
    (folder / "mail").mkdir()
    (folder / "dovecot.conf").write_text(_config(folder, port, capabilities, prefix))
    if os.geteuid() == 0:  # mail may not be read as root; Dovecot reads it as nobody
        os.chown(folder / "mail", pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(folder / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    server = Imapd(port, folder)
    try:
        _wait_ready(proc, server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _config(folder: Path, port: int, capabilities: str, prefix: str) -> str:
    if os.geteuid() == 0:
        login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
        mail_user, mail_group = "nobody", "nogroup"
    else:  # one user for everything: an unprivileged Dovecot cannot switch
        login_user = internal_user = mail_user = pwd.getpwuid(os.getuid()).pw_name
        internal_group = mail_group = grp.getgrgid(os.getgid()).gr_name
    lines = [
        "protocols = imap",
        f"listen = {HOST}",
        f"base_dir = {folder}/run",
        f"state_dir = {folder}/state",
        f"log_path = {folder}/dovecot.log",
        "ssl = no",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        "auth_failure_delay = 0",  # a refused login answers at once
        f"default_login_user = {login_user}",
        f"default_internal_user = {internal_user}",
        f"default_internal_group = {internal_group}",
        "first_valid_uid = 1",
        f"mail_location = maildir:{folder}/mail/%u",
        "passdb {",
        "  driver = static",
        f"  args = password={PASSWORD}",
        "}",
        "userdb {",
        "  driver = static",
        f"  args = uid={mail_user} gid={mail_group} home={folder}/mail/%u",
        "}",
        "service imap-login {",
        "  inet_listener imap {",
        f"    address = {HOST}",
        f"    port = {port}",
        "  }",
        "  inet_listener imaps {",
        "    port = 0",
        "  }",
        "  chroot =",
        "}",
        "service anvil {",
        "  chroot =",
        "}",
    ]
    if capabilities:
        lines.append(f"imap_capability = {capabilities}")
    if prefix:
        lines += [
            "namespace inbox {",
            "  inbox = yes",
            f"  prefix = {prefix}",
            "  separator = .",
            "}",
        ]
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(proc: subprocess.Popen[bytes], server: Imapd) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with {proc.returncode}:\n{server.log()}")
        try:
            with socket.create_connection((HOST, server.port), timeout=2) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on port {server.port}:\n{server.log()}")
