"""The store as the rest of pressdispatch sees it: the interfaces each part needs, as
Protocols, and the values that cross them.

The SQL classes (``Ledger``, ``Workers``, ``Catalog``, ``Journalists``) implement these;
so does ``store/memory.py`` for the engine's ports, in memory, for tests. Whoever takes
a port knows nothing of SQL:

- the engine (dispatch/engine.py, dispatch/holdings.py): ``LedgerPort``,
  ``WorkersPort``, ``Snapshots``;
- the planner (dispatch/planner.py, called by the pipeline): ``ReleasesToPlan``,
  ``Recipients``, ``PlanLedger``;
- the public newsroom (web/public.py: pages and feeds): ``PublicReleases``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pressdispatch.model import DeliveryStatus, Release, Tier
from pressdispatch.store.journalists.record import Addressee

__all__ = [
    "Beat",
    "Claim",
    "Kind",
    "LedgerPort",
    "PlanLedger",
    "Planned",
    "PublicReleases",
    "Recipients",
    "ReleasesToPlan",
    "Snapshots",
    "Update",
    "Withdrawal",
    "WorkersPort",
]


class Kind(StrEnum):
    """What a delivery sends: the release, or the notice that it was withdrawn."""

    RELEASE = "release"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A release taken off the newsroom: when, why, and its titles by language."""

    release_id: str
    at: datetime
    reason: str
    titles: dict[str, str]


@dataclass(frozen=True, slots=True)
class Planned:
    """A delivery to queue: one journalist, the language and tier they get."""

    subscriber_id: int
    language: str
    tier: Tier
    message_id: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery claimed for sending: leased to one process, under one token."""

    id: int
    release_id: str
    language: str
    tier: Tier
    message_id: str
    attempts: int  # including this one
    first_attempt_at: datetime
    address: str
    name: str
    token: str  # the claim's lease token: outcomes are recorded only with it
    kind: Kind = Kind.RELEASE


@dataclass(frozen=True, slots=True)
class Update:
    """What the engine decided after one attempt."""

    id: int
    token: str
    status: DeliveryStatus  # sent, deferred, failed
    code: int | None
    reply: str
    at: datetime
    due_at: datetime | None = None  # for deferred
    bounce: bool = False


@dataclass(frozen=True, slots=True)
class Beat:
    held: int  # deliveries the process still holds, their leases renewed
    revived: bool  # it had been taken for dead, its row removed


class LedgerPort(Protocol):
    """The deliveries, as the engine claims, sends and records them."""

    async def claim(
        self, worker_id: str, now: datetime, limit: int, lease_until: datetime
    ) -> list[Claim]:
        """Take up to ``limit`` due deliveries (queued or deferred and due, or ``sending``
        with an expired lease) of releases not cancelled (a withdrawal notice: of any
        release), to active journalists, by due time: each becomes ``sending`` under
        ``worker_id``, one new token, and the lease."""
        ...

    async def record(self, updates: Sequence[Update]) -> set[int]:
        """Write outcomes; the ids *not* written, their rows claimed under another token.

        A bounce makes the journalist bounced and stops their pending deliveries."""
        ...

    async def unclaim(self, claims: Sequence[Claim]) -> None:
        """Give back claims never tried, as they were before (with the claim's token only)."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest waiting delivery, or lease no live process renews, is due."""
        ...


class WorkersPort(Protocol):
    """The sending processes and their heartbeats, as the engine's holdings keep them."""

    async def join(self, kind: str, now: datetime) -> str:
        """Register a new process; its id."""
        ...

    async def beat(
        self,
        worker_id: str,
        kind: str,
        now: datetime,
        lease_until: datetime,
        dead_before: datetime,
    ) -> Beat:
        """Note that ``worker_id`` lives (back in, if it was taken for dead), renew the
        leases it holds, and free at once those of processes silent since ``dead_before``."""
        ...

    async def held(self, worker_id: str) -> set[int]:
        """The deliveries ``worker_id`` holds now (its leases not taken over)."""
        ...

    async def takeover_at(
        self, worker_id: str, silent_before: datetime, dead_after: timedelta
    ) -> datetime | None:
        """When the leases of other processes silent since ``silent_before`` and holding
        deliveries can be taken back (their last beat plus ``dead_after``); None if none."""
        ...

    async def leave(self, worker_id: str) -> None: ...

    async def note_stoppage(self, message: str | None, now: datetime) -> None:
        """Keep why sending stopped (None: it works again) for `status` and the console."""
        ...


class Snapshots(Protocol):
    async def snapshot(self, release_id: str) -> Release:
        """The release as it is being sent (frozen), else as the files say now."""
        ...

    async def withdrawal(self, release_id: str) -> Withdrawal | None:
        """When and why the release was withdrawn; None if it was not."""
        ...


class ReleasesToPlan(Protocol):
    async def freeze(self, release_id: str, now: datetime) -> Release:
        """Fix the text being sent and return it."""
        ...

    async def mark_started(self, release_id: str, tier: Tier, now: datetime) -> None:
        """The tier's recipients are all queued."""
        ...


class Recipients(Protocol):
    def addressees(self) -> AsyncIterator[list[Addressee]]:
        """Active journalists on at least one list, in chunks, with what decides their copy."""
        ...


class PlanLedger(Protocol):
    async def plan(self, release_id: str, rows: Sequence[Planned], now: datetime) -> int:
        """Queue deliveries, skipping journalists who have one for the release; how many."""
        ...


class PublicReleases(Protocol):
    async def public(self, now: datetime) -> list[Release]:
        """Releases the public may see at ``now``, newest first."""
        ...

    async def public_version(self, now: datetime) -> str:
        """Changes whenever ``public(now)`` changes."""
        ...

    async def next_publication(self, now: datetime) -> datetime | None:
        """When the next release becomes public."""
        ...

    async def withdrawn(self) -> list[Withdrawal]:
        """Releases taken off the newsroom: their pages answer 410 Gone."""
        ...
