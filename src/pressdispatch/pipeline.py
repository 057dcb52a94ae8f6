"""What happens to a release, in order: files → store → due tiers → planned deliveries.

Sending is the engine's job (dispatch/engine.py); this module only decides
what is due and queues it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DataError

from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.content.subscribers import Row, read_lists
from pressdispatch.dispatch.planner import plan_tier
from pressdispatch.dispatch.websub import ping_hub
from pressdispatch.errors import Busy, Problem
from pressdispatch.model import Release, Tier
from pressdispatch.render.feeds import FeedSite, feed_urls_for
from pressdispatch.runtime import Runtime, driver_reason
from pressdispatch.store.catalog import DueTier

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    problems: list[Problem] = field(default_factory=list)
    changed_releases: list[str] = field(default_factory=list)
    subscribers_changed: int = 0
    lists_busy: bool = False  # another sync had the lists: the next scan picks them up
    started: list[tuple[DueTier, int]] = field(default_factory=list)
    late: list[DueTier] = field(default_factory=list)


async def tick(rt: Runtime, now: datetime, stop: asyncio.Event | None = None) -> TickReport:
    """One scan: sync the files into the store, then queue every tier whose time has come.

    Once ``stop`` is set the scan ends at the next short transaction: a long list
    merge is left for the next start (it begins again from the files), and nothing
    more is queued.
    """
    report = TickReport()
    await sync_files(rt, now, report, stop=stop)
    if stop is None or not stop.is_set():
        await start_due(rt, now, report)
    return report


async def sync_files(
    rt: Runtime,
    now: datetime,
    report: TickReport,
    *,
    lists: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Bring the store in line with the files: the releases, then (unless not ``lists``)
    the subscriber lists. A press office action on one release passes ``lists=False``:
    merging a long list that was just edited is the scan's work, not a request's.
    Once ``stop`` is set, the list merge ends early, as in :func:`tick`.

    The loaders keep out what the store cannot hold; should a value get past them
    and be refused all the same, that part of the files is reported and left as
    the last scan stored it, and the scan goes on: what is due is still sent.
    Problems go to ``report`` only (see :func:`log_problems`).
    """
    newsroom = load_newsroom(rt.settings, rt.regions, subscribers=False, cache=rt.releases)
    report.problems.extend(newsroom.release_problems)
    try:
        report.changed_releases = await rt.catalog.sync(newsroom.releases.values(), now)
    except DataError as exc:
        report.problems.append(_refused(rt.settings.paths.releases, exc))
    if lists:
        await sync_lists(rt, now, report, stop)


def log_problems(report: TickReport) -> None:
    """Log each problem of one scan once, at the level of its severity.

    The scan only collects them: whoever runs it says them once (the service's log,
    or `run --once` and `status` on the terminal); a press office action that syncs
    one release would otherwise repeat the whole folder's problems.
    """
    for problem in report.problems:
        log.log(logging.ERROR if problem.is_error else logging.WARNING, "%s", problem.labelled())


async def sync_lists(
    rt: Runtime, now: datetime, report: TickReport, stop: asyncio.Event | None = None
) -> None:
    """Merge the lists into the store if they changed, unless another sync is at it.

    That one (an import, another process's scan) may be merging older files: the
    fingerprint it stores then differs from the folder's, and the next scan merges again.
    """
    folder = rt.settings.paths.subscribers
    if folder_fingerprint(folder) == await rt.journalists.fingerprint():
        return
    try:
        async with rt.journalists.exclusive() as sync:
            fingerprint = folder_fingerprint(folder)  # as of now, under the lease
            if fingerprint == await rt.journalists.fingerprint():
                return  # the sync that just ended did it
            content = await asyncio.to_thread(lists_digest, folder)
            if content == await rt.journalists.content():
                # Written again with the same bytes (an export copied over each night):
                # the merge would change nothing, and the problems were told last time.
                await sync.unchanged(fingerprint, content)
                return
            rows = rows_only(read_lists(folder, rt.regions), report.problems)
            changed = await sync.run(rows, fingerprint, now, content=content, stop=stop)
            report.subscribers_changed = changed or 0
    except DataError as exc:
        report.problems.append(_refused(folder, exc))
    except Busy:
        report.lists_busy = True
        log.info("the subscriber lists are being merged elsewhere; the next scan syncs them")


def _refused(folder: Path, exc: DataError) -> Problem:
    message = (
        f"not saved: the database refused a value ({driver_reason(exc)}); "
        "the files are read again at the next scan"
    )
    return Problem(folder, None, "(store)", message)


async def start_due(
    rt: Runtime, now: datetime, report: TickReport, on_queued: Callable[[], None] | None = None
) -> None:
    """Queue every tier whose time has come (``on_queued``: see ``plan_tier``)."""
    for due in await rt.catalog.due(now, rt.settings.scheduler.max_lateness):
        if due.late:
            report.late.append(due)
            continue
        release, queued = await plan_tier(
            due.release_id,
            due.tier,
            now,
            catalog=rt.catalog,
            journalists=rt.journalists,
            ledger=rt.ledger,
            regions=rt.regions,
            message_id=rt.message_id,
            on_queued=on_queued,
        )
        log.info("%s: %s copy queued for %d journalists", due.release_id, due.tier.value, queued)
        report.started.append((due, queued))
        if due.tier is Tier.PUBLIC and rt.settings.feeds.websub_hub:
            await _announce(rt, release)


async def _announce(rt: Runtime, release: Release) -> None:
    """Tell the WebSub hub which feeds now carry the release (failures are only logged)."""
    site = FeedSite.of(rt.settings, rt.regions, rt.topics)
    await ping_hub(rt.settings.feeds.websub_hub, feed_urls_for(release, site))


def rows_only(items: Iterable[Row | Problem], problems: list[Problem] | None) -> Iterator[Row]:
    """The rows; each problem goes to ``problems`` (or nowhere: None)."""
    for item in items:
        if not isinstance(item, Problem):
            yield item
        elif problems is not None:
            problems.append(item)


def folder_fingerprint(folder: Path) -> str:
    """Changes whenever a list file is added, removed or edited."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:  # a link to nothing, say: the loader reports it
            try:
                stat = path.lstat()
            except OSError:  # gone since the listing
                continue
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def lists_digest(folder: Path) -> str:
    """Changes whenever the name or a byte of a list changes (not its time or its copy)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        try:
            with path.open("rb") as handle:
                file_digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:  # gone, a folder, a link to nothing: the loader reports it
            file_digest = f"unreadable: {type(exc).__name__}"
        digest.update(f"{path.name}\0{file_digest}\n".encode())
    return digest.hexdigest()
