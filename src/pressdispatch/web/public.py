"""What the public may see now, cached until the next publication.

Every page and feed reads this one view. It is rebuilt when the next
publication time arrives (so a release appears at its ``publish_at`` without
waiting for a scan) and at most every ``refresh`` otherwise (to pick up what the
scheduler synced from the files), and at once after a withdrawal made here
(``expire``). Before ``publish_at`` a release is simply not in the view: no page,
feed or API can leak it. A withdrawn release is not in it either; ``withdrawn``
holds when and why, for its 410 page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from pressdispatch.clock import Clock
from pressdispatch.model import Release
from pressdispatch.store.ports import PublicReleases, Withdrawal


@dataclass(frozen=True, slots=True)
class Snapshot:
    releases: tuple[Release, ...]  # newest first
    by_id: dict[str, Release]
    version: str  # changes whenever what is public changes
    taken_at: datetime
    next_publication: datetime | None
    withdrawn: dict[str, Withdrawal]  # taken off the newsroom: their pages answer 410

    def valid_at(self, now: datetime, refresh: timedelta) -> bool:
        if self.next_publication is not None and now >= self.next_publication:
            return False
        return now - self.taken_at < refresh


class PublicView:
    def __init__(
        self, catalog: PublicReleases, clock: Clock, refresh: timedelta = timedelta(seconds=5)
    ):
        self.catalog = catalog
        self.clock = clock
        self.refresh = refresh
        self._snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> Snapshot:
        now = self.clock()
        snapshot = self._snapshot
        if snapshot is not None and snapshot.valid_at(now, self.refresh):
            return snapshot
        async with self._lock:
            snapshot = self._snapshot
            if snapshot is None or not snapshot.valid_at(now, self.refresh):
                snapshot = self._snapshot = await self._take(now)
        return snapshot

    def expire(self) -> None:
        """Forget the view: the next request reads the store (after a withdrawal here)."""
        self._snapshot = None

    async def _take(self, now: datetime) -> Snapshot:
        # The version first: if the releases change between the two queries, the next
        # refresh sees a new version and reloads, so content is never stuck under an old one.
        version = await self.catalog.public_version(now)
        upcoming = await self.catalog.next_publication(now)
        previous = self._snapshot
        if previous is not None and previous.version == version:
            # Nothing changed (a withdrawal changes the version too): no decoding.
            releases, by_id, withdrawn = previous.releases, previous.by_id, previous.withdrawn
        else:
            releases = tuple(await self.catalog.public(now))
            by_id = {r.id: r for r in releases}
            withdrawn = {w.release_id: w for w in await self.catalog.withdrawn()}
        return Snapshot(releases, by_id, version, now, upcoming, withdrawn)

    def max_age(self, snapshot: Snapshot, ceiling: timedelta) -> int:
        """Seconds a client may cache what it got now: never past the next publication."""
        now = self.clock()
        age = ceiling
        if snapshot.next_publication is not None:
            age = min(age, snapshot.next_publication - now)
        return max(int(age.total_seconds()), 0)
