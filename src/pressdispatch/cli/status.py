"""pressdispatch status [RELEASE_ID] [--json]: where every release stands."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch.cli import State, app, fail, out
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.durations import format_duration
from pressdispatch.errors import PressDispatchError
from pressdispatch.pipeline import TickReport, sync_files
from pressdispatch.runtime import database_error
from pressdispatch.service import Service
from pressdispatch.status import ALERT_WINDOW, Deliverability, ReleaseReport, report
from pressdispatch.store import leader
from pressdispatch.store import sources as source_store
from pressdispatch.store.workers import Stoppage, Worker


@app.command()
def status(
    ctx: typer.Context,
    release_id: Annotated[str | None, typer.Argument(help="One release (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Per release: scheduled times, deliveries by status, language and tier, last errors."""
    state: State = ctx.obj
    settings = state.settings()
    try:
        reports, problems, sending = asyncio.run(_collect(settings, release_id))
    except (PressDispatchError, SQLAlchemyError, OSError) as exc:
        fail(database_error(settings, exc))
    if release_id is not None and not reports:
        fail(f"no release {release_id!r} in the store")
    if as_json:
        document = {
            "sending": _sending_json(sending),
            "deliverability": sending.deliverability.as_json(),
            "sources": [_source_json(s) for s in sending.sources],
            "releases": [_as_json(r, settings) for r in reports],
            "problems": problems,
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    _print_sending(sending, settings)
    if (alert := sending.deliverability.line()) is not None:
        out.print(alert, markup=False)
    for source in sending.sources:
        if source.last_error:
            since = _when(source.failing_since, settings)
            said = f"source {source.url}: failing since {since}: {source.last_error}"
            out.print(said, markup=False)
    for problem in problems:
        out.print(problem, markup=False)
    for r in reports:
        _print(r, settings)


@dataclass
class Sending:
    """The sending processes, why sending is stopped if it is, and whether receiving
    servers refuse the sender."""

    workers: list[Worker]
    stopped: Stoppage | None
    now: datetime
    deliverability: Deliverability
    sources: list[source_store.SourceState]  # [[sources]], as polled last
    leader: str | None = None  # the worker id of the `run` process that scans, if any


def _print_sending(sending: Sending, settings: Settings) -> None:
    if sending.stopped is not None:
        out.print(
            f"sending stopped since {_when(sending.stopped.since, settings)}: "
            f"{sending.stopped.message}",
            markup=False,
        )
    for w in sending.workers:
        ago = max(0, round((sending.now - w.heartbeat_at).total_seconds()))
        leads = ", leads the scheduler" if w.id == sending.leader else ""
        out.print(
            f"{w.kind} running on {w.host} (pid {w.pid}) since "
            f"{_when(w.started_at, settings)}, last heartbeat {ago}s ago{leads}",
            markup=False,
        )


def _sending_json(sending: Sending) -> dict[str, Any]:
    stopped = sending.stopped
    return {
        "stopped": None
        if stopped is None
        else {"message": stopped.message, "since": stopped.since.isoformat()},
        "workers": [
            {
                "kind": w.kind,
                "host": w.host,
                "pid": w.pid,
                "started_at": w.started_at.isoformat(),
                "heartbeat_at": w.heartbeat_at.isoformat(),
                "leader": w.id == sending.leader,
            }
            for w in sending.workers
        ],
    }


async def _collect(
    settings: Settings, release_id: str | None
) -> tuple[list[ReleaseReport], list[str], Sending]:
    service = await Service.open(settings)
    rt = service.rt
    try:
        now = utc_now()
        tick = TickReport()
        await sync_files(rt, now, tick)  # so status reflects the files as they are now
        counts = await rt.ledger.counts(release_id)
        reports = []
        for row in await rt.catalog.rows(release_id):
            errors = await rt.ledger.last_errors(row.id)
            reports.append(report(row, counts, errors, now, settings.scheduler.max_lateness))
        since = now - ALERT_WINDOW
        alert = Deliverability(since, *await rt.returns.alerts(since))
        polled = await source_store.states(rt.db)
        feeds = [polled.get(s.url) or source_store.SourceState(s.url) for s in settings.sources]
        sending = Sending(await rt.workers.alive(), await rt.workers.stoppage(), now, alert, feeds)
        lead = await leader.current(rt.db)
        sending.leader = None if lead is None else lead.owner
        return reports, [p.labelled() for p in tick.problems], sending
    finally:
        await service.close()


def _source_json(source: source_store.SourceState) -> dict[str, Any]:
    return {
        "url": source.url,
        "last_poll": source.last_poll_at.isoformat() if source.last_poll_at else None,
        "last_error": source.last_error or None,
        "failing_since": source.failing_since.isoformat() if source.failing_since else None,
        "imported": source.imported,
    }


def _when(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(settings.newsroom.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({settings.newsroom.timezone})"


def _print(r: ReleaseReport, settings: Settings) -> None:
    flags = " (files changed after dispatch started: not applied)" if r.changed else ""
    out.print(f"[bold]{escape(r.id)}[/]: {r.state}{escape(flags)}")
    out.print(f"  publish at {_when(r.publish_at, settings)}", markup=False)
    if r.embargo_send_at is not None:
        out.print(f"  embargoed copies at {_when(r.embargo_send_at, settings)}", markup=False)
    if r.paused_at is not None:
        out.print(
            f"  paused since {_when(r.paused_at, settings)}: {r.pause_reason}; "
            f"`pressdispatch send {r.id}` resumes it",
            markup=False,
        )
    if r.state == "late":
        out.print(
            f"  overdue by more than {format_duration(settings.scheduler.max_lateness)}: "
            f"start it with `pressdispatch send {r.id}`",
            markup=False,
        )
    if r.total:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(r.by_status.items()))
        out.print(f"  deliveries: {counts}", markup=False)
        table = Table(show_edge=False, pad_edge=False, box=None)
        for column in ("language", "tier", "status", "count"):
            table.add_column(column)
        for (language, tier, state), n in sorted(r.by_variant.items()):
            table.add_row(language, tier, state, str(n))
        out.print(Padding(table, (0, 0, 0, 4)))
    for error in r.errors:
        code = error.last_code or ""
        out.print(
            f"  {error.status}: {error.address} (attempt {error.attempts}) {code} "
            f"{error.last_reply}",
            markup=False,
        )


def _as_json(r: ReleaseReport, settings: Settings) -> dict[str, Any]:
    return {
        "id": r.id,
        "state": r.state,
        "changed": r.changed,
        "publish_at": r.publish_at.isoformat(),
        "publish_at_local": _when(r.publish_at, settings),
        "embargo_send_at": r.embargo_send_at.isoformat() if r.embargo_send_at else None,
        "paused": None
        if r.paused_at is None
        else {"since": r.paused_at.isoformat(), "reason": r.pause_reason},
        "total": r.total,
        "by_status": dict(r.by_status),
        "by_variant": [
            {"language": lang, "tier": tier, "status": state, "count": n}
            for (lang, tier, state), n in sorted(r.by_variant.items())
        ],
        "errors": [
            {
                "address": e.address,
                "status": e.status,
                "attempts": e.attempts,
                "code": e.last_code,
                "reply": e.last_reply,
                "at": e.last_attempt_at.isoformat() if e.last_attempt_at else None,
            }
            for e in r.errors
        ],
    }
