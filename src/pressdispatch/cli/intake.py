"""pressdispatch import SOURCE...: releases from the press office's website, as drafts.

Each SOURCE (an http(s) URL, a saved ``.html`` page, a ``.txt`` of a page's text, or
``-`` for standard input) becomes one release folder (intake/importer.py); the
command prints its path, then what the press officer should check. A source that
fails writes nothing and is reported; the others are still imported. Exit status
0 when every source was imported (or had been before), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from pressdispatch.cli import State, app, err, fail, open_service, out
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.durations import parse_duration
from pressdispatch.intake.fetch import client
from pressdispatch.intake.importer import ImportFailed, Options, import_source
from pressdispatch.intake.provenance import imported_urls
from pressdispatch.regions import load_regions

__all__ = ["import_"]

log = logging.getLogger(__name__)


@app.command("import")
def import_(
    ctx: typer.Context,
    sources: Annotated[
        list[str],
        typer.Argument(help="URLs, saved .html pages, .txt files of a page's text, or -."),
    ],
    lang: Annotated[
        str | None, typer.Option("--lang", help="The source's language, if its clues are wrong.")
    ] = None,
    release_id: Annotated[
        str | None, typer.Option("--id", help="The release's id (one source only).")
    ] = None,
    status: Annotated[
        str, typer.Option("--status", help="draft (never sent until approved) or ready.")
    ] = "draft",
    publish_at: Annotated[
        str | None,
        typer.Option("--publish-at", help="2026-12-01T10:00 (newsroom's time zone) or +01:00."),
    ] = None,
    hold: Annotated[
        str, typer.Option("--hold", help="publish_at is at least this long from now.")
    ] = "1h",
    topics: Annotated[
        list[str] | None, typer.Option("--topic", help="A topic to give the release (repeat).")
    ] = None,
    no_translations: Annotated[
        bool, typer.Option("--no-translations", help="Do not follow the page's hreflang links.")
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Rewrite an earlier import of the URL (drafts only).")
    ] = False,
) -> None:
    """Import press releases from the press office's website, or from saved pages."""
    state: State = ctx.obj
    settings = state.settings()
    if status not in ("draft", "ready"):
        fail("--status is draft or ready")
    if release_id is not None and len(sources) > 1:
        fail("--id names one release: give one source")
    if sources.count("-") > 1:
        fail("standard input can be read once")
    try:
        options = Options(
            language=lang.strip().lower() if lang else None,
            release_id=release_id,
            status=status,
            publish_at=_time(publish_at, settings) if publish_at else None,
            hold=parse_duration(hold),
            translations=not no_translations,
            update=update,
            topics=tuple(topics or ()),
        )
    except ValueError as exc:
        fail(str(exc))
    stdin = sys.stdin.buffer.read() if "-" in sources else None
    failed = asyncio.run(_import_all(settings, sources, options, stdin))
    if failed:
        raise typer.Exit(1)


async def _import_all(
    settings: Settings, sources: list[str], options: Options, stdin: bytes | None
) -> int:
    regions = load_regions()
    known = imported_urls(settings.paths.releases)  # read once for every source
    failed = 0
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(client())
        started = None
        if options.update:  # only a draft not yet sent is rewritten: the store says
            service = await stack.enter_async_context(open_service(settings))
            started = service.rt.catalog.started
        for source in sources:
            try:
                done = await import_source(
                    source,
                    settings,
                    regions,
                    utc_now(),
                    options,
                    client=http,
                    stdin=stdin,
                    started=started,
                    known=known,
                )
            except ImportFailed as exc:
                err.print(f"[bold red]error:[/] {escape(str(exc))}")
                failed += 1
                continue
            except Exception as exc:  # a reader tripping on odd input: the others go on
                log.debug("importing %s", source, exc_info=True)
                err.print(f"[bold red]error:[/] {escape(source)}: could not be read ({exc!r})")
                failed += 1
                continue
            out.print(str(done.folder), markup=False)
            for note in done.notes:
                out.print(f"  check: {note}", markup=False)
    return failed


def _time(text: str, settings: Settings) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--publish-at: not a date and time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.newsroom.zone)
    return moment
