"""Who gets a release, in which language and tier, and where each copy stands.

One answer for `plan`, `preview --to`, the console and the API, read from the store
as the engine reads it: journalists from every list, the web and the API, with their
own preferences, without those who unsubscribed or bounced. A tier already planned is
told from the ledger (who was actually queued, and what became of each copy); a tier
still to come from the journalists mailed today, by the same rule the planner applies
(``matching.variant_in_tier``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pressdispatch.errors import Refused
from pressdispatch.matching import variant_in_tier, why_not
from pressdispatch.model import (
    UNFINISHED,
    DeliveryStatus,
    Release,
    Subscriber,
    SubscriberStatus,
    Tier,
    Variant,
)
from pressdispatch.runtime import Runtime
from pressdispatch.status import state_of
from pressdispatch.store.catalog import ReleaseRecord
from pressdispatch.store.journalists.record import Journalist
from pressdispatch.store.ledger import Entry


class TierState(StrEnum):
    """Where one tier of a release stands."""

    WILL_SEND = "will send"  # at its time (or at the next scan, when that has come)
    LATE = "late"  # its time passed long ago: only `pressdispatch send` starts it
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    DRAFT = "draft"
    MISSING = "missing"  # its files are gone or broken, and nothing was frozen


WILL_SEND = "will send"  # an assignment's status before its tier is planned


@dataclass(frozen=True, slots=True)
class Assignment:
    """One journalist's copy: the variant, and its delivery status (or ``will send``)."""

    email: str  # as written
    name: str
    outlet: str
    language: str
    tier: Tier
    status: str  # a DeliveryStatus value, or WILL_SEND
    at: datetime | None  # when it was sent, or when it is due


@dataclass
class TierPlan:
    tier: Tier
    state: TierState
    at: datetime  # when the tier is due, or when it started
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (language, status)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ReleasePlan:
    release: Release
    record: ReleaseRecord
    state: str  # the release's, as `status` says it (status.state_of)
    tiers: list[TierPlan]
    assignments: list[Assignment]

    @property
    def will_send(self) -> bool:
        return any(t.state is TierState.WILL_SEND for t in self.tiers)

    def counts(self) -> Counter[Variant]:
        return Counter(Variant(a.language, a.tier) for a in self.assignments)


async def release_plan(
    rt: Runtime, release_id: str, now: datetime, *, listed: bool = True
) -> ReleasePlan:
    """The plan of a release as the store holds it (sync the files first to include
    their latest edits). Without ``listed``, only the counts: no journalist is kept."""
    plan = await _frame(rt, release_id, now)
    served: set[str] = set()  # who is in the ledger: no tier queues them again
    if listed or any(_started(plan.record, t.tier) for t in plan.tiers):
        async for entries in rt.ledger.entries(release_id):
            served.update(e.address.lower() for e in entries)
            if listed:
                plan.assignments.extend(_from_ledger(e, plan.release) for e in entries)
    to_come = [t for t in plan.tiers if t.state in _LISTED]
    if to_come:  # one pass over the journalists for every tier still to come
        async for chunk in rt.journalists.mailable():
            for journalist in chunk:
                if journalist.email in served:
                    continue
                for tier_plan in to_come:
                    variant = _pending_variant(plan, journalist.subscriber, rt, tier_plan.tier)
                    if variant is None:
                        continue
                    status = _status_to_come(tier_plan)
                    tier_plan.counts[variant.language, status] += 1
                    if listed:
                        plan.assignments.append(
                            _assigned(journalist, variant, status, plan.release)
                        )
    plan.assignments.sort(key=lambda a: a.email.lower())
    return plan


async def assignment_of(
    rt: Runtime, release_id: str, email: str, now: datetime
) -> tuple[ReleasePlan, Assignment | None, str]:
    """What ``email`` gets of the release, as :func:`release_plan` would list it, or why
    they get nothing; without going through every journalist."""
    plan = await _frame(rt, release_id, now)
    key = email.lower()
    for delivery in await rt.ledger.deliveries_to(key):
        if delivery.release_id == release_id:
            at = delivery.sent_at or plan.release.send_at(delivery.tier)
            found = Assignment(
                delivery.address,
                "",
                "",
                delivery.language,
                delivery.tier,
                delivery.status.value,
                at,
            )
            return plan, found, ""
    journalist = await rt.journalists.find(key)
    if journalist is None:
        return plan, None, f"{email} is not a subscriber"
    if journalist.status is not SubscriberStatus.ACTIVE:
        reason = f" ({journalist.status_reason})" if journalist.status_reason else ""
        return plan, None, f"{email} is {journalist.status.value}{reason}: nothing is sent to them"
    reason = why_not(plan.release, journalist.subscriber, rt.regions)
    if reason:
        return plan, None, f"{email} gets no copy: {reason}"
    for tier_plan in plan.tiers:
        if tier_plan.state not in _LISTED:
            continue
        variant = _pending_variant(plan, journalist.subscriber, rt, tier_plan.tier)
        if variant is not None:
            assigned = _assigned(journalist, variant, _status_to_come(tier_plan), plan.release)
            return plan, assigned, ""
    states = ", ".join(f"{t.tier.value} {t.state.value}" for t in plan.tiers)
    return plan, None, f"{email} gets no copy: the release is {plan.state} ({states})"


_LISTED = (TierState.WILL_SEND, TierState.LATE, TierState.DRAFT)  # who would get it
# A release stopped for good, as status.state_of says it: its tiers still to come never go.
_STOPPED = {
    "withdrawn": TierState.CANCELLED,
    "cancelled": TierState.CANCELLED,
    "draft": TierState.DRAFT,
    "missing": TierState.MISSING,
}


def _status_to_come(tier_plan: TierPlan) -> str:
    return "draft" if tier_plan.state is TierState.DRAFT else WILL_SEND


async def _frame(rt: Runtime, release_id: str, now: datetime) -> ReleasePlan:
    """The release, its state and its tiers' states; the counts of tiers started."""
    rows = await rt.catalog.rows(release_id)
    if not rows:
        raise Refused("unknown", f"no release {release_id!r}")
    record = rows[0]
    release = await rt.catalog.snapshot(release_id)
    ledger = await rt.ledger.counts(release_id)
    by_status: Counter[DeliveryStatus] = Counter()
    for group, n in ledger.items():
        by_status[group.status] += n
    state = state_of(record, by_status, now, rt.settings.scheduler.max_lateness)
    tiers = [Tier.EMBARGOED, Tier.PUBLIC] if release.embargo_send_at else [Tier.PUBLIC]
    plans: list[TierPlan] = []
    for tier in tiers:
        started = _started(record, tier)
        if started is not None:
            counts = Counter(
                {(g.language, g.status.value): n for g, n in ledger.items() if g.tier is tier}
            )
            plans.append(_told(tier, started, counts, record))
        else:
            tier_state = _pending_state(record, state, tier, release, now, rt)
            plans.append(TierPlan(tier, tier_state, release.send_at(tier)))
    return ReleasePlan(release, record, state, plans, [])


def _pending_variant(
    plan: ReleasePlan, subscriber: Subscriber, rt: Runtime, tier: Tier
) -> Variant | None:
    variant = variant_in_tier(plan.release, subscriber, rt.regions, tier)
    if variant is None:
        return None
    embargo_pending = _started(plan.record, Tier.EMBARGOED) is None
    if (
        tier is Tier.PUBLIC
        and embargo_pending
        and variant_in_tier(plan.release, subscriber, rt.regions, Tier.EMBARGOED)
    ):
        return None  # the embargoed tier, still to come, serves them
    return variant


def _started(record: ReleaseRecord, tier: Tier) -> datetime | None:
    return record.embargo_started_at if tier is Tier.EMBARGOED else record.public_started_at


def _told(
    tier: Tier, started: datetime, counts: Counter[tuple[str, str]], record: ReleaseRecord
) -> TierPlan:
    statuses = {status for (_, status), n in counts.items() if n}
    if statuses & {s.value for s in UNFINISHED}:
        state = TierState.SENDING
    elif record.cancelled_at is not None and DeliveryStatus.CANCELLED.value in statuses:
        state = TierState.CANCELLED
    else:
        state = TierState.SENT
    return TierPlan(tier, state, started, counts)


def _pending_state(
    record: ReleaseRecord, state: str, tier: Tier, release: Release, now: datetime, rt: Runtime
) -> TierState:
    stopped = _STOPPED.get(state)
    if stopped is not None:
        return stopped
    due = release.send_at(tier)
    lateness = rt.settings.scheduler.max_lateness
    if due <= now and now - due > lateness and record.send_requested_at is None:
        return TierState.LATE
    return TierState.WILL_SEND


def _from_ledger(entry: Entry, release: Release) -> Assignment:
    at = entry.sent_at if entry.sent_at is not None else release.send_at(entry.tier)
    return Assignment(
        entry.address,
        entry.name,
        entry.outlet,
        entry.language,
        entry.tier,
        entry.status.value,
        at,
    )


def _assigned(
    journalist: Journalist, variant: Variant, status: str, release: Release
) -> Assignment:
    s = journalist.subscriber
    return Assignment(
        s.email,
        s.name,
        s.outlet,
        variant.language,
        variant.tier,
        status,
        release.send_at(variant.tier),
    )


def plan_document(plan: ReleasePlan) -> dict[str, Any]:
    """The plan as `plan --json` and the API give it."""
    release = plan.release
    by_variant = plan.counts()
    return {
        "release": release.id,
        "status": release.status.value,
        "state": plan.state,
        "will_send": plan.will_send,
        "publish_at": release.publish_at.isoformat(),
        "embargo_send_at": release.embargo_send_at.isoformat() if release.embargo_send_at else None,
        "tiers": [
            {
                "tier": t.tier.value,
                "state": t.state.value,
                "at": t.at.isoformat(),
                "total": t.total,
                "counts": [
                    {"language": language, "status": status, "count": n}
                    for (language, status), n in sorted(t.counts.items())
                ],
            }
            for t in plan.tiers
        ],
        "total": len(plan.assignments),
        "counts": [
            {"language": v.language, "tier": v.tier.value, "count": n}
            for v, n in sorted(
                by_variant.items(), key=lambda item: (item[0].language, item[0].tier)
            )
        ],
        "recipients": [_assignment_json(a) for a in plan.assignments],
    }


def _assignment_json(a: Assignment) -> dict[str, Any]:
    return {
        "email": a.email,
        "name": a.name,
        "outlet": a.outlet,
        "language": a.language,
        "tier": a.tier.value,
        "status": a.status,
        "send_at": a.at.isoformat() if a.at else None,
    }
