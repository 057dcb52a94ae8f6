"""Turn a due tier of a release into queued deliveries, streaming the journalists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pressdispatch.matching import variant_in_tier
from pressdispatch.model import Release, Subscriber, Tier, Variant
from pressdispatch.regions import RegionTree
from pressdispatch.store.journalists.record import Addressee, Profile
from pressdispatch.store.ports import PlanLedger, Planned, Recipients, ReleasesToPlan

MessageId = Callable[[str, str, str], str]  # (release id, language, address) -> Message-ID

# Profiles matched and kept at once, at most: journalists share few of them, but a list
# where each has their own set of regions must not grow the table without bound.
_KEPT = 50_000


async def plan_tier(
    release_id: str,
    tier: Tier,
    now: datetime,
    *,
    catalog: ReleasesToPlan,
    journalists: Recipients,
    ledger: PlanLedger,
    regions: RegionTree,
    message_id: MessageId,
    on_queued: Callable[[], None] | None = None,
) -> tuple[Release, int]:
    """Queue this tier's recipients; returns the release as frozen, and how many were
    newly queued. ``on_queued`` hears of each chunk once it is in the ledger (a sender
    waiting for work can take it at once).

    Safe to repeat: a journalist already in the ledger for this release (say,
    with the embargoed copy) is skipped, so a crash while planning is repaired
    by planning again. The tier is marked started only once all are queued.
    """
    release = await catalog.freeze(release_id, now)
    match = _Matcher(release, regions, tier)
    queued = 0
    # Each chunk is queued while the next one is read and matched: the database inserts
    # one while Python builds the next. One at a time, so they go in in order.
    inserting: asyncio.Future[int] | None = None
    try:
        async for chunk in journalists.addressees():
            rows = _planned(release.id, chunk, tier, match, message_id)
            if inserting is not None:
                queued += await inserting
                if on_queued is not None:
                    on_queued()
            inserting = asyncio.ensure_future(ledger.plan(release.id, rows, now))
        if inserting is not None:
            queued += await inserting
            inserting = None
            if on_queued is not None:
                on_queued()
    finally:
        if inserting is not None:  # the reading failed: the insert is not waited for
            inserting.cancel()
    await catalog.mark_started(release_id, tier, now)
    return release, queued


class _Matcher:
    """``variant_in_tier`` of one release and tier, worked out once per profile."""

    def __init__(self, release: Release, regions: RegionTree, tier: Tier) -> None:
        self.release, self.regions, self.tier = release, regions, tier
        self.known: dict[Profile, Variant | None] = {}

    def __call__(self, profile: Profile) -> Variant | None:
        try:
            return self.known[profile]
        except KeyError:
            pass
        if len(self.known) >= _KEPT:
            self.known.clear()
        languages, regions, topics, embargo = profile
        subscriber = Subscriber(
            email="",
            languages=tuple(languages.split()),
            regions=frozenset(regions.split()),
            topics=frozenset(topics.split()),
            embargo=embargo,
        )
        variant = variant_in_tier(self.release, subscriber, self.regions, self.tier)
        self.known[profile] = variant
        return variant


def _planned(
    release_id: str,
    chunk: list[Addressee],
    tier: Tier,
    match: Callable[[Profile], Variant | None],
    message_id: MessageId,
) -> list[Planned]:
    """The deliveries of ``tier`` to the journalists of ``chunk`` who get a copy."""
    rows: list[Planned] = []
    for addressee in chunk:
        variant = match(addressee.profile)
        if variant is not None:
            language = variant.language
            rows.append(
                Planned(
                    addressee.id,
                    language,
                    tier,
                    message_id(release_id, language, addressee.address),
                )
            )
    return rows
