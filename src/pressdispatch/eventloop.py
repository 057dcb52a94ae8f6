"""The event loop of the long-running commands (``serve``, ``run``): uvloop's where installed.

uvicorn picks uvloop only when it runs the loop itself; ``serve`` and ``run`` run
uvicorn inside their own loop (web/server.py), so they choose it here. uvloop is
a dependency wherever it builds (not on Windows, not on PyPy); elsewhere the
standard loop does the same work, more slowly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_uvloop: Callable[[], asyncio.AbstractEventLoop] | None
try:
    from uvloop import new_event_loop as _uvloop
except ImportError:  # a platform without it
    _uvloop = None

__all__ = ["loop_factory", "run"]

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop`` if it is installed, else None (asyncio's own)."""
    return _uvloop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop's loop where it is installed."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
