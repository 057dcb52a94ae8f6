"""Long loops on the event loop that leave everyone else a turn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")


async def batches(items: Iterable[T], size: int, budget: float = 0.025) -> AsyncIterator[list[T]]:
    """``items`` in lists of at most ``size``, each cut short after ``budget`` seconds.

    Pulling an item may be slow (the loader parses and checks a CSV row): between two
    lists the event loop serves whatever else is waiting, a request or a ledger write.
    """
    iterator = iter(items)
    while True:
        chunk: list[T] = []
        deadline = time.perf_counter() + budget
        for item in iterator:
            chunk.append(item)
            if len(chunk) >= size or time.perf_counter() > deadline:
                break
        if not chunk:
            return
        yield chunk
        await asyncio.sleep(0)
