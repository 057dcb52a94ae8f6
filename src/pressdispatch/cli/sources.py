"""pressdispatch sources [poll]: the press office's feeds and sitemaps (``[[sources]]``).

``sources`` lists them with how each answered last; ``sources poll`` polls every
one now, as a scan of `run` does when each is due (polling.py), and prints one
line per new release: its folder, then the page it came from. For cron, or to see
what a poll brings. Exit status 1 when a source failed (the others were polled).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer
from rich.markup import escape

from pressdispatch.cli import State, app, err, fail, open_service, out
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.durations import format_duration
from pressdispatch.polling import Polled, poll_sources
from pressdispatch.store import sources as store

__all__ = ["sources_app"]

sources_app = typer.Typer(
    help="The press office's feeds and sitemaps, polled for new releases.",
    invoke_without_command=True,
)
app.add_typer(sources_app, name="sources")


@sources_app.callback()
def sources(ctx: typer.Context) -> None:
    """List the [[sources]] of config.toml and how each answered last."""
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    settings = state.settings()
    if not settings.sources:
        out.print("no [[sources]] in config.toml: see docs/sources.md", markup=False)
        return

    async def work() -> dict[str, store.SourceState]:
        async with open_service(settings) as service:
            return await store.states(service.rt.db)

    states = asyncio.run(work())
    for source in settings.sources:
        known = states.get(source.url) or store.SourceState(source.url)
        every = format_duration(source.interval or settings.scheduler.scan_interval)
        out.print(f"{source.url} ({source.status}, every {every})", markup=False)
        out.print(f"  {_line(known, settings)}", markup=False)


def _line(state: store.SourceState, settings: Settings) -> str:
    """How a source answered last, in one line (`sources`, `status`)."""
    if state.last_poll_at is None:
        return "not polled yet"
    polled = f"polled {_when(state.last_poll_at, settings)}, {state.imported} imported"
    if state.last_error:
        since = _when(state.failing_since, settings)
        return f"{polled}; failing since {since}: {state.last_error}"
    return polled


def _when(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(settings.newsroom.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@sources_app.command("poll")
def poll(ctx: typer.Context) -> None:
    """Poll every source now; print each new release's folder and the page it came from."""
    state: State = ctx.obj
    settings = state.settings()
    if not settings.sources:
        fail("no [[sources]] in config.toml: see docs/sources.md")

    async def work() -> Polled:
        async with open_service(settings) as service:
            return await poll_sources(service.rt, utc_now)

    polled = asyncio.run(work())
    if polled.busy:
        fail("another process is polling the sources now: try again in a moment")
    for new in polled.imported:
        out.print(f"{new.folder} {new.url}", markup=False)
    for failing in polled.failing:
        err.print(f"[bold red]error:[/] source {escape(failing)}")
    if polled.failing:
        raise typer.Exit(1)
