"""The embedded transport: each message becomes one ``.eml`` file a mail client can open.

``<folder>/<release-id>/<message-id>.eml``. The name comes from the Message-ID,
so sending the same message again (after a crash, say) replaces the file rather
than adding a second one. Each file starts with a ``Return-Path`` header naming the
envelope sender, as the journalist's mail server writes it on delivery: with
``[bounces] return_path`` set, that is the delivery's own return path.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path

from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def _safe_name(text: str) -> str:
    """``text`` as one safe path component (no separators, never ``.`` or ``..``)."""
    name = _UNSAFE.sub("_", text)
    return name if name.strip(".") else "_" + name


class OutboxTransport:
    """Write each message to a folder instead of sending it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        if ready is not None:
            await ready()
        name = _safe_name(envelope.message_id.strip("<>")) + ".eml"
        relative = Path(_safe_name(envelope.release_id), name)
        try:
            trace = f"Return-Path: <{envelope.sender}>\r\n".encode()
            await asyncio.to_thread(
                _write_atomically, self.folder / relative, trace + envelope.message
            )
        except OSError as exc:
            return Outcome(Status.DEFERRED, reply=str(exc))
        return Outcome(Status.SENT, reply=f"written to {relative.as_posix()}")

    async def close(self) -> None:
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    """A reader (or a crash) sees either no file, the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # os.open rather than mkstemp: mkstemp's 0600 would hide the file from a mail
    # client running as another user; 0o666 lets the umask decide, like any new file.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


def _sync_directory(folder: Path) -> None:
    # The rename is only durable once the directory entry itself reaches the disk.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
