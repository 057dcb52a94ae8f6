"""Turn a due tier of a release into queued deliveries, streaming the journalists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pressdispatch.matching import variant_in_tier
from pressdispatch.model import Release, Tier
from pressdispatch.regions import RegionTree
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
    async for chunk in journalists.mailable():
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
        queued += await ledger.plan(release.id, rows, now)
    await catalog.mark_started(release_id, tier, now)
    return release, queued
