"""Turn a due tier of a release into queued deliveries, streaming the journalists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pressdispatch.matching import variant_in_tier
from pressdispatch.model import Release, Tier
from pressdispatch.regions import RegionTree
from pressdispatch.store.journalists.record import Journalist
from pressdispatch.store.ports import PlanLedger, Planned, Recipients, ReleasesToPlan

MessageId = Callable[[str, str, str], str]  # (release id, language, address) -> Message-ID


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
) -> tuple[Release, int]:
    """Queue this tier's recipients; returns the release as frozen, and how many were
    newly queued.

    Safe to repeat: a journalist already in the ledger for this release (say,
    with the embargoed copy) is skipped, so a crash while planning is repaired
    by planning again. The tier is marked started only once all are queued.
    """
    release = await catalog.freeze(release_id, now)
    queued = 0
    # Each chunk is queued while the next one is read and matched: the database inserts
    # one while Python builds the next. One at a time, so they go in in order.
    inserting: asyncio.Future[int] | None = None
    try:
        async for chunk in journalists.mailable():
            rows = _planned(release, chunk, tier, regions, message_id)
            if inserting is not None:
                queued += await inserting
            inserting = asyncio.ensure_future(ledger.plan(release.id, rows, now))
        if inserting is not None:
            queued += await inserting
            inserting = None
    finally:
        if inserting is not None:  # the reading failed: the insert is not waited for
            inserting.cancel()
    await catalog.mark_started(release_id, tier, now)
    return release, queued


def _planned(
    release: Release,
    chunk: list[Journalist],
    tier: Tier,
    regions: RegionTree,
    message_id: MessageId,
) -> list[Planned]:
    """The deliveries of ``tier`` to the journalists of ``chunk`` who get a copy."""
    rows: list[Planned] = []
    for journalist in chunk:
        variant = variant_in_tier(release, journalist.subscriber, regions, tier)
        if variant is None:
            continue
        address = journalist.subscriber.email
        rows.append(
            Planned(
                journalist.id,
                variant.language,
                tier,
                message_id(release.id, variant.language, address),
            )
        )
    return rows
