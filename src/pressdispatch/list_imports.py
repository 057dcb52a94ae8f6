"""List uploads from the console and the API: stored by the request, merged by a job.

A request only streams the upload to disk and records a job (``receive``); it never
waits for the merge. The web process's ``ImportRunner`` then works through the jobs,
one at a time, oldest first:

1. **checking**: the upload is read as ``pressdispatch check`` reads a list; the
   report keeps the first problems, each with its line and field. An upload with no
   valid row fails here and is not saved.
2. **merging**: under the list sync's lease (``Journalists.exclusive``), the upload is
   placed as ``subscribers/<list>.csv`` in one step, then every list is merged into
   the store as at every scan, in short transactions. A scan meanwhile leaves the
   lists alone; the lease is waited for while another sync has it.
3. **done** or **failed**.

The ``subscribers/`` folder stays the source of truth: the upload waits in
``subscribers/.imports/<token>/<list>.csv`` (on the same file system, and never read
by the loader, which reads ``*.csv`` at the top only) and becomes the list by a hard
link, so the service never sees half a file. A process that stops lets go of its job,
and the next one to start takes it up where it stood (a check starts over, a merge is
done again from the start: it is idempotent); a process that died is taken over once
its heartbeat is older than ``STALE``. The job's upload is deleted once it is done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from pressdispatch.errors import Problem, Refused
from pressdispatch.runtime import Runtime
from pressdispatch.store import imports
from pressdispatch.store.imports import ImportJob, JobProblem
from pressdispatch.vocabulary import SLUG

__all__ = [
    "MAX_UPLOAD",
    "SHOWN",
    "STALE",
    "UPLOADS",
    "check_name",
    "list_file",
    "place",
    "receive",
    "report",
    "shown_file",
    "tidy",
    "upload_file",
]

log = logging.getLogger(__name__)

UPLOADS = ".imports"  # under subscribers/
MAX_UPLOAD = 25 * 1024 * 1024  # bytes
MAX_NAME = 64
SHOWN = 200  # problems kept in a job's report; the rest are counted
STALE = timedelta(seconds=60)  # a worker silent this long is taken for dead


def shown_file(name: str) -> str:
    """The list's file as the press office sees it: ``subscribers/<name>.csv``."""
    return f"subscribers/{name}.csv"


def list_file(rt: Runtime, name: str) -> Path:
    return rt.settings.paths.subscribers / f"{name}.csv"


def upload_file(rt: Runtime, job: ImportJob) -> Path:
    return rt.settings.paths.subscribers / UPLOADS / job.upload / f"{job.list_name}.csv"


def check_name(name: str, replace: bool, rt: Runtime) -> None:
    """Refuse a list name that is not a slug, or an existing list not to be replaced."""
    if not SLUG.fullmatch(name) or len(name) > MAX_NAME:
        raise Refused(
            "bad-name",
            "The list name must be a slug: lowercase letters, digits and hyphens "
            f"(for example regional-desks), at most {MAX_NAME} characters.",
        )
    if not replace and list_file(rt, name).exists():
        raise Refused(
            "exists", f"{shown_file(name)} already exists: ask to replace it to overwrite it."
        )


async def receive(
    rt: Runtime,
    name: str,
    replace: bool,
    chunks: AsyncIterator[bytes],
    *,
    origin: str,
    now: datetime,
) -> int:
    """Store an upload and record its job (queued); the job's id.

    Raises ``Refused`` (``bad-name``, ``exists``, ``too-large``, ``empty``) before
    anything is recorded; nothing is left on disk then.
    """
    check_name(name, replace, rt)
    token = secrets.token_hex(8)
    folder = rt.settings.paths.subscribers / UPLOADS / token
    path = folder / f"{name}.csv"
    try:
        size = await _store(chunks, path)
        if size == 0:
            raise Refused("empty", "The file is empty.")
        return await imports.create(
            rt.db,
            list_name=name,
            replace=replace,
            origin=origin,
            upload=token,
            size=size,
            now=now,
        )
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
        raise


async def _store(chunks: AsyncIterator[bytes], path: Path) -> int:
    """Write the chunks as they come, then flush them to the disk; the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with path.open("wb") as handle:
        async for chunk in chunks:
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise Refused(
                    "too-large", f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB."
                )
            handle.write(chunk)  # into the page cache: no wait worth a thread
        await asyncio.to_thread(_sync, handle.fileno())
    return size


def _sync(fileno: int) -> None:
    os.fsync(fileno)


def place(upload: Path, target: Path, replace: bool) -> bool:
    """Make the upload the list, in one step; False if a list is there and may not be replaced.

    A hard link: a job taken up again after a crash finds its upload already in place.
    """
    if target.exists() and os.path.samefile(upload, target):
        return True
    if not replace:
        try:
            os.link(upload, target)  # FileExistsError if a list of that name appeared
        except FileExistsError:
            return False
        return True
    aside = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    os.link(upload, aside)
    os.replace(aside, target)
    return True


def report(problems: list[Problem]) -> list[JobProblem]:
    """The problems as a job keeps them: line (None for the whole file), field, message."""
    return [JobProblem(p.line, p.field, p.message) for p in problems]


def tidy(rt: Runtime, keep: set[str], age: timedelta = timedelta(hours=1)) -> None:
    """Delete the uploads no unfinished job needs (a job that ended, a request that died).

    Only those written longer than ``age`` ago: a request may be storing one right now.
    """
    folder = rt.settings.paths.subscribers / UPLOADS
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name not in keep and entry.stat().st_mtime < time.time() - age.total_seconds():
            shutil.rmtree(entry, ignore_errors=True)
