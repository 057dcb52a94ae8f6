"""Time, injected: every part that reads the time takes one of these, so tests can set it.

``Clock`` tells the time of day (aware UTC datetimes, stored and compared);
``Timer`` measures intervals (monotonic seconds, only compared with each other).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "Timer", "monotonic", "utc_now"]

Clock = Callable[[], datetime]
Timer = Callable[[], float]
monotonic: Timer = time.monotonic


def utc_now() -> datetime:
    return datetime.now(UTC)
