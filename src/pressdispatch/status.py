"""Where each release stands: a pure summary of the store's records, for `status`, the
console and the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pressdispatch.model import UNFINISHED, DeliveryStatus, ReleaseStatus, Tier
from pressdispatch.store.catalog import ReleaseRecord
from pressdispatch.store.ledger import Delivery, DeliveryGroup
from pressdispatch.store.returns import Returned

# Policy refusals this recent make the deliverability alert (`status`, the console).
ALERT_WINDOW = timedelta(days=7)


@dataclass
class ReleaseReport:
    id: str
    # draft, scheduled, embargoed, sending, done, cancelled, withdrawn, late, missing, due
    state: str
    publish_at: datetime
    embargo_send_at: datetime | None
    changed: bool  # the files were edited after the dispatch started
    published: bool = False  # on the newsroom (or was, until withdrawn): ``published``
    by_status: Counter[DeliveryStatus] = field(default_factory=Counter)
    # language, tier, status
    by_variant: Counter[tuple[str, Tier, DeliveryStatus]] = field(default_factory=Counter)
    errors: Sequence[Delivery] = ()
    paused_at: datetime | None = None  # the circuit breaker holds it until `send`
    pause_reason: str = ""

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def state_of(
    row: ReleaseRecord, by_status: Counter[DeliveryStatus], now: datetime, max_lateness: timedelta
) -> str:
    if row.withdrawn_at is not None:
        return "withdrawn"
    if row.cancelled_at is not None:
        return "cancelled"
    if row.status is ReleaseStatus.DRAFT:
        return "draft"
    if not row.present and row.frozen_hash is None:
        return "missing"
    if row.public_started_at is not None:
        return "sending" if any(by_status[s] for s in UNFINISHED) else "done"
    publish, embargo = row.publish_at, row.embargo_send_at
    if publish <= now:
        overdue = now - publish > max_lateness and row.send_requested_at is None
        return "late" if overdue else "due"
    if row.embargo_started_at is not None:
        return "embargoed"
    if embargo is not None and embargo <= now:
        overdue = now - embargo > max_lateness and row.send_requested_at is None
        return "late" if overdue else "due"
    return "scheduled"


def published(row: ReleaseRecord, by_status: Counter[DeliveryStatus], now: datetime) -> bool:
    """Whether the release is (or was, until withdrawn) on the newsroom: its public tier
    started, or its publication time passed with anything of it sent. The store's
    ``visibility.public_at`` is the same rule, for the pages and feeds."""
    if row.public_started_at is not None:
        return True
    return row.publish_at <= now and (
        by_status[DeliveryStatus.SENT] > 0
        or (row.cancelled_at is None and row.status is ReleaseStatus.READY)
    )


def report(
    row: ReleaseRecord,
    counts: Mapping[DeliveryGroup, int],
    errors: Sequence[Delivery],
    now: datetime,
    max_lateness: timedelta,
) -> ReleaseReport:
    by_status: Counter[DeliveryStatus] = Counter()
    by_variant: Counter[tuple[str, Tier, DeliveryStatus]] = Counter()
    for group, n in counts.items():
        if group.release_id == row.id:
            by_status[group.status] += n
            by_variant[(group.language, group.tier, group.status)] += n
    frozen = row.frozen_hash
    return ReleaseReport(
        id=row.id,
        state=state_of(row, by_status, now, max_lateness),
        publish_at=row.publish_at,
        embargo_send_at=row.embargo_send_at,
        changed=frozen is not None and frozen != row.content_hash,
        published=published(row, by_status, now),
        by_status=by_status,
        by_variant=by_variant,
        errors=errors,
        paused_at=row.paused_at,
        pause_reason=row.pause_reason,
    )


@dataclass(frozen=True, slots=True)
class Deliverability:
    """Policy refusals (5.7.x, blocks) since ``since``: receiving servers refusing the
    sender, not the journalists; ``Returns.alerts`` counts them."""

    since: datetime
    refusals: int = 0
    latest: Returned | None = None

    def line(self) -> str | None:
        """The alert in one line; None while there is nothing to say."""
        if not self.refusals:
            return None
        plural = "" if self.refusals == 1 else "s"
        text = (
            f"deliverability: {self.refusals} policy refusal{plural} "
            f"in the last {ALERT_WINDOW.days} days"
        )
        if self.latest is not None:
            said = " ".join(x for x in (self.latest.status_code, self.latest.diagnostic) if x)
            text += f", latest: {said or 'no diagnostic'}"
        return text

    def as_json(self) -> dict[str, object]:
        latest = self.latest
        return {
            "policy_refusals": self.refusals,
            "since": self.since.isoformat(),
            "latest": None
            if latest is None
            else {
                "received_at": latest.received_at.isoformat(),
                "address": latest.address,
                "release": latest.release_id,
                "status": latest.status_code,
                "diagnostic": latest.diagnostic,
            },
        }
