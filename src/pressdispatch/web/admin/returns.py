"""Returned mail: what came back after sending, newest first, and the messages kept.

The same rows as ``pressdispatch bounces list`` (``Returns.listed``), optionally for one
release (``?release=``). A returned message is kept for ``[bounces] keep_messages``
(90 days by default); while it is, its row links to it, served as plain text: it is
mail from strangers, so the browser must never read it as a page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from pressdispatch.durations import format_duration
from pressdispatch.web.admin.auth import PageSession
from pressdispatch.web.admin.common import AdminRoute, not_found, page
from pressdispatch.web.deps import web_state

__all__ = ["SHOWN", "router"]

router = APIRouter(route_class=AdminRoute)

SHOWN = 200  # the latest rows the page lists; `bounces list --limit` reads further back
_MAX_ID = 200  # characters of a release id taken from the query


@router.get("/admin/bounces", name="admin.bounces")
async def returned_mail(request: Request, session: PageSession, release: str = "") -> Response:
    state = web_state(request)
    rt = state.runtime
    release_id = release.strip()[:_MAX_ID] or None
    rows = await rt.returns.listed(release_id=release_id, limit=SHOWN)
    context = {
        "rows": rows,
        "release": release_id or "",
        "shown": SHOWN,
        "zone": state.settings.newsroom.timezone,
        "keep": format_duration(state.settings.bounces.keep_messages),
        "reading": rt.return_path is not None,
    }
    return page(request, "bounces.html.j2", context, csrf=session.csrf)


@router.get("/admin/bounces/{return_id}/message", name="admin.bounce_message")
async def returned_message(request: Request, return_id: int, session: PageSession) -> Response:
    """The message as it came back (its first 256 KiB), as text."""
    raw = await web_state(request).runtime.returns.message(return_id)
    if raw is None:
        return not_found(request, "kept message (it is forgotten after a while)", session.csrf)
    headers = {
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": f'inline; filename="returned-{return_id}.txt"',
    }
    return PlainTextResponse(raw, headers=headers)
