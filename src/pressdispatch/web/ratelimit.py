"""In-memory sliding-window rate limits, one process each.

    per_client = RateLimiter(5, timedelta(minutes=10), clock=...)
    per_email = RateLimiter(3, timedelta(hours=1), clock=...)
    wait = admit((per_client, "192.0.2.1"), (per_email, "ana@example.org"))
    if wait:  # refused: nothing was counted; try again in ``wait`` seconds
        ...

A key may be used ``limit`` times in any ``window``. Only admitted uses are
counted, so a refused attempt does not push the next chance further away. The
limiter forgets a key once its window has passed, so memory follows recent
use, not history. It is not shared between processes: with several workers,
each allows the limit. A key is only as good as its source: client addresses
come from ``request.client``, which web/proxies.py lets only a trusted proxy
name.
"""

from __future__ import annotations

import math
import time
from collections import deque
from datetime import timedelta

from pressdispatch.clock import Timer

__all__ = ["RateLimiter", "admit"]


class RateLimiter:
    """At most ``limit`` uses of each key in any ``window``."""

    __slots__ = ("_clock", "_next_sweep", "_uses", "limit", "window")

    def __init__(self, limit: int, window: timedelta, *, clock: Timer = time.monotonic) -> None:
        if limit < 1 or window <= timedelta(0):
            raise ValueError("a rate limit needs a positive limit and window")
        self.limit = limit
        self.window = window.total_seconds()
        self._clock = clock
        self._uses: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    def wait(self, key: str) -> float:
        """Seconds before ``key`` may be used again; 0.0 when it may be used now."""
        now = self._clock()
        uses = self._uses.get(key)
        if uses is None:
            return 0.0
        self._expire(uses, now)
        if len(uses) < self.limit:
            return 0.0
        return uses[0] + self.window - now

    def record(self, key: str) -> None:
        """Count one use of ``key`` now (whether or not it was over the limit)."""
        now = self._clock()
        uses = self._uses.setdefault(key, deque())
        self._expire(uses, now)
        uses.append(now)
        self._sweep(now)

    def __len__(self) -> int:
        """How many keys are remembered (for tests and metrics)."""
        return len(self._uses)

    def _expire(self, uses: deque[float], now: float) -> None:
        while uses and uses[0] <= now - self.window:
            uses.popleft()

    def _sweep(self, now: float) -> None:
        """Forget keys whose every use is older than the window (at most once a window)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        horizon = now - self.window
        for key in [key for key, uses in self._uses.items() if not uses or uses[-1] <= horizon]:
            del self._uses[key]


def admit(*checks: tuple[RateLimiter, str]) -> int:
    """Count one use of every (limiter, key) if all allow it, and return 0.

    Otherwise count nothing and return the whole seconds to wait (for
    ``Retry-After``): the longest wait among the limits that refuse.
    """
    wait = max((limiter.wait(key) for limiter, key in checks), default=0.0)
    if wait > 0:
        return max(1, math.ceil(wait))
    for limiter, key in checks:
        limiter.record(key)
    return 0
