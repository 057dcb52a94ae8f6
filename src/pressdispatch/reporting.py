"""The distribution report: what became of each tier of a release, for the press office.

Per tier (embargoed copy, public copy): when it started and finished, its deliveries
by status overall, by language and by the journalists' regions, and how many are
still pending; for the release, what came back so far (bounces, complaints) and, in
the follow-up, since the first report. ``build`` is pure; ``gather`` reads the
figures from the store, counted there (store/reports.py). `pressdispatch report`
prints it; reports.py emails it when a tier finishes and again a day later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pressdispatch.model import UNFINISHED, DeliveryStatus, Tier
from pressdispatch.regions import ROOT
from pressdispatch.render import i18n
from pressdispatch.runtime import Runtime
from pressdispatch.store.catalog import ReleaseRecord
from pressdispatch.store.reports import TierFigures

__all__ = ["DistributionReport", "TierReport", "as_json", "build", "console_url", "gather"]

# The kinds of returns a report shows (content/returns.py Kind), in this order.
RETURN_KINDS = ("hard", "soft", "complaint", "policy")


@dataclass(frozen=True, slots=True)
class TierReport:
    tier: Tier
    started_at: datetime
    finished_at: datetime | None  # None while anything is left to send
    counts: Counter[DeliveryStatus]
    by_language: Mapping[str, Counter[DeliveryStatus]]
    # A journalist counts under each region they follow; ROOT for those who follow all.
    by_region: Mapping[str, Counter[DeliveryStatus]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def pending(self) -> int:
        """Deliveries still queued, deferred or being sent."""
        return sum(self.counts[s] for s in UNFINISHED)


@dataclass(frozen=True, slots=True)
class DistributionReport:
    release_id: str
    title: str
    console_url: str
    generated_at: datetime
    tiers: Sequence[TierReport]
    returns: Mapping[str, int]  # kind → deliveries with such a return, so far
    since: datetime | None = None  # a follow-up: what came back since the first report
    returns_since: Mapping[str, int] = field(default_factory=dict)
    region_names: Mapping[str, str] = field(default_factory=dict)  # slug → name

    def tier(self, tier: Tier) -> TierReport | None:
        return next((t for t in self.tiers if t.tier is tier), None)


def console_url(base_url: str, release_id: str) -> str:
    """The release's page on the console (web/admin/releases.py)."""
    return f"{base_url}/admin/releases/{quote(release_id, safe='')}"


def build(
    record: ReleaseRecord,
    title: str,
    figures: Mapping[Tier, TierFigures],
    returns: Mapping[str, int],
    *,
    base_url: str,
    now: datetime,
    since: datetime | None = None,
    returns_since: Mapping[str, int] | None = None,
    region_names: Mapping[str, str] | None = None,
) -> DistributionReport:
    """The report of ``record``'s started tiers, from the store's counts."""
    tiers = []
    for tier, started in _started(record):
        found = figures.get(tier, TierFigures((), None))
        tiers.append(_tier(tier, started, found))
    return DistributionReport(
        record.id,
        title,
        console_url(base_url, record.id),
        now,
        tuple(tiers),
        dict(returns),
        since,
        dict(returns_since or {}),
        dict(region_names or {}),
    )


def _started(record: ReleaseRecord) -> list[tuple[Tier, datetime]]:
    started = [(Tier.EMBARGOED, record.embargo_started_at), (Tier.PUBLIC, record.public_started_at)]
    return [(tier, at) for tier, at in started if at is not None]


def _tier(tier: Tier, started: datetime, figures: TierFigures) -> TierReport:
    counts: Counter[DeliveryStatus] = Counter()
    by_language: dict[str, Counter[DeliveryStatus]] = {}
    by_region: dict[str, Counter[DeliveryStatus]] = {}
    for group in figures.groups:
        counts[group.status] += group.count
        by_language.setdefault(group.language, Counter())[group.status] += group.count
        for slug in group.regions.split() or [ROOT]:
            by_region.setdefault(slug, Counter())[group.status] += group.count
    unfinished = any(counts[s] for s in UNFINISHED)
    # A tier with nothing attempted (no recipients, or all cancelled) finished as it started.
    finished = None if unfinished else (figures.last_at or started)
    return TierReport(
        tier,
        started,
        finished,
        counts,
        dict(sorted(by_language.items())),
        dict(sorted(by_region.items(), key=lambda item: (item[0] != ROOT, item[0]))),
    )


async def gather(
    rt: Runtime, release_id: str, now: datetime, *, since: datetime | None = None
) -> DistributionReport | None:
    """The report of a release as the store has it now; None if the store has no such
    release. ``since``: a follow-up's, with the returns received since then."""
    records = await rt.catalog.rows(release_id)
    if not records:
        return None
    record = records[0]
    figures = {tier: await rt.reports.figures(release_id, tier) for tier, _ in _started(record)}
    lang = rt.settings.newsroom.default_language
    slugs = {s for f in figures.values() for g in f.groups for s in g.regions.split()} | {ROOT}
    return build(
        record,
        await _title(rt, release_id, lang),
        figures,
        await rt.returns.counts(release_id),
        base_url=rt.settings.newsroom.base_url,
        now=now,
        since=since,
        returns_since=await rt.returns.counts(release_id, since) if since else None,
        region_names={slug: _region_name(rt, slug, lang) for slug in slugs},
    )


async def _title(rt: Runtime, release_id: str, lang: str) -> str:
    """The title in ``lang`` if the release has it, else in its original language."""
    release = await rt.catalog.snapshot(release_id)
    found = release.translations.get(lang) or release.translations[release.original_language]
    return found.title


def _region_name(rt: Runtime, slug: str, lang: str) -> str:
    if slug == ROOT:
        return i18n.gettext(lang, "All regions")  # following the world is following all
    if slug not in rt.regions:
        return slug  # a slug the region data no longer has: shown as stored
    return i18n.region_name(rt.regions, slug, lang)


def as_json(report: DistributionReport) -> dict[str, Any]:
    """The report for `pressdispatch report --json`: every status counted, zeros too."""

    def counted(counts: Counter[DeliveryStatus]) -> dict[str, int]:
        return {status.value: counts[status] for status in DeliveryStatus}

    def kinds(found: Mapping[str, int]) -> dict[str, int]:
        return {kind: found.get(kind, 0) for kind in RETURN_KINDS}

    document: dict[str, Any] = {
        "release": report.release_id,
        "title": report.title,
        "console": report.console_url,
        "generated_at": report.generated_at.isoformat(),
        "tiers": [
            {
                "tier": t.tier.value,
                "started_at": t.started_at.isoformat(),
                "finished_at": t.finished_at.isoformat() if t.finished_at else None,
                "total": t.total,
                "pending": t.pending,
                "counts": counted(t.counts),
                "by_language": {lang: counted(c) for lang, c in t.by_language.items()},
                "by_region": {
                    slug: {"name": report.region_names.get(slug, slug), **counted(c)}
                    for slug, c in t.by_region.items()
                },
            }
            for t in report.tiers
        ],
        "returns": kinds(report.returns),
    }
    if report.since is not None:
        document["since"] = report.since.isoformat()
        document["returns_since"] = kinds(report.returns_since)
    return document
