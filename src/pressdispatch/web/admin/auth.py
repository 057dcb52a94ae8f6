"""Logging in to the console, sessions and CSRF.

- The password is the value of the environment variable named by
  ``web.admin_token_env``, compared as SHA-256 digests with ``hmac.compare_digest``.
  While that variable is unset, every login is refused and no session is valid.
- A session is the cookie ``pressdispatch_admin``: a token of the project's Signer
  (purpose ``admin-session``, issued at login, valid 12 hours) whose subject is a
  random session id plus a fingerprint of the password (the Signer's MAC over its
  digest). Changing the password therefore ends every session, and the signing key
  alone cannot mint one. ``HttpOnly``, ``SameSite=Strict``, ``Path=/admin``, and
  ``Secure`` when the request came over https (``request.url.scheme``; behind a
  proxy listed in ``web.trusted_proxies``, its ``X-Forwarded-Proto``: web/proxies.py).
- Logging out clears the cookie and revokes the session id in memory until it
  would have expired anyway.
- Every state-changing form carries ``csrf``: the Signer's token for the session
  id (purpose ``admin-csrf``). A POST without a session is refused with 401, one
  with a session but without the right ``csrf`` with 403: nothing is done.
- The login form carries no CSRF token: it only checks a password the attacker
  would need to know, and the cookie is ``SameSite=Strict``.
- Failed logins: after 5 failures within 5 minutes from one client address, further
  attempts from it are refused (429) until the window has passed, without checking
  the password. The client address is ``request.client``: the peer, or behind a
  proxy listed in ``web.trusted_proxies`` the visitor it names in ``X-Forwarded-For``
  (web/proxies.py); behind an unlisted proxy, every client shares the proxy's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from pressdispatch.errors import TokenError
from pressdispatch.sizes import KiB, format_size
from pressdispatch.tokens import Signer
from pressdispatch.web.admin.common import AdminRoute, ConsoleRefusal, back, json_response, page
from pressdispatch.web.deps import web_state

__all__ = [
    "COOKIE",
    "Action",
    "ApiSession",
    "Checked",
    "EditChecked",
    "MediaChecked",
    "PageSession",
    "Session",
    "action",
    "api_session",
    "edit_action",
    "media_action",
    "page_session",
    "router",
]

router = APIRouter(route_class=AdminRoute)

COOKIE = "pressdispatch_admin"
SESSION_PURPOSE = "admin-session"
CSRF_PURPOSE = "admin-csrf"
SESSION_AGE = timedelta(hours=12)
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0  # seconds
_MAX_CLIENTS = 10_000  # failure records kept, at most
_MAX_BODY = 25 * 1024 * 1024  # bytes: the largest form (a subscriber list) accepted
_MAX_FIELDS = 50
_MAX_EDITOR_FIELDS = 2000  # every region ticked, six languages, contacts
_DESCRIPTION = 64 * KiB  # bytes: a medium's alt texts, captions, credit and licence


@dataclass
class Session:
    id: str
    csrf: str


@dataclass
class Action:
    """A POST that passed both checks: its session and its form."""

    session: Session
    form: FormData


@dataclass
class _Guard:
    """Per app, in memory: failed logins by client, and revoked sessions."""

    failures: dict[str, deque[float]] = field(default_factory=dict)
    revoked: dict[str, float] = field(default_factory=dict)  # session id → when it expires

    def blocked(self, client: str, now: float) -> bool:
        recent = self.failures.get(client)
        while recent and now - recent[0] > FAILURE_WINDOW:
            recent.popleft()
        return recent is not None and len(recent) >= MAX_FAILURES

    def failed(self, client: str, now: float) -> None:
        if len(self.failures) >= _MAX_CLIENTS:  # forget the stale ones first
            stale = [k for k, v in self.failures.items() if not v or now - v[-1] > FAILURE_WINDOW]
            for key in stale:
                del self.failures[key]
        self.failures.setdefault(client, deque(maxlen=MAX_FAILURES)).append(now)

    def revoke(self, session_id: str, now: float) -> None:
        self.revoked = {k: v for k, v in self.revoked.items() if v > now}
        self.revoked[session_id] = now + SESSION_AGE.total_seconds()


def _guard(request: Request) -> _Guard:
    guard = getattr(request.app.state, "admin_guard", None)
    if not isinstance(guard, _Guard):
        guard = request.app.state.admin_guard = _Guard()
    return guard


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.get("/admin/login", name="admin.login_form")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/admin/login", name="admin.login")
async def login(request: Request) -> Response:
    state = web_state(request)
    password = _password(request)
    if password is None:
        return _login_page(request, status_code=403)
    guard = _guard(request)
    client = request.client.host if request.client else "unknown"
    now = time.monotonic()
    if guard.blocked(client, now):
        response = _login_page(request, "Too many failed attempts: wait a few minutes.", 429)
        response.headers["Retry-After"] = str(int(FAILURE_WINDOW))
        return response
    form = await request.form(max_files=0, max_fields=10)
    given = form.get("password")
    if not isinstance(given, str) or not _same(given, password):
        guard.failed(client, now)
        return _login_page(request, "Wrong password.", 403)
    guard.failures.pop(client, None)
    signer = _signer(request)
    subject = f"{secrets.token_urlsafe(18)}:{_fingerprint(signer, password)}"
    token = signer.sign(SESSION_PURPOSE, subject, issued_at=state.clock())
    response = back("/admin")
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_AGE.total_seconds()),
        path="/admin",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def page_session(request: Request) -> Session:
    """For pages: the session, or a redirect to the login form."""
    session = _session(request)
    if session is None:
        raise ConsoleRefusal(back("/admin/login"))
    return session


async def api_session(request: Request) -> Session:
    """For JSON: the session, or 401."""
    session = _session(request)
    if session is None:
        raise ConsoleRefusal(json_response({"error": "log in at /admin/login"}, 401))
    return session


async def action(request: Request) -> AsyncIterator[Action]:
    """For POSTs: a session (else 401) and the form with its CSRF token (else 403).

    The form's uploaded files are closed once the route is done with them.
    """
    done = await _checked(request, _MAX_FIELDS)
    try:
        yield done
    finally:
        await done.form.close()


async def edit_action(request: Request) -> AsyncIterator[Action]:
    """As :func:`action`, for the release editor's form: a field per ticked region."""
    done = await _checked(request, _MAX_EDITOR_FIELDS)
    try:
        yield done
    finally:
        await done.form.close()


async def media_action(request: Request) -> AsyncIterator[Action]:
    """As :func:`action`, for a release's picture or document: a body as large as
    ``content.max_media_size`` allows, and room for its description."""
    largest = web_state(request).settings.content.max_media_size
    too_large = (
        f"This file is larger than {format_size(largest)}, the most a release's picture or "
        "document may be (content.max_media_size in config.toml): nothing was added. "
        "Go back to the editor and choose a smaller file."
    )
    done = await _checked(request, _MAX_FIELDS, largest + _DESCRIPTION, too_large)
    try:
        yield done
    finally:
        await done.form.close()


async def _checked(
    request: Request,
    max_fields: int,
    max_body: int = _MAX_BODY,
    too_large: str = "This upload is too large.",
) -> Action:
    session = _session(request)
    if session is None:
        raise ConsoleRefusal(_refusal(request, "Your session has expired: log in again.", 401))
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_body:
        raise ConsoleRefusal(_refusal(request, too_large, 413))
    form = await request.form(max_files=1, max_fields=max_fields)
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), session.csrf.encode()
    ):
        await form.close()
        raise ConsoleRefusal(_refusal(request, "This form has expired: reload the page.", 403))
    return Action(session, form)


PageSession = Annotated[Session, Depends(page_session)]
ApiSession = Annotated[Session, Depends(api_session)]
Checked = Annotated[Action, Depends(action)]
EditChecked = Annotated[Action, Depends(edit_action)]
MediaChecked = Annotated[Action, Depends(media_action)]


@router.post("/admin/logout", name="admin.logout")
async def logout(request: Request, done: Checked) -> Response:
    _guard(request).revoke(done.session.id, time.monotonic())
    response = back("/admin/login", done="logged-out")
    response.delete_cookie(
        COOKIE, path="/admin", secure=request.url.scheme == "https", httponly=True
    )
    return response


# --------------------------------------------------------------------------- #
# Sessions
# --------------------------------------------------------------------------- #


def _password(request: Request) -> str | None:
    return web_state(request).runtime.credentials.admin_token()


def _signer(request: Request) -> Signer:
    return web_state(request).runtime.renderer.signer


def _same(given: str, expected: str) -> bool:
    """Compare digests: equal length whatever was typed, constant time."""
    left = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    right = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(left, right)


def _fingerprint(signer: Signer, password: str) -> str:
    """Ties a session to the password without revealing anything about it."""
    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
    return signer.sign("admin-password", digest).rsplit(".", 1)[1]


def _session(request: Request) -> Session | None:
    token = request.cookies.get(COOKIE)
    password = _password(request)
    if not token or password is None:
        return None
    signer = _signer(request)
    try:
        subject = signer.verify(
            token, SESSION_PURPOSE, max_age=SESSION_AGE, now=web_state(request).clock()
        )
    except (TokenError, ValueError):
        return None
    session_id, _, fingerprint = subject.partition(":")
    if not hmac.compare_digest(fingerprint.encode(), _fingerprint(signer, password).encode()):
        return None
    if session_id in _guard(request).revoked:
        return None
    return Session(session_id, signer.sign(CSRF_PURPOSE, session_id))


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #


def _login_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    settings = web_state(request).settings
    context: dict[str, Any] = {
        "error": error,
        "variable": settings.web.admin_token_env,
        "configured": _password(request) is not None,
    }
    return page(request, "login.html.j2", context, status_code=status_code)


def _refusal(request: Request, message: str, status_code: int) -> Response:
    context = {"title": "Not done", "message": message}
    return page(request, "message.html.j2", context, status_code=status_code)
