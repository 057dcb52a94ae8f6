"""Long loops beside the event loop, leaving it free for everyone else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


async def batches(
    items: Iterable[T], size: int, budget: float = 0.05
) -> AsyncGenerator[list[T], None]:
    """``items`` in lists of at most ``size``, each cut short after ``budget`` seconds.

    Pulling an item may be slow (the loader parses and checks a CSV row), so the items
    are pulled on a worker thread, one list at a time: meanwhile the event loop serves
    requests and the store's other work, and a request never waits for a whole list.
    The next list is pulled while the caller works on this one (a list sync writes it
    to the database, which lets go of the interpreter while it writes). Close the
    iterator when leaving early (``contextlib.aclosing``): the pull under way is then
    waited for, so nothing else touches ``items`` meanwhile.
    """
    iterator = iter(items)
    ahead = asyncio.ensure_future(asyncio.to_thread(_take, iterator, size, budget))
    try:
        while chunk := await ahead:
            ahead = asyncio.ensure_future(asyncio.to_thread(_take, iterator, size, budget))
            yield chunk
    finally:
        if not ahead.done():
            await asyncio.shield(ahead)


def _take(iterator: Iterator[T], size: int, budget: float) -> list[T]:
    chunk: list[T] = []
    deadline = time.perf_counter() + budget
    for item in iterator:
        chunk.append(item)
        if len(chunk) >= size or time.perf_counter() > deadline:
            break
    return chunk
