"""The journalists: search, one journalist's deliveries and returned mail, suppress,
reactivate and lift a bounce.

The search reads one page (50) at a time from the store (``Journalists.search``). A
filter that names an unknown region, language or status says so and finds nobody,
rather than quietly showing everyone. Suppressing sets the status ``unsubscribed``
through ``Journalists.set_status`` (pending deliveries to the address stop, and the
lists cannot bring it back); reactivating sets ``active`` again. A ``bounced`` address
is brought back by lifting the bounce (``Returns.lift``: its score starts over, and
the decision is kept among the returns and logged). A ``complained`` one cannot be
brought back here: only a new subscription the journalist confirms through /subscribe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pressdispatch.errors import PressDispatchError
from pressdispatch.model import SubscriberStatus
from pressdispatch.regions import RegionTree
from pressdispatch.store.journalists import PER_PAGE, Found, SubscriberQuery
from pressdispatch.vocabulary import normalize_language
from pressdispatch.web.admin.auth import Checked, PageSession
from pressdispatch.web.admin.common import (
    AdminRoute,
    back,
    not_found,
    page,
)
from pressdispatch.web.deps import WebState, web_state

__all__ = ["LIFTED_BY", "SUPPRESSED", "router"]

router = APIRouter(route_class=AdminRoute)
log = logging.getLogger(__name__)

SUPPRESSED = "suppressed by the press office"
REACTIVATED = "reactivated by the press office"
# Who lifts a bounce, as the returns keep it. The console has one shared password, so
# it cannot name the press officer.
LIFTED_BY = "the press office (console)"
RETURNS_SHOWN = 10  # the latest returns on a journalist's page
_MAX_TEXT = 200
_MAX_PAGE = 1_000_000


@router.get("/admin/subscribers", name="admin.subscribers")
async def subscribers(
    request: Request,
    session: PageSession,
    q: str = "",
    region: str = "",
    language: str = "",
    status: str = "",
) -> Response:
    state = web_state(request)
    rt = state.runtime
    q = q.strip()[:_MAX_TEXT]
    raw = request.query_params.get("page", "1")
    number = min(max(int(raw), 1), _MAX_PAGE) if raw.isdigit() and len(raw) < 9 else 1
    query, problems = _query(rt.regions, q, region, language, status)
    found = Found([], 0) if problems else await rt.journalists.search(query, page=number)
    pages = max((found.total + PER_PAGE - 1) // PER_PAGE, 1)
    filters = {"q": q, "region": region.strip(), "language": language.strip(), "status": status}

    def link(n: int) -> str:
        return "/admin/subscribers?" + urlencode({**filters, "page": str(n)})

    context: dict[str, Any] = {
        "filters": filters,
        "statuses": list(SubscriberStatus),
        "languages": state.settings.newsroom.languages,
        "problems": problems,
        "journalists": found.journalists,
        "total": found.total,
        "page_number": number,
        "pages": pages,
        "previous": link(number - 1) if number > 1 else "",
        "next": link(number + 1) if number < pages else "",
    }
    return page(request, "subscribers.html.j2", context, csrf=session.csrf)


@router.get("/admin/subscribers/{email}", name="admin.subscriber")
async def subscriber(request: Request, email: str, session: PageSession) -> Response:
    state = web_state(request)
    journalist = await state.runtime.journalists.find(email)
    if journalist is None:
        return not_found(request, f"journalist {email!r}", session.csrf)
    deliveries = await state.runtime.ledger.deliveries_to(email)
    returns = await state.runtime.returns.listed(subscriber_id=journalist.id, limit=RETURNS_SHOWN)
    context = {
        "j": journalist,
        "deliveries": deliveries,
        "returns": returns,
        "returns_shown": RETURNS_SHOWN,
        "soft_limit": state.settings.bounces.soft_limit,
        "url": _url(journalist.email),
        "topics": _topic_names(state, journalist.subscriber.topics),
    }
    return page(request, "subscriber.html.j2", context, csrf=session.csrf)


def _topic_names(state: WebState, slugs: Iterable[str]) -> list[str]:
    """``Food security (food)``: the name readers see, and the slug the files use."""
    names = state.runtime.topics.named(slugs, state.settings.newsroom.default_language)
    return [name if name == slug else f"{name} ({slug})" for slug, name in names]


@router.post("/admin/subscribers/{email}/suppress", name="admin.subscriber_suppress")
async def suppress(request: Request, email: str, done: Checked) -> Response:
    unsubscribed = SubscriberStatus.UNSUBSCRIBED
    return await _set(request, email, unsubscribed, SUPPRESSED, "suppressed", done.session.csrf)


@router.post("/admin/subscribers/{email}/reactivate", name="admin.subscriber_reactivate")
async def reactivate(request: Request, email: str, done: Checked) -> Response:
    """Mail an unsubscribed address again; a bounced one has its bounce lifted."""
    journalist = await web_state(request).runtime.journalists.find(email)
    if journalist is None:
        return not_found(request, f"journalist {email!r}", done.session.csrf)
    if journalist.status in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
        return await _lift(request, journalist.email, journalist.status)
    active = SubscriberStatus.ACTIVE
    return await _set(request, email, active, REACTIVATED, "reactivated", done.session.csrf)


@router.post("/admin/subscribers/{email}/lift", name="admin.subscriber_lift")
async def lift(request: Request, email: str, done: Checked) -> Response:
    """Lift a bounced status: the address is mailed again, its score starts over."""
    journalist = await web_state(request).runtime.journalists.find(email)
    if journalist is None:
        return not_found(request, f"journalist {email!r}", done.session.csrf)
    return await _lift(request, journalist.email, journalist.status)


async def _lift(request: Request, email: str, status: SubscriberStatus) -> Response:
    if status is SubscriberStatus.COMPLAINED:
        return back(_url(email), error="complained")
    state = web_state(request)
    if not await state.runtime.returns.lift(email, state.clock(), by=LIFTED_BY):
        return back(_url(email), error="not-bounced")  # changed since the page was shown
    log.info("console: the bounced status of %s was lifted by %s", email, LIFTED_BY)
    return back(_url(email), done="lifted")


async def _set(
    request: Request, email: str, status: SubscriberStatus, reason: str, flash: str, csrf: str
) -> Response:
    state = web_state(request)
    if not await state.runtime.journalists.set_status(email, status, reason, state.clock()):
        return not_found(request, f"journalist {email!r}", csrf)
    return back(_url(email.lower()), done=flash)


def _query(
    tree: RegionTree, q: str, region: str, language: str, status: str
) -> tuple[SubscriberQuery, list[str]]:
    """The search's filters in canonical form, and what is wrong with them."""
    problems: list[str] = []
    known = {s.value: s for s in SubscriberStatus}
    region_slug = language_code = ""
    if region.strip():
        try:
            region_slug = tree.resolve(region)
        except PressDispatchError:
            problems.append(f"unknown region {region.strip()[:60]!r}")
    if language.strip():
        try:
            language_code = normalize_language(language)
        except PressDispatchError:
            problems.append(f"unknown language {language.strip()[:60]!r}")
    if status and status not in known:
        problems.append(f"unknown status {status[:60]!r}")
    return SubscriberQuery(q, region_slug, language_code, known.get(status)), problems


def _url(email: str) -> str:
    return "/admin/subscribers/" + quote(email, safe="@")
