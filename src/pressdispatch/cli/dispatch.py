"""run, worker, send, cancel, withdraw, retry, send-test: the service and the press
officer's levers."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from pressdispatch import actions, eventloop, pipeline
from pressdispatch.cli import app, err, fail, open_service, out
from pressdispatch.cli.listening import (
    Host,
    Port,
    bind_inbound,
    bind_web,
    closing_all,
    stop_on_signals,
)
from pressdispatch.cli.logs import DebugSql, Verbose, setup_logging
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.credentials import Credentials
from pressdispatch.dispatch.engine import RunStats
from pressdispatch.dispatch.transport import Status
from pressdispatch.errors import Refused
from pressdispatch.model import UNFINISHED, DeliveryStatus
from pressdispatch.regions import load_regions
from pressdispatch.runtime import make_transport, renderer_for
from pressdispatch.store.ledger import DeliveryGroup

log = logging.getLogger("pressdispatch")

_OUTCOMES = (DeliveryStatus.SENT, DeliveryStatus.DEFERRED, DeliveryStatus.FAILED)


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
    host: Host = None,
    port: Port = None,
    verbose: Verbose = False,
    debug_sql: DebugSql = False,
) -> None:
    """The service: scan the files, send each release on time (scheduler + engine), and
    serve the newsroom."""
    settings = ctx.obj.settings()
    setup_logging(verbose, debug_sql)
    if once:
        raise typer.Exit(asyncio.run(_once(settings)))
    settings, sockets = bind_web(settings, host, port)
    try:
        inbound = bind_inbound(settings)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    raise typer.Exit(
        eventloop.run(_serve(settings, scheduler=True, listening=sockets, inbound=inbound))
    )


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


async def _serve(
    settings: Settings,
    *,
    scheduler: bool,
    listening: Sequence[socket.socket] = (),
    inbound: Sequence[socket.socket] = (),
) -> int:
    with closing_all([*listening, *inbound]):
        async with open_service(settings) as service:
            stop = asyncio.Event()
            with stop_on_signals(stop):
                stats = await service.run(
                    stop, worker=not scheduler, listening=listening, inbound=inbound
                )
    log.info("stopped: %s", {str(status): n for status, n in stats.outcomes.items()})
    return 0


async def _once(settings: Settings) -> int:
    async with open_service(settings) as service:
        stop = asyncio.Event()
        with stop_on_signals(stop), _progress() as progress:
            tasks: dict[str, TaskID] = {}
            # Sending starts while the plan is made: what finished before the bars exist.
            early: Counter[str] = Counter()

            async def track(report: pipeline.TickReport) -> None:
                _problems(report, settings)
                pending = _pending(await service.rt.ledger.counts())
                for rid in sorted(pending.keys() | early.keys()):
                    done = early[rid]
                    total = pending.get(rid, 0) + done
                    tasks[rid] = progress.add_task(rid, total=total, completed=done)

            def advance(release_id: str, _status: DeliveryStatus) -> None:
                if release_id in tasks:
                    progress.advance(tasks[release_id])
                else:
                    early[release_id] += 1

            done = await service.run_once(stop, on_scan=track, on_result=advance)
    _summary(done.stats, done.scan)
    if done.stopped is not None:
        err.print(f"error: sending stopped: {done.stopped}", markup=False)
        return 1
    return 1 if done.stats.outcomes[DeliveryStatus.FAILED] else 0


def _problems(report: pipeline.TickReport, settings: Settings) -> None:
    for problem in report.problems:
        err.print(problem.labelled(), markup=False)
    for due in report.late:
        err.print(
            f"late: {due.release_id} ({due.tier.value} copy) is overdue by more than "
            f"{settings.scheduler.max_lateness}; start it with "
            f"`pressdispatch send {due.release_id}`",
            markup=False,
        )


def _pending(counts: Mapping[DeliveryGroup, int]) -> dict[str, int]:
    pending: dict[str, int] = {}
    for group, n in counts.items():
        if group.status in UNFINISHED:
            pending[group.release_id] = pending.get(group.release_id, 0) + n
    return pending


@contextmanager
def _progress() -> Iterator[Progress]:
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
            f"{stats.by_release[(rid, s)]} {s}" for s in _OUTCOMES if stats.by_release[(rid, s)]
        ]
        out.print(f"{rid}: {', '.join(parts)}", markup=False)
    total = stats.outcomes
    out.print(", ".join(f"{total[s]} {s}" for s in _OUTCOMES), markup=False)


@app.command()
def send(ctx: typer.Context, release_id: str) -> None:
    """Start a release whose time has passed but which was not sent (overdue, or missed),
    or resume one paused for its bounces or complaints."""

    async def go() -> None:
        async with open_service(ctx.obj.settings()) as service:
            try:
                resumed = await actions.request_send(service.rt, release_id, service.clock())
            except Refused as exc:
                fail(str(exc))
            if resumed:
                out.print(f"{release_id}: resumed after the circuit breaker's pause", markup=False)
            out.print(
                f"{release_id}: will be sent by the running service, or now with "
                "`pressdispatch run --once`",
                markup=False,
            )

    asyncio.run(go())


@app.command()
def cancel(ctx: typer.Context, release_id: str) -> None:
    """Stop everything not yet sent of a release. Messages already sent stay sent, and a
    release already on the newsroom stays there (to take it off: withdraw)."""

    async def go() -> None:
        async with open_service(ctx.obj.settings()) as service:
            try:
                stopped = await actions.cancel(service.rt, release_id, service.clock())
            except Refused as exc:
                fail(str(exc))
            out.print(
                f"{release_id}: cancelled; {stopped} pending deliveries stopped", markup=False
            )

    asyncio.run(go())


@app.command()
def withdraw(
    ctx: typer.Context,
    release_id: str,
    reason: Annotated[
        str, typer.Option("--reason", help="Why: shown on its page and in the notices.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    notify: Annotated[
        bool,
        typer.Option("--notify", help="Send a withdrawal notice to every journalist who got it."),
    ] = False,
) -> None:
    """Take a published release off the newsroom: its pages answer 410 Gone with the
    reason, the feeds and lists drop it, and what is unsent is stopped."""

    async def go() -> None:
        async with open_service(ctx.obj.settings()) as service:
            rt = service.rt
            try:
                await actions.check_withdraw(rt, release_id, reason, service.clock())
                if not yes and not typer.confirm(
                    f"Withdraw {release_id} from the newsroom?", default=False
                ):
                    out.print("Not withdrawn: nothing changed.", markup=False)
                    raise typer.Exit(1)
                done = await actions.withdraw(
                    rt, release_id, reason, service.clock(), notify=notify
                )
            except Refused as exc:
                fail(str(exc))
            said = (
                f"{release_id}: withdrawn from the newsroom; "
                f"{done.stopped} pending deliveries stopped"
            )
            if notify:
                said += (
                    f"; {done.notices} withdrawal notices queued (sent by the running "
                    "service, or now with `pressdispatch run --once`)"
                )
            out.print(said, markup=False)

    asyncio.run(go())


@app.command()
def retry(ctx: typer.Context, release_id: str) -> None:
    """Put a release's failed and deferred deliveries back in the queue, due now."""

    async def go() -> None:
        async with open_service(ctx.obj.settings()) as service:
            try:
                again = await actions.retry(service.rt, release_id, service.clock())
            except Refused as exc:
                fail(str(exc))
            out.print(f"{release_id}: {again} deliveries queued again", markup=False)

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
    # No store needed: a test copy is rendered from the files and sent outside the ledger.
    credentials = Credentials.read(settings)
    renderer = renderer_for(settings, regions, credentials)
    try:
        envelope = actions.test_copy(
            settings, renderer, release, to, lang, embargo=embargo, now=utc_now()
        )
    except Refused as exc:
        fail(str(exc), 2 if exc.reason in ("bad-address", "bad-language") else 1)

    async def go() -> Status:
        transport = make_transport(settings, credentials)
        try:
            outcome = await transport.send(envelope)
        finally:
            await transport.close()
        code = f"{outcome.code} " if outcome.code else ""
        out.print(f"{outcome.status.value}: {code}{outcome.reply}", markup=False)
        return outcome.status

    if asyncio.run(go()) is not Status.SENT:
        raise typer.Exit(1)
