"""Writing release files from the web (the JSON API and the console's editor).

Both check what they write with the loader `pressdispatch check` runs, through the
writer (content/writer.py, content/drafts.py), then read the files into the store at
once, as the next scan would, so the new text is what the console, the API and the
newsroom show from the next request on.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from pressdispatch import pipeline
from pressdispatch.content import drafts, writer
from pressdispatch.web.deps import WebState

__all__ = ["loader", "sync"]

log = logging.getLogger(__name__)


def loader(state: WebState) -> writer.Load:
    return drafts.loader(state.settings, state.runtime.regions)


async def sync(state: WebState, who: str) -> None:
    """Read the release files into the store now; ``who`` names the caller in the log."""
    try:
        await pipeline.sync_files(state.runtime, state.clock(), pipeline.TickReport(), lists=False)
    except SQLAlchemyError:  # the files are written: the next scan will bring them in
        log.exception("%s: syncing the release files into the store failed", who)
