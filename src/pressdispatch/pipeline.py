"""What happens to a release, in order: files → store → due tiers → planned deliveries.

Sending is the engine's job (dispatch/engine.py); this module only decides
what is due and queues it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DataError

from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.content.subscribers import Row, read_lists
from pressdispatch.dispatch.planner import plan_tier
from pressdispatch.errors import Problem
from pressdispatch.model import Tier
from pressdispatch.runtime import Runtime, driver_reason
from pressdispatch.store.catalog import DueTier

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    problems: list[Problem] = field(default_factory=list)
    changed_releases: list[str] = field(default_factory=list)
    subscribers_changed: int = 0
    started: list[tuple[DueTier, int]] = field(default_factory=list)
    late: list[DueTier] = field(default_factory=list)


async def tick(rt: Runtime, now: datetime) -> TickReport:
    """One scan: sync the files into the store, then queue every tier whose time has come."""
    report = TickReport()
    await sync_files(rt, now, report)
    await start_due(rt, now, report)
    return report


async def sync_files(rt: Runtime, now: datetime, report: TickReport) -> None:
    """Read the files into the store.

    The loaders keep out what the store cannot hold; should a value get past them
    and be refused all the same, that part of the files is reported and left as
    the last scan stored it, and the scan goes on: what is due is still sent.
    """
    paths = rt.settings.paths
    newsroom = load_newsroom(rt.settings, rt.regions, subscribers=False, cache=rt.releases)
    report.problems.extend(newsroom.release_problems)
    try:
        report.changed_releases = await rt.catalog.sync(newsroom.releases.values(), now)
    except DataError as exc:
        report.problems.append(_refused(paths.releases, exc))
    fingerprint = folder_fingerprint(paths.subscribers)
    if fingerprint != await rt.directory.fingerprint():
        rows = _rows_only(read_lists(paths.subscribers, rt.regions), report.problems)
        try:
            report.subscribers_changed = await rt.directory.sync(rows, fingerprint, now)
        except DataError as exc:
            report.problems.append(_refused(paths.subscribers, exc))
    for problem in report.problems:
        log.warning("%s", problem)


def _refused(folder: Path, exc: DataError) -> Problem:
    message = (
        f"not saved: the database refused a value ({driver_reason(exc)}); "
        "the files are read again at the next scan"
    )
    return Problem(folder, None, "(store)", message)


async def start_due(rt: Runtime, now: datetime, report: TickReport) -> None:
    for due in await rt.catalog.due(now, rt.settings.scheduler.max_lateness):
        if due.late:
            report.late.append(due)
            continue
        queued = await plan_tier(
            due.release_id,
            due.tier,
            now,
            catalog=rt.catalog,
            directory=rt.directory,
            ledger=rt.ledger,
            regions=rt.regions,
            message_id=rt.message_id,
        )
        log.info("%s: %s copy queued for %d journalists", due.release_id, due.tier.value, queued)
        report.started.append((due, queued))
        if due.tier is Tier.PUBLIC and rt.settings.feeds.websub_hub:
            await _announce(rt, due.release_id)


async def _announce(rt: Runtime, release_id: str) -> None:
    """Tell the WebSub hub which feeds now carry the release (failures are only logged)."""
    # Imported here: the sending process needs the web stack only when a hub is configured.
    from pressdispatch.render.feeds import FeedSite, feed_urls_for  # noqa: PLC0415
    from pressdispatch.web.feeds import ping_hub  # noqa: PLC0415

    release = await rt.catalog.snapshot(release_id)
    site = FeedSite.of(rt.settings, rt.regions)
    await ping_hub(rt.settings.feeds.websub_hub, feed_urls_for(release, site))


def _rows_only(items: Iterable[Row | Problem], problems: list[Problem]) -> Iterator[Row]:
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
        else:
            yield item


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
