"""What every console route shares: its route class (security headers, refusals), pages.

Every response under ``/admin`` carries ``Cache-Control: no-store``,
``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin`` unless the route set
its own (the email preview may be framed by the console). Pages also get a
Content-Security-Policy that allows only their own inline style and the one inline
script they carry (by nonce).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from pressdispatch.config import Settings
from pressdispatch.render.pages import page_environment
from pressdispatch.web.deps import web_state

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
    "connect-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

# Flash messages after an action (``?done=`` and ``?error=``): fixed texts, so a link
# someone crafts cannot make the console say anything else. ``{n}`` is ``?n=``.
DONE = {
    "send-requested": "Sending requested: the running service starts it at its next scan "
    "(or now with `pressdispatch run --once`).",
    "cancelled": "Cancelled: {n} pending deliveries stopped. Messages already sent stay sent, "
    "and a release already on the newsroom stays there (to take it off: Withdraw).",
    "withdrawn": "Withdrawn: its pages answer “withdrawn” with the reason, the feeds dropped "
    "it, {n} pending deliveries stopped.",
    "withdrawn-notify": "Withdrawn: its pages answer “withdrawn” with the reason, the feeds "
    "dropped it; {n} withdrawal notices go out with the running service.",
    "retried": "{n} failed or deferred deliveries are queued again.",
    "test-sent": "Test copy sent: “Test copies” below says where it went. "
    "It is not recorded as a delivery.",
    "suppressed": "Suppressed: this journalist gets nothing more (pending deliveries stopped).",
    "reactivated": "Reactivated: this journalist gets the next matching releases.",
    "resumed": "Resumed: the circuit breaker's pause is lifted, and the running service "
    "sends the rest at its next scan (or now with `pressdispatch run --once`).",
    "lifted": "Bounced status lifted: this journalist gets the next matching releases. "
    "Their soft bounce score starts over; the count and the last diagnostic are kept.",
    "logged-out": "You are logged out.",
    "created": "Saved: the release is written to its folder, checked as `pressdispatch check` "
    "checks it, and in the store.",
    "saved": "Saved: the release's files are rewritten and checked, and the store has "
    "the new text.",
    "media-added": "Added: the file is in the release's media/ folder and described in "
    "release.toml, checked as `pressdispatch check` checks it.",
    "media-removed": "Removed: the file and its description are gone from the release's folder.",
    "approved": "Approved: the release is ready, and goes out by itself at its publication time.",
    "imported": "Imported as a draft: check it against what the importer says below, save it, "
    "then approve it on the releases page (a draft is never sent).",
    "imported-before": "This page was imported before: here is its release, unchanged.",
}
ERRORS = {
    "not-found": "No such release in the store.",
    "not-ready": "This release is a draft or cancelled: it cannot be sent.",
    "missing": "The files of this release are missing or broken (run `pressdispatch check`).",
    "not-due": "This release is scheduled for later: it starts by itself then "
    "(edit publish_at to send it earlier).",
    "bad-address": "The test address is not a valid email address.",
    "no-language": "This release has no version in that language.",
    "no-embargo": "This release has no embargoed copy.",
    "done": "This release has gone out in full: nothing to cancel. To take it off the "
    "newsroom, withdraw it.",
    "withdrawn": "This release was withdrawn already.",
    "not-published": "This release is not on the newsroom: there is nothing to withdraw "
    "(to stop it, cancel it).",
    "no-reason": "Say why it is withdrawn: the reason is shown on its page.",
    "long-reason": "The reason is too long (1000 characters at most).",
    "test-failed": "The mail server did not accept the test copy (reply code {n}).",
    "not-bounced": "This journalist is not bounced: there is no bounce to lift.",
    "complained": "This journalist reported a release as spam: the console cannot bring "
    "them back. Only a new subscription they confirm through /subscribe does.",
    "bad-time": "Not approved: give the publication time as a date and a time.",
    "past-time": "Not approved: that publication time has passed, and a ready release would go "
    "out at once. Choose a later time.",
    "past-embargo": "Not approved: its embargo time has passed, and the embargoed copies would go "
    "out at once. Change or remove the embargo in the editor first.",
}


class ConsoleRefusal(Exception):
    """Raised by a route's dependencies to answer at once (login page, 401, 403)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class AdminRoute(APIRoute):
    """Answers ``ConsoleRefusal`` with its response; adds the console's headers to every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except ConsoleRefusal as refused:
                response = refused.response
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return guarded


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    csrf: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """A console page: ``templates/admin/<template>``, autoescaped, with its flash message."""
    state = web_state(request)
    nonce = secrets.token_urlsafe(16)
    values = {
        "newsroom": state.settings.newsroom,
        "csrf": csrf,
        "nonce": nonce,
        "flash": _flash(request),
        "quote": lambda value: quote(str(value), safe="@"),
        "local": lambda moment: local_time(moment, state.settings),
        **context,
    }
    env = page_environment(state.settings.paths.templates / "admin", "en")
    html = env.get_template(template).render(values)
    headers = {"Content-Security-Policy": _CSP.format(nonce=nonce)}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def not_found(request: Request, what: str, csrf: str = "") -> HTMLResponse:
    return page(request, "not-found.html.j2", {"what": what}, csrf=csrf, status_code=404)


def json_response(document: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(document, status_code=status_code)


def back(path: str, **query: str | int) -> Response:
    """303 to a console page after an action, with its flash message in the query."""
    target = path + ("?" + urlencode(query) if query else "")
    return Response(status_code=303, headers={"Location": target})


def local_time(moment: datetime | None, settings: Settings) -> str:
    """``2026-12-01 10:00 CET (Europe/Paris)``: the newsroom's zone, named."""
    if moment is None:
        return "-"
    local = moment.astimezone(settings.newsroom.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({settings.newsroom.timezone})"


def _flash(request: Request) -> dict[str, str] | None:
    params = request.query_params
    count = params.get("n", "")
    n = count if count.isdigit() else "?"
    if (done := params.get("done")) in DONE:
        return {"kind": "done", "text": DONE[done].format(n=n)}
    if (error := params.get("error")) in ERRORS:
        return {"kind": "error", "text": ERRORS[error].format(n=n)}
    return None
