"""The press office's website, polled: each new entry of a ``[[sources]]`` feed or
sitemap becomes a release folder, as `pressdispatch import URL` makes it.

A scan polls the sources that are due (every ``scheduler.scan_interval``, or the
source's ``interval``) before it reads the files, so a new folder is taken in by
the same scan. Each poll asks only for what changed (If-None-Match,
If-Modified-Since); a 304 imports nothing.

Nothing is imported twice, whatever restarts in between (store/sources.py): an
entry is skipped when its URL was seen (by any source, or imported by hand), its
GUID was seen in the same source, or its page has the text of a page imported
before. The first poll of a source takes what it lists as known, except what is
dated within the last week: adding a sitemap does not import the site's archive.

A source that fails (down, 404, not a feed) is logged when its error changes and
shown by `pressdispatch status`; the others go on. An entry whose import fails
is not taken as seen: the listing's ETag is not kept either, so the next poll
reads the listing again and tries it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from pressdispatch.clock import Clock
from pressdispatch.config import SourceSection
from pressdispatch.intake.fetch import Fetched, FetchError, client, fetch
from pressdispatch.intake.importer import ImportFailed, Options, import_source
from pressdispatch.intake.listing import Entry, Listing, ListingError, read_listing
from pressdispatch.intake.page import read_html
from pressdispatch.intake.provenance import imported_urls
from pressdispatch.runtime import Runtime
from pressdispatch.store import leases
from pressdispatch.store import sources as store
from pressdispatch.store.sources import FAILED, IMPORTED, SKIPPED, Seen, SourceState

__all__ = ["NewRelease", "Polled", "poll_due", "poll_sources"]

log = logging.getLogger(__name__)

RECENT = timedelta(days=7)  # what a first poll imports
MAX_IMPORTS = 20  # per source and poll: the rest at the next one, so a scan stays short
LISTING_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit
_MAX_URL = 2000  # the store's column
_LEASE = "poll-sources"
_LEASE_TTL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class NewRelease:
    source: str
    url: str
    release_id: str
    folder: Path
    notes: Sequence[str] = ()


@dataclass
class Polled:
    imported: list[NewRelease] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # "<source url>: <error>"
    busy: bool = False  # another process was polling: nothing done


async def poll_due(rt: Runtime, clock: Clock) -> None:
    """The scan's poll: the sources that are due; whatever goes wrong is logged."""
    try:
        await poll_sources(rt, clock, due_only=True)
    except Exception:  # the scan goes on; the next one polls again
        log.exception("polling the sources failed")


async def poll_sources(rt: Runtime, clock: Clock, *, due_only: bool = False) -> Polled:
    """Poll the sources (only those due, with ``due_only``), one after another."""
    polled = Polled()
    if not rt.settings.sources:
        return polled
    owner = uuid.uuid4().hex
    if not await leases.acquire(rt.db, _LEASE, owner, _LEASE_TTL):
        polled.busy = True
        return polled
    try:
        states = await store.states(rt.db)
        scan = rt.settings.scheduler.scan_interval
        async with client() as http:
            for source in rt.settings.sources:
                state = states.get(source.url) or SourceState(source.url)
                if due_only and not _due(source, state, clock(), scan):
                    continue
                await _Poll(rt, http, source, state, clock, polled).run()
                await leases.renew(rt.db, _LEASE, owner, _LEASE_TTL)
    finally:
        await leases.release(rt.db, _LEASE, owner)
    return polled


def _due(source: SourceSection, state: SourceState, now: datetime, scan: timedelta) -> bool:
    if state.last_poll_at is None:
        return True
    every = source.interval or scan
    # Half a scan of slack: a scan that comes a moment early still polls.
    return now - state.last_poll_at >= every - scan / 2


@dataclass
class _Poll:
    rt: Runtime
    http: httpx.AsyncClient
    source: SourceSection
    state: SourceState
    clock: Clock
    polled: Polled

    @property
    def url(self) -> str:
        return self.source.url

    async def run(self) -> None:
        now = self.clock()
        try:
            got, listing = await self._listing(now)
        except (FetchError, ListingError) as exc:
            await self._failed(now, str(exc))
            return
        except Exception as exc:  # one source's surprise must not stop the others
            log.exception("source %s: the poll failed", self.url)
            await self._failed(now, f"the poll failed ({type(exc).__name__})")
            return
        if self.state.last_error:
            log.info("source %s: answers again", self.url)
        if listing is None:  # 304: nothing changed
            await store.polled(self.rt.db, self.url, now)
            return
        complete = await self._take(listing, now)
        # Validators are kept only once every entry is done, so that an entry left to
        # try again is listed again; a sitemap index's sitemaps are read in full.
        keep = complete and not listing.sitemaps
        await store.polled(
            self.rt.db,
            self.url,
            now,
            etag=got.etag if keep else "",
            last_modified=got.last_modified if keep else "",
            baselined=True,
        )

    async def _failed(self, now: datetime, message: str) -> None:
        error = message.removeprefix(f"{self.url}: ")  # said once, by whoever shows it
        if error != self.state.last_error:
            log.error("source %s: %s (polled again at the next scan)", self.url, error)
        self.polled.failing.append(f"{self.url}: {error}")
        await store.polled(self.rt.db, self.url, now, error=error)

    async def _listing(self, now: datetime) -> tuple[Fetched, Listing | None]:
        got = await fetch(
            self.http,
            self.url,
            now,
            feed=True,
            max_bytes=LISTING_BYTES,
            etag=self.state.etag,
            last_modified=self.state.last_modified,
        )
        if got.not_modified:
            return got, None
        listing = await asyncio.to_thread(read_listing, got.raw, got.url, got.content_type)
        if not listing.sitemaps:
            return got, listing
        entries: list[Entry] = []
        for sitemap in listing.sitemaps:  # one level: an index within an index is not read
            part = await fetch(self.http, sitemap, now, feed=True, max_bytes=LISTING_BYTES)
            read = await asyncio.to_thread(read_listing, part.raw, part.url, part.content_type)
            entries.extend(read.entries)
        return got, Listing(listing.kind, tuple(entries), listing.sitemaps)

    async def _take(self, listing: Listing, now: datetime) -> bool:
        """Import the listing's new entries; whether none is left to try again."""
        listed: dict[str, Entry] = {}
        for e in listing.entries:
            if len(e.url) <= _MAX_URL and len(e.guid) <= _MAX_URL:
                listed.setdefault(e.url, e)
        entries = list(listed.values())
        db = self.rt.db
        known = await store.known(db, self.url, [e.url for e in entries], [e.guid for e in entries])
        by_hand = await asyncio.to_thread(imported_urls, self.rt.settings.paths.releases)
        first = self.state.baselined_at is None
        passed: list[Seen] = []
        todo: list[Entry] = []
        for entry in entries:
            if entry.url in known.urls or (entry.guid and entry.guid in known.guids):
                continue
            if entry.url in by_hand:
                passed.append(Seen(entry.url, SKIPPED, entry.guid, release_id=by_hand[entry.url]))
            elif first and (entry.dated is None or entry.dated < now - RECENT):
                passed.append(Seen(entry.url, SKIPPED, entry.guid))
            else:
                todo.append(entry)
        await store.record(db, self.url, passed, now)
        if first and passed:
            log.info(
                "source %s: first poll: %d entries older than %d days taken as known",
                self.url,
                len(passed),
                RECENT.days,
            )
        failed_before = await store.failed_entries(db, self.url)
        failures = 0
        for entry in todo[:MAX_IMPORTS]:
            seen = await self._import(entry)
            await store.record(db, self.url, [seen], self.clock())
            if seen.state == FAILED:
                failures += 1
                if seen.error != failed_before.get(entry.url):
                    log.warning(
                        "source %s: %s not imported (tried again at the next poll): %s",
                        self.url,
                        entry.url,
                        seen.error,
                    )
        return not failures and len(todo) <= MAX_IMPORTS

    async def _import(self, entry: Entry) -> Seen:
        now = self.clock()
        url, guid = entry.url, entry.guid
        try:
            page = await fetch(self.http, url, now)
        except FetchError as exc:
            return Seen(url, FAILED, guid, error=str(exc))
        digest = await asyncio.to_thread(_text_digest, page)
        same = await store.release_with_text(self.rt.db, digest) if digest else None
        if same is not None:
            log.info("source %s: %s has the text of %s: not imported again", self.url, url, same)
            return Seen(url, SKIPPED, guid, digest, same)
        source = self.source
        options = Options(
            status=source.status,
            hold=source.hold,
            regions=source.regions,
            topics=source.topics,
            guid=guid,
        )
        try:
            done = await import_source(
                url, self.rt.settings, self.rt.regions, now, options, client=self.http
            )
        except ImportFailed as exc:
            return Seen(url, FAILED, guid, digest, error=str(exc))
        if not done.created:  # imported by hand since the listing was read
            return Seen(url, SKIPPED, guid, digest, done.release_id)
        log.info("source %s: %s imported as %s (%s)", self.url, url, done.release_id, source.status)
        new = NewRelease(self.url, url, done.release_id, done.folder, done.notes)
        self.polled.imported.append(new)
        return Seen(url, IMPORTED, guid, digest, done.release_id)


def _text_digest(page: Fetched) -> str:
    """The sha256 of the article's title and text: the same release at another address
    has the same, whatever the page around it says (related news, a date, a token)."""
    article = read_html(page.text, page.url)
    text = " ".join(f"{article.title}\n{article.body_markdown}".split())
    return hashlib.sha256(text.encode()).hexdigest() if article.body_markdown.strip() else ""
