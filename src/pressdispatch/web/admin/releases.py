"""The releases: their list, one release's plan and progress, and the levers on it.

States and counts come from ``status.report`` over the store's rows, as
``pressdispatch status`` computes them. The plan counts the journalists the engine
would queue now (``matching.plan`` over the active journalists in the store,
streamed). The actions do what ``pressdispatch send``, ``cancel``, ``withdraw`` and
``retry`` do,
through the same Catalog and Ledger calls; each ends with a 303 back to the page.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pressdispatch import actions
from pressdispatch.config import Settings
from pressdispatch.errors import Refused
from pressdispatch.model import UNFINISHED, DeliveryStatus, Release, Tier, Variant
from pressdispatch.planning import release_plan
from pressdispatch.runtime import Runtime
from pressdispatch.status import ALERT_WINDOW, Deliverability, ReleaseReport, report
from pressdispatch.web.admin.auth import ApiSession, Checked, PageSession
from pressdispatch.web.admin.common import (
    AdminRoute,
    back,
    json_response,
    local_time,
    not_found,
    page,
)
from pressdispatch.web.admin.copies import sent_tests
from pressdispatch.web.admin.editor import release_folder
from pressdispatch.web.admin.levers import levers
from pressdispatch.web.admin.review import to_review
from pressdispatch.web.deps import web_state

__all__ = ["progress", "router"]

router = APIRouter(route_class=AdminRoute)
log = logging.getLogger(__name__)

# What the progress table shows per language; "queued" includes those being sent now.
COLUMNS = (
    DeliveryStatus.SENT,
    DeliveryStatus.QUEUED,
    DeliveryStatus.DEFERRED,
    DeliveryStatus.FAILED,
    DeliveryStatus.CANCELLED,
)

EMBARGO_VIEWS_SHOWN = 50  # the latest readings under embargo on the release page
# The kinds of returned mail, in the order the release page lists them.
RETURN_KINDS = ("hard", "soft", "complaint", "policy", "auto-reply", "nothing", "unrecognised")


@router.get("/admin", name="admin.releases")
async def releases(request: Request, session: PageSession) -> Response:
    state = web_state(request)
    rt, now = state.runtime, state.clock()
    counts = await rt.ledger.counts()
    titles = await rt.catalog.titles()
    lateness = state.settings.scheduler.max_lateness
    entries = []
    for row in await rt.catalog.rows():
        r = report(row, counts, [], now, lateness)
        entries.append(
            {
                "id": r.id,
                "title": titles.get(r.id, ""),
                "state": r.state,
                "changed": r.changed,
                "embargo": local_time(r.embargo_send_at, state.settings),
                "publish": local_time(r.publish_at, state.settings),
                "counts": _totals(r),
                "paused": r.paused_at is not None,
            }
        )
    since = now - ALERT_WINDOW
    context = {
        "entries": entries,
        "zone": state.settings.newsroom.timezone,
        "stopped": await _stopped(rt, state.settings),
        "deliverability": Deliverability(since, *await rt.returns.alerts(since)),
        "review": await to_review(state),
    }
    return page(request, "releases.html.j2", context, csrf=session.csrf)


@router.get("/admin/releases/{release_id}", name="admin.release")
async def release_page(request: Request, release_id: str, session: PageSession) -> Response:
    state = web_state(request)
    rt = state.runtime
    found = await _report(rt, release_id, state.clock())
    if found is None:
        return not_found(request, f"release {release_id!r}", session.csrf)
    r, release = found
    planned = await _plan(rt, release_id, state.clock())
    settings = state.settings
    context = {
        "r": r,
        "release": release,
        "title": release.translations[release.original_language].title,
        "publish": local_time(r.publish_at, settings),
        "embargo": local_time(r.embargo_send_at, settings),
        "errors": r.errors,
        "plan": sorted(planned.items(), key=lambda item: (item[0].language, item[0].tier)),
        "plan_total": sum(planned.values()),
        "will_send": r.state not in ("draft", "cancelled", "withdrawn", "missing"),
        "progress": progress(r),
        "columns": COLUMNS,
        "tiers": [Tier.PUBLIC.value] + ([Tier.EMBARGOED.value] if r.embargo_send_at else []),
        "live": _live(r),
        "stopped": await _stopped(rt, settings),
        "levers": levers(r, lambda moment: local_time(moment, settings)),
        "test_copies": sent_tests(request, release_id),
        "embargo_views": [
            {
                "address": v.address,
                "at": local_time(v.at, settings),
                "language": v.language,
                "item": v.item,
            }
            for v in await rt.embargo_views.of(release_id, limit=EMBARGO_VIEWS_SHOWN)
        ],
        "embargo_views_total": await rt.embargo_views.count(release_id),
        "paused_since": local_time(r.paused_at, settings),
        "returns": _returns(await rt.returns.counts(release_id)),
        "reading_returns": rt.return_path is not None,
        "editable": not await rt.catalog.started(release_id)
        and release_folder(state, release_id) is not None,
    }
    return page(request, "release.html.j2", context, csrf=session.csrf)


async def _stopped(rt: Runtime, settings: Settings) -> dict[str, str] | None:
    """Why sending is stopped (the transport cannot work as configured), if it is."""
    problem = await rt.workers.stoppage()
    if problem is None:
        return None
    return {"message": problem.message, "since": local_time(problem.since, settings)}


@router.get("/admin/releases/{release_id}/progress.json", name="admin.release_progress")
async def progress_json(request: Request, release_id: str, session: ApiSession) -> Response:
    state = web_state(request)
    found = await _report(state.runtime, release_id, state.clock())
    if found is None:
        return json_response({"error": f"no release {release_id!r}"}, 404)
    r, _ = found
    return json_response(
        {
            "release": r.id,
            "state": r.state,
            "total": r.total,
            "by_status": dict(r.by_status),
            "by_language": progress(r),
            "live": _live(r),
        }
    )


@router.post("/admin/releases/{release_id}/send", name="admin.release_send")
async def send(request: Request, release_id: str, done: Checked) -> Response:
    """``pressdispatch send``: start a release whose time has come (late or missed), or
    resume one the circuit breaker paused."""
    rt, now = web_state(request).runtime, web_state(request).clock()
    here = f"/admin/releases/{release_id}"
    try:
        resumed = await actions.request_send(rt, release_id, now)
    except Refused as exc:
        if exc.reason == "unknown":
            return not_found(request, f"release {release_id!r}", done.session.csrf)
        return back(here, error=exc.reason)
    if resumed:
        log.info("console: %s resumed after the circuit breaker's pause", release_id)
    return back(here, done="resumed" if resumed else "send-requested")


@router.post("/admin/releases/{release_id}/cancel", name="admin.release_cancel")
async def cancel(request: Request, release_id: str, done: Checked) -> Response:
    """``pressdispatch cancel``: stop everything not yet sent."""
    rt, now = web_state(request).runtime, web_state(request).clock()
    here = f"/admin/releases/{release_id}"
    try:
        stopped = await actions.cancel(rt, release_id, now)
    except Refused as exc:
        if exc.reason == "unknown":
            return not_found(request, f"release {release_id!r}", done.session.csrf)
        return back(here, error=exc.reason)
    return back(here, done="cancelled", n=stopped)


@router.post("/admin/releases/{release_id}/withdraw", name="admin.release_withdraw")
async def withdraw(request: Request, release_id: str, done: Checked) -> Response:
    """``pressdispatch withdraw``: take a published release off the newsroom."""
    state = web_state(request)
    here = f"/admin/releases/{release_id}"
    reason = str(done.form.get("reason", ""))
    notify = str(done.form.get("notify", "")).lower() in ("1", "on", "yes", "true")
    try:
        result = await actions.withdraw(
            state.runtime, release_id, reason, state.clock(), notify=notify
        )
    except Refused as exc:
        if exc.reason == "unknown":
            return not_found(request, f"release {release_id!r}", done.session.csrf)
        return back(here, error=exc.reason)
    state.public.expire()  # its pages answer 410 from the next request on
    if notify:
        return back(here, done="withdrawn-notify", n=result.notices)
    return back(here, done="withdrawn", n=result.stopped)


@router.post("/admin/releases/{release_id}/retry", name="admin.release_retry")
async def retry(request: Request, release_id: str, done: Checked) -> Response:
    """``pressdispatch retry``: failed and deferred deliveries back in the queue."""
    rt, now = web_state(request).runtime, web_state(request).clock()
    try:
        again = await actions.retry(rt, release_id, now)
    except Refused:
        return not_found(request, f"release {release_id!r}", done.session.csrf)
    return back(f"/admin/releases/{release_id}", done="retried", n=again)


# --------------------------------------------------------------------------- #
# Parts
# --------------------------------------------------------------------------- #


async def _report(
    rt: Runtime, release_id: str, now: datetime
) -> tuple[ReleaseReport, Release] | None:
    rows = await rt.catalog.rows(release_id)
    if not rows:
        return None
    counts = await rt.ledger.counts(release_id)
    errors = await rt.ledger.last_errors(release_id)
    lateness = rt.settings.scheduler.max_lateness
    return report(rows[0], counts, errors, now, lateness), await rt.catalog.snapshot(release_id)


async def _plan(rt: Runtime, release_id: str, now: datetime) -> Counter[Variant]:
    """Copies per language and tier, as `plan` counts them: the ledger's for a tier
    started, the journalists mailed today for a tier to come."""
    plan = await release_plan(rt, release_id, now, listed=False)
    counted: Counter[Variant] = Counter()
    for tier in plan.tiers:
        for (language, _), n in tier.counts.items():
            counted[Variant(language, tier.tier)] += n
    return counted


def _returns(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Deliveries with a return of each kind, the known kinds first."""
    order = {kind: n for n, kind in enumerate(RETURN_KINDS)}
    return sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _totals(r: ReleaseReport) -> dict[str, int]:
    return {
        "sent": r.by_status[DeliveryStatus.SENT],
        "queued": sum(r.by_status[s] for s in UNFINISHED),
        "failed": r.by_status[DeliveryStatus.FAILED],
    }


def _live(r: ReleaseReport) -> bool:
    """Whether the progress may still change by itself (the page then refreshes it)."""
    return r.state in ("due", "sending") or any(r.by_status[s] for s in UNFINISHED)


def progress(r: ReleaseReport) -> dict[str, dict[DeliveryStatus, int]]:
    """Language → deliveries by column (``queued`` counts queued and sending)."""
    table: dict[str, dict[DeliveryStatus, int]] = {}
    for (language, _tier, status), n in sorted(r.by_variant.items()):
        column = DeliveryStatus.QUEUED if status is DeliveryStatus.SENDING else status
        row = table.setdefault(language, dict.fromkeys(COLUMNS, 0))
        row[column] = row.get(column, 0) + n
    return table
