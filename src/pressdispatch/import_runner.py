"""The background job that checks and merges list uploads, in the web process.

The steps and what survives a stop are described in ``list_imports``. The runner
works on one job at a time; a request that records a job wakes it, and it also looks
for work every ``POLL`` (a job left by a process that died, or recorded by another).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from pressdispatch import pipeline
from pressdispatch.content.subscribers import Row, read_lists, read_subscriber_file
from pressdispatch.errors import Busy, Problem
from pressdispatch.list_imports import (
    SHOWN,
    STALE,
    list_file,
    place,
    report,
    shown_file,
    tidy,
    upload_file,
)
from pressdispatch.pacing import batches
from pressdispatch.runtime import Runtime
from pressdispatch.store import imports
from pressdispatch.store.imports import ImportJob, Job
from pressdispatch.store.listsync import Progress, SyncProgress

__all__ = ["ImportRunner"]

log = logging.getLogger(__name__)

POLL = 30.0  # seconds between two looks for work nobody woke the runner for
_BEAT = 1.0  # seconds between two progress records (each is a heartbeat)
_WAIT = 1.0  # seconds between two tries for the list sync's lease
_RETRY = 5.0  # seconds before a job whose store write failed is tried again


class _Lost(Exception):
    """The job is no longer ours: stop working on it, write nothing more."""


class ImportRunner:
    def __init__(self, rt: Runtime, clock: Callable[[], datetime]) -> None:
        self.rt = rt
        self.clock = clock
        self.owner = secrets.token_hex(8)
        self.wakeup = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Work through the jobs until ``stop`` is set; a job under way is let go of."""
        first = True
        while not stop.is_set():
            self.wakeup.clear()
            try:
                job = await self._next(tidy_uploads=first)
                first = False
                if job is not None:
                    await self._work(job, stop)
                    continue
            except SQLAlchemyError as exc:
                log.warning("list imports: the store failed (%s); trying again shortly", exc)
                await _sleep(stop, _RETRY)
                continue
            except Exception:  # a bug: say so, but keep serving the other jobs
                log.exception("list imports: unexpected error")
                await _sleep(stop, _RETRY)
                continue
            await _either(stop, self.wakeup, POLL)

    async def _next(self, *, tidy_uploads: bool) -> Job | None:
        now = self.clock()
        waiting = await imports.unfinished(self.rt.db)
        if tidy_uploads:
            keep = {job.upload for job in waiting}
            await asyncio.to_thread(tidy, self.rt, keep)
        for job in waiting:
            if await imports.claim(self.rt.db, job.id, self.owner, now, now - STALE):
                return Job(self.rt.db, job.id, self.owner)
        return None

    async def _work(self, handle: Job, stop: asyncio.Event) -> None:
        job = await imports.get(self.rt.db, handle.id)
        assert job is not None
        try:
            if not upload_file(self.rt, job).is_file():
                await handle.finish(self.clock(), "failed", error="The stored upload is missing.")
            elif job.state == "merging" or await self._check(job, handle, stop):
                await self._merge(job, handle, stop)
        except _Lost:
            log.info("list import %d was taken over by another process", job.id)
            return
        except SQLAlchemyError:
            with contextlib.suppress(SQLAlchemyError):
                await handle.let_go()
            raise
        except Exception as exc:
            log.exception("list import %d failed", job.id)
            await handle.finish(self.clock(), "failed", error=f"Internal error: {exc}")
        if stop.is_set():
            await handle.let_go()
            return
        job = await imports.get(self.rt.db, handle.id)
        if job is not None and job.finished:
            await asyncio.to_thread(shutil.rmtree, upload_file(self.rt, job).parent, True)

    async def _check(self, job: ImportJob, handle: Job, stop: asyncio.Event) -> bool:
        """Read the upload as `pressdispatch check` does; True when it goes on to the merge."""
        await self._set(handle, state="checking", started_at=self.clock(), rows_read=0)
        rows, count = 0, 0
        problems: list[Problem] = []
        beat = time.monotonic()
        items = read_subscriber_file(upload_file(self.rt, job), self.rt.regions)
        async with contextlib.aclosing(batches(items, 500)) as chunks:
            async for chunk in chunks:
                for item in chunk:
                    if isinstance(item, Row):
                        rows += 1
                    else:
                        count += 1
                        if len(problems) < SHOWN:
                            problems.append(item)
                if stop.is_set():
                    await handle.let_go()
                    return False
                if time.monotonic() - beat > _BEAT:
                    await self._set(handle, rows_read=rows, problem_count=count)
                    beat = time.monotonic()
        found = {"rows_read": rows, "problem_count": count, "problems": report(problems)}
        if rows == 0:
            error = f"No valid row: {shown_file(job.list_name)} was not saved."
            await handle.finish(self.clock(), "failed", error=error, **found)
            return False
        await self._set(handle, state="merging", **found)
        return True

    async def _merge(self, job: ImportJob, handle: Job, stop: asyncio.Event) -> None:
        """Place the upload and merge every list, under the sync's lease (waited for)."""
        journalists = self.rt.journalists
        folder = self.rt.settings.paths.subscribers
        while True:
            try:
                async with journalists.exclusive() as sync:
                    target = list_file(self.rt, job.list_name)
                    if not place(upload_file(self.rt, job), target, job.replace):
                        error = (
                            f"{shown_file(job.list_name)} appeared meanwhile: "
                            "upload the file again and ask to replace the list."
                        )
                        await handle.finish(self.clock(), "failed", error=error)
                        return
                    fingerprint = pipeline.folder_fingerprint(folder)
                    if fingerprint == await journalists.fingerprint():
                        changed: int | None = 0  # merged already, before a restart
                    else:
                        content = await asyncio.to_thread(pipeline.lists_digest, folder)
                        rows = pipeline.rows_only(read_lists(folder, self.rt.regions), None)
                        changed = await sync.run(
                            rows,
                            fingerprint,
                            self.clock(),
                            content=content,
                            progress=self._progress(handle),
                            stop=stop,
                        )
                break
            except Busy:  # a scan or another import is merging: wait for it
                await self._set(handle)
                if await _sleep(stop, _WAIT):
                    await handle.let_go()
                    return
        if changed is None:  # stopped half-way: the next start merges again
            await handle.let_go()
            return
        await handle.finish(self.clock(), "done", changed=changed)

    def _progress(self, handle: Job) -> Progress:
        """Records the sync's figures once a second (each record is also a heartbeat)."""
        beat = time.monotonic()
        recorded = (-1, -1)

        async def record(state: SyncProgress) -> None:
            nonlocal beat, recorded
            figures = (state.staged if state.total is None else state.total, state.merged)
            merged_all = state.total is not None and state.merged >= state.total
            if time.monotonic() - beat < _BEAT and not (merged_all and figures != recorded):
                return
            await self._set(handle, rows_total=figures[0], rows_merged=figures[1])
            beat, recorded = time.monotonic(), figures

        return record

    async def _set(self, handle: Job, **values: object) -> None:
        if not await handle.set(self.clock(), **values):
            raise _Lost


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` unless stopped first; True if stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _either(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())}
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
