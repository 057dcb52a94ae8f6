"""Where each release stands: a pure summary of the store's rows, for `status` and the console."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pressdispatch.model import UNFINISHED


@dataclass
class ReleaseReport:
    id: str
    state: str  # draft, scheduled, embargoed, sending, done, cancelled, late, missing, due
    publish_at: datetime
    embargo_send_at: datetime | None
    changed: bool  # the files were edited after the dispatch started
    by_status: Counter[str] = field(default_factory=Counter)
    by_variant: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # lang, tier, status
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def state_of(
    row: dict[str, Any], by_status: Counter[str], now: datetime, max_lateness: timedelta
) -> str:
    if row["cancelled_at"] is not None:
        return "cancelled"
    if row["status"] == "draft":
        return "draft"
    if not row["present"] and row["frozen_hash"] is None:
        return "missing"
    if row["public_started_at"] is not None:
        return "sending" if any(by_status[s] for s in UNFINISHED) else "done"
    publish, embargo = row["publish_at"], row["embargo_send_at"]
    if publish <= now:
        overdue = now - publish > max_lateness and row["send_requested_at"] is None
        return "late" if overdue else "due"
    if row["embargo_started_at"] is not None:
        return "embargoed"
    if embargo is not None and embargo <= now:
        overdue = now - embargo > max_lateness and row["send_requested_at"] is None
        return "late" if overdue else "due"
    return "scheduled"


def report(
    row: dict[str, Any],
    counts: dict[tuple[str, str, str, str], int],
    errors: list[dict[str, Any]],
    now: datetime,
    max_lateness: timedelta,
) -> ReleaseReport:
    by_status: Counter[str] = Counter()
    by_variant: Counter[tuple[str, str, str]] = Counter()
    for (release_id, status, language, tier), n in counts.items():
        if release_id == row["id"]:
            by_status[status] += n
            by_variant[(language, tier, status)] += n
    frozen = row["frozen_hash"]
    return ReleaseReport(
        id=row["id"],
        state=state_of(row, by_status, now, max_lateness),
        publish_at=row["publish_at"],
        embargo_send_at=row["embargo_send_at"],
        changed=frozen is not None and frozen != row["content_hash"],
        by_status=by_status,
        by_variant=by_variant,
        errors=errors,
    )
