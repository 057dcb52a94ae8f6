"""run, worker, send, cancel, retry, send-test: the service and the press officer's levers."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch import actions, pipeline
from pressdispatch.cli import app, err, fail, out
from pressdispatch.cli.logs import DebugSql, Verbose, setup_logging
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.dispatch.engine import RunStats
from pressdispatch.dispatch.transport import Status
from pressdispatch.errors import PressDispatchError, Refused
from pressdispatch.regions import load_regions
from pressdispatch.runtime import (
    Runtime,
    database_error,
    make_transport,
    open_runtime,
    renderer_for,
)
from pressdispatch.schedule import Scheduler
from pressdispatch.store.schema import UNFINISHED
from pressdispatch.web.app import create_app
from pressdispatch.web.server import serve_web

log = logging.getLogger("pressdispatch")


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
    verbose: Verbose = False,
    debug_sql: DebugSql = False,
) -> None:
    """The service: scan the files, send each release on time (scheduler + engine)."""
    settings = ctx.obj.settings()
    setup_logging(verbose, debug_sql)
    code = asyncio.run(_once(settings) if once else _serve(settings, scheduler=True))
    raise typer.Exit(code)


@app.command()
def worker(
    ctx: typer.Context,
    verbose: Verbose = False,
    debug_sql: DebugSql = False,
) -> None:
    """Only the engine: send what others have queued (several workers can share PostgreSQL)."""
    settings = ctx.obj.settings()
    setup_logging(verbose, debug_sql)
    raise typer.Exit(asyncio.run(_serve(settings, scheduler=False)))


@contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve(settings: Settings, *, scheduler: bool) -> int:
    rt = await _runtime(settings)
    transport = make_transport(settings)
    engine = rt.engine(transport, kind="service" if scheduler else "worker")

    async def tick():  # type: ignore[no-untyped-def]
        report = await pipeline.tick(rt, utc_now())
        for due in report.late:
            log.warning(
                "%s is overdue (%s copy): start it with `pressdispatch send %s`",
                due.release_id,
                due.tier.value,
                due.release_id,
            )
        engine.wakeup.set()
        return await rt.catalog.next_time(utc_now())

    clock = Scheduler(tick, settings.scheduler.scan_interval, utc_now) if scheduler else None
    stop = asyncio.Event()
    try:
        with _stop_on_signals(stop):
            if clock is not None:
                clock.start()
            log.info(
                "pressdispatch %s started (%s transport)",
                "service" if scheduler else "worker",
                settings.transport.kind,
            )
            if scheduler:  # the service also serves the newsroom web app
                app = create_app(settings, runtime=rt)
                web = asyncio.create_task(
                    serve_web(app, settings.web.host, settings.web.port, stop)
                )
                log.info("newsroom at http://%s:%d/", settings.web.host, settings.web.port)
                await engine.run(stop)
                await web
            else:
                await engine.run(stop)
    finally:
        if clock is not None:
            await clock.shutdown()
        await transport.close()
        await rt.close()
    log.info("stopped: %s", dict(engine.stats.outcomes))
    return 0


async def _once(settings: Settings) -> int:
    rt = await _runtime(settings)
    transport = make_transport(settings)
    try:
        report = await pipeline.tick(rt, utc_now())
        for problem in report.problems:
            err.print(f"problem: {problem}", markup=False)
        for due in report.late:
            err.print(
                f"late: {due.release_id} ({due.tier.value} copy) is overdue by more than "
                f"{settings.scheduler.max_lateness}; start it with "
                f"`pressdispatch send {due.release_id}`",
                markup=False,
            )
        stop = asyncio.Event()
        with _stop_on_signals(stop), _progress(rt) as progress:
            counts = await rt.ledger.counts()
            pending = _pending(counts)
            tasks = {rid: progress.add_task(rid, total=n) for rid, n in sorted(pending.items())}

            def advance(release_id: str, _status: str) -> None:
                if release_id in tasks:
                    progress.advance(tasks[release_id])

            engine = rt.engine(transport, kind="once", on_result=advance)
            stats = await engine.run(stop, until_idle=True)
    finally:
        await transport.close()
        await rt.close()
    _summary(stats, report)
    if engine.problem is not None:
        err.print(f"error: sending stopped: {engine.problem}", markup=False)
        return 1
    return 1 if stats.outcomes["failed"] else 0


def _pending(counts: dict[tuple[str, str, str, str], int]) -> dict[str, int]:
    pending: dict[str, int] = {}
    for (release_id, status, _lang, _tier), n in counts.items():
        if status in UNFINISHED:
            pending[release_id] = pending.get(release_id, 0) + n
    return pending


@contextmanager
def _progress(rt: Runtime) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out,
        disable=not out.is_terminal,
        transient=False,
    )
    with progress:
        yield progress


def _summary(stats: RunStats, report: pipeline.TickReport) -> None:
    for due, queued in report.started:
        out.print(
            f"{due.release_id}: {due.tier.value} copy queued for {queued} journalists", markup=False
        )
    releases = sorted({rid for rid, _ in stats.by_release})
    for rid in releases:
        parts = [
            f"{stats.by_release[(rid, s)]} {s}"
            for s in ("sent", "deferred", "failed")
            if stats.by_release[(rid, s)]
        ]
        out.print(f"{rid}: {', '.join(parts)}", markup=False)
    total = stats.outcomes
    out.print(
        f"{total['sent']} sent, {total['deferred']} deferred, {total['failed']} failed",
        markup=False,
    )


async def _runtime(settings: Settings) -> Runtime:
    try:
        return await open_runtime(settings)
    except (PressDispatchError, SQLAlchemyError, OSError) as exc:
        fail(database_error(settings, exc))


@app.command()
def send(ctx: typer.Context, release_id: str) -> None:
    """Start a release whose time has passed but which was not sent (overdue, or missed)."""

    async def go() -> None:
        settings = ctx.obj.settings()
        rt = await _runtime(settings)
        try:
            try:
                await actions.request_send(rt, release_id, utc_now())
            except Refused as exc:
                fail(str(exc))
            out.print(
                f"{release_id}: will be sent by the running service, or now with "
                "`pressdispatch run --once`",
                markup=False,
            )
        finally:
            await rt.close()

    asyncio.run(go())


@app.command()
def cancel(ctx: typer.Context, release_id: str) -> None:
    """Stop everything not yet sent of a release. Messages already sent stay sent."""

    async def go() -> None:
        rt = await _runtime(ctx.obj.settings())
        try:
            try:
                stopped = await actions.cancel(rt, release_id, utc_now())
            except Refused as exc:
                fail(str(exc))
            out.print(
                f"{release_id}: cancelled; {stopped} pending deliveries stopped", markup=False
            )
        finally:
            await rt.close()

    asyncio.run(go())


@app.command()
def retry(ctx: typer.Context, release_id: str) -> None:
    """Put a release's failed and deferred deliveries back in the queue, due now."""

    async def go() -> None:
        rt = await _runtime(ctx.obj.settings())
        try:
            try:
                again = await actions.retry(rt, release_id, utc_now())
            except Refused as exc:
                fail(str(exc))
            out.print(f"{release_id}: {again} deliveries queued again", markup=False)
        finally:
            await rt.close()

    asyncio.run(go())


@app.command("send-test")
def send_test(
    ctx: typer.Context,
    release_id: str,
    to: Annotated[str, typer.Option("--to", help="Where to send the test.")],
    lang: Annotated[str | None, typer.Option("--lang")] = None,
    embargo: Annotated[bool, typer.Option("--embargo")] = False,
) -> None:
    """Send one copy to an address now, outside the ledger (it does not count as sent)."""
    settings = ctx.obj.settings()
    regions = load_regions()
    release = load_newsroom(settings, regions, subscribers=False).releases.get(release_id)
    if release is None:
        fail(f"no valid release {release_id!r} (run `pressdispatch check`)")
    renderer = renderer_for(settings, regions)
    try:
        envelope = actions.test_copy(
            settings, renderer, release, to, lang, embargo=embargo, now=utc_now()
        )
    except Refused as exc:
        fail(str(exc), 2 if exc.reason in ("bad-address", "bad-language") else 1)

    async def go() -> Status:
        transport = make_transport(settings)
        try:
            outcome = await transport.send(envelope)
        finally:
            await transport.close()
        code = f"{outcome.code} " if outcome.code else ""
        out.print(f"{outcome.status.value}: {code}{outcome.reply}", markup=False)
        return outcome.status

    if asyncio.run(go()) is not Status.SENT:
        raise typer.Exit(1)
