"""pressdispatch feeds --out DIR: every feed and the OPML as static files.

For any web server or CDN: ``DIR/feeds/<language>/<region>.atom|.rss`` and
``DIR/feeds.opml``, byte-identical to what the web app serves at the same
moment (the same public view, the same builder, no wall clock in the bytes).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch import pipeline
from pressdispatch.cli import State, app, fail, out
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.errors import PressDispatchError, Problem
from pressdispatch.render.feeds import FeedSite, feed_files
from pressdispatch.runtime import database_error
from pressdispatch.service import Service
from pressdispatch.web.public import PublicView

__all__ = ["export", "feeds"]


@app.command()
def feeds(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write feeds/ and feeds.opml into.")
    ],
) -> None:
    """Write every Atom and RSS feed and feeds.opml as static files."""
    state: State = ctx.obj
    settings = state.settings()
    try:
        written, unchanged, problems = asyncio.run(export(settings, out_dir, utc_now))
    except OSError as exc:
        fail(f"{out_dir}: cannot write: {exc}")
    except (PressDispatchError, SQLAlchemyError) as exc:
        fail(database_error(settings, exc))
    for problem in problems:
        out.print(problem.labelled(), markup=False)
    out.print(f"{written} files written, {unchanged} unchanged, under {out_dir}", markup=False)


async def export(
    settings: Settings, out_dir: Path, clock: Callable[[], datetime] = utc_now
) -> tuple[int, int, list[Problem]]:
    """Sync the files into the store, then write what the web app would serve now.

    A file whose bytes are already right is left alone (its mtime, which a web
    server sends as ``Last-Modified``, stays). Returns how many files were
    written, how many were unchanged, and the problems found in the files.
    """
    service = await Service.open(settings, clock=clock)
    try:
        rt = service.rt
        report = pipeline.TickReport()
        await pipeline.sync_files(rt, clock(), report)
        snapshot = await PublicView(rt.catalog, clock).current()
        site = FeedSite.of(settings, rt.regions, rt.topics)
    finally:
        await service.close()
    written = unchanged = 0
    for relative, data in feed_files(site, snapshot.releases):
        if _write(out_dir / relative, data):
            written += 1
        else:
            unchanged += 1
    return written, unchanged, report.problems


def _write(path: Path, data: bytes) -> bool:
    """Replace ``path`` whole (a web server never serves half a feed); False if already right."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True
