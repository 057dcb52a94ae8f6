"""Self-service subscription with double opt-in: /subscribe, then the emailed /confirm link.

- ``GET /subscribe`` is the form, in the visitor's language (``?lang=``, then
  ``Accept-Language``, then the newsroom's default): address, name, outlet,
  languages in order of preference (among the newsroom's), M49 regions (none:
  everywhere) and the topics of public releases (none: all).
- ``POST /subscribe`` checks the form (an unknown language, region or topic, an
  address that is not one, a name or outlet with a control character: the form
  again with the errors, 400, nothing sent; a body over 64 KiB: the form with an
  error, 413), then sends ONE email with a link to ``{base_url}/confirm/{token}``
  through the configured transport, in the first chosen language (else the
  page's). The answer is the same page, byte for byte, whatever the address:
  new, subscribed, unsubscribed or bounced; nothing is stored yet and nothing
  tells whether the address is known. Per process, in memory: at most 5
  requests per 10 minutes from one client address (``request.client``, which only
  a trusted proxy may name: web/proxies.py) and 3 per hour for one email
  address; beyond, a 429 page with ``Retry-After`` and nothing is sent.
- The form shows the privacy statement (``web/privacy.py``) and sends back its
  version (field ``privacy``). A version that is no longer the current one (the
  statement changed meanwhile) is an error like the others; the current one is
  consent, carried in the token and recorded with the time of confirmation. A form
  without the field (a script) subscribes as before, with no consent recorded.
- The token is stateless: ``Signer.sign("confirm", <compact JSON of the form>,
  issued_at=now)``, valid for 48 hours. ``GET /confirm/{token}`` only asks (one
  button that POSTs to the same address: mail scanners open links);
  ``POST /confirm/{token}`` subscribes (``Journalists.confirm_signup``) and links to the
  journalist's preferences page. An expired, altered or wrong-purpose token gives
  one page, status 400, whatever the reason.

Every page is ``no-store``; the /confirm pages also send no ``Referer``, since
the token is in the address.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch.characters import bad_character, printable
from pressdispatch.content.journalists import Wrong, check_address
from pressdispatch.dispatch.transport import Envelope, Status
from pressdispatch.errors import PressDispatchError, TokenError
from pressdispatch.model import Subscriber
from pressdispatch.render import i18n
from pressdispatch.render.confirmation import render_confirmation
from pressdispatch.render.email import PREFERENCES
from pressdispatch.web.choices import (
    TOO_LARGE,
    choice_options,
    parse_choices,
    public_topics,
    read_form,
)
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.pages import render_page
from pressdispatch.web.privacy import agreed, current_statement
from pressdispatch.web.ratelimit import RateLimiter, admit

__all__ = ["CONFIRM", "LINK_LIFETIME", "OUTBOX_FOLDER", "payload", "router"]

log = logging.getLogger(__name__)

router = APIRouter()

CONFIRM = "confirm"  # the token's purpose
LINK_LIFETIME = timedelta(hours=48)
PER_CLIENT = (5, timedelta(minutes=10))  # requests that send a mail, per client address
PER_EMAIL = (3, timedelta(hours=1))  # ... per email address
MAX_LENGTH = 200  # characters of a name or an outlet
#: ``Envelope.release_id`` of confirmation emails: the outbox sub-folder they go to.
#: Release ids are slugs, without ``_``: no release can share it.
OUTBOX_FOLDER = "_confirmations"

_GET = ["GET", "HEAD"]
_NO_STORE = {"Cache-Control": "no-store"}
_PRIVATE = _NO_STORE | {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


@dataclass
class _Entry:
    """The form as sent, to show it again, and what it asks for once checked."""

    email: str = ""
    name: str = ""
    outlet: str = ""
    languages: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    def signup(self) -> Subscriber:
        return Subscriber(
            email=self.email,
            name=self.name,
            outlet=self.outlet,
            languages=tuple(self.languages),
            regions=frozenset(self.regions),
            topics=frozenset(self.topics),
        )


@dataclass
class _Limits:
    per_client: RateLimiter
    per_email: RateLimiter


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.api_route("/subscribe", methods=_GET, response_class=HTMLResponse)
async def subscribe_page(request: Request, lang: str | None = None) -> Response:
    """The empty form."""
    state = web_state(request)
    return await _form(state, _visitor_language(request, state, lang), _Entry())


@router.post("/subscribe", response_class=HTMLResponse)
async def subscribe(request: Request) -> Response:
    """Check the form, then email the confirmation link; the same answer for every address."""
    state = web_state(request)
    fields = await read_form(request)
    if fields is None:  # far larger than the form: not read, nothing sent
        lang = _visitor_language(request, state, None)
        errors = [i18n.gettext(lang, TOO_LARGE)]
        return await _form(state, lang, _Entry(), errors=errors, status_code=413)
    chosen = next((value for name, value in fields if name == "lang"), None)
    lang = _visitor_language(request, state, chosen)
    entry, errors = await _check(state, fields, lang)
    consent, changed = agreed(state, fields, lang)
    errors += [changed] if changed else []
    if errors:
        return await _form(state, lang, entry, errors=errors, status_code=400)

    limits = _limits(request, state)
    client = request.client.host if request.client else ""
    wait = admit((limits.per_client, client), (limits.per_email, entry.email.lower()))
    if wait:
        log.info("subscribe: rate limit reached (client %s); nothing sent", client)
        headers = _NO_STORE | {"Retry-After": str(wait)}
        return _page(state, lang, "too-many.html.j2", {}, status_code=429, headers=headers)

    signup = entry.signup()
    first = signup.languages[0] if signup.languages else lang
    await _send_confirmation(state, signup, first, consent)
    return _page(state, lang, "subscribe-sent.html.j2", {}, headers=_NO_STORE)


@router.api_route("/confirm/{token}", methods=_GET, response_class=HTMLResponse)
async def confirm_page(request: Request, token: str) -> Response:
    """The question and its one button; nothing changes until the button is pressed."""
    state = web_state(request)
    verified = _verified(state, token)
    if verified is None:
        return _invalid(request, state)
    signup, _ = verified
    context = {"state": "ask", "email": signup.email, "action": f"/confirm/{token}"}
    lang = _reader_language(request, state, signup)
    return _page(state, lang, "confirm.html.j2", context, headers=_PRIVATE)


@router.post("/confirm/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: str) -> Response:
    """Subscribe the address the link was sent to, with the choices it carries."""
    state = web_state(request)
    verified = _verified(state, token)
    if verified is None:
        return _invalid(request, state)
    signup, consent = verified
    await state.runtime.journalists.confirm_signup(signup, state.clock(), consent=consent)
    preferences = state.runtime.renderer.signer.sign(PREFERENCES, signup.email.lower())
    context = {
        "state": "done",
        "email": signup.email,
        "preferences_url": f"/preferences/{preferences}",
    }
    lang = _reader_language(request, state, signup)
    return _page(state, lang, "confirm.html.j2", context, headers=_PRIVATE)


# --------------------------------------------------------------------------- #
# Steps
# --------------------------------------------------------------------------- #


async def _check(
    state: WebState, fields: list[tuple[str, str]], lang: str
) -> tuple[_Entry, list[str]]:
    """The form's values, and the errors found (none: ``entry`` is a valid request).

    The address, the name and the outlet are checked as a row of a list is
    (``content/journalists.py``), with the form's own, shorter length limit.
    """
    entry = _Entry()
    raw_email = ""
    control = False
    for name, value in fields:
        if name == "email":
            raw_email = value.strip()
        elif name in ("name", "outlet"):
            control = control or bad_character(value) is not None
            setattr(entry, name, " ".join(printable(value).split()))
    chosen = parse_choices(
        fields,
        offered=state.settings.newsroom.languages,
        tree=state.runtime.regions,
        topics=await public_topics(state),
        lang=lang,
    )
    entry.languages, entry.regions, entry.topics = chosen.languages, chosen.regions, chosen.topics
    errors = chosen.errors

    address = check_address(raw_email)
    entry.email = printable(raw_email) if isinstance(address, Wrong) else address
    if isinstance(address, Wrong):
        errors.insert(0, i18n.gettext(lang, "Enter a valid email address."))
    if control:
        message = "Name and outlet: one line each, without control characters."
        errors.append(i18n.gettext(lang, message))
    if len(entry.name) > MAX_LENGTH or len(entry.outlet) > MAX_LENGTH:
        errors.append(
            i18n.gettext(lang, "Name and outlet: at most %(max)d characters each.", max=MAX_LENGTH)
        )
    return entry, errors


def payload(signup: Subscriber, consent: str = "") -> str:
    """What the confirmation token carries: the request, as compact JSON, and the
    version of the privacy statement agreed to (if any)."""
    document: dict[str, Any] = {
        "e": signup.email,
        "n": signup.name,
        "o": signup.outlet,
        "l": list(signup.languages),
        "r": sorted(signup.regions),
        "t": sorted(signup.topics),
    }
    if consent:
        document["c"] = consent
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _verified(state: WebState, token: str) -> tuple[Subscriber, str] | None:
    """The request a genuine, unexpired confirmation token carries, and the privacy
    statement's version agreed to ("" for none); None for any other token."""
    try:
        text = state.runtime.renderer.signer.verify(
            token, CONFIRM, max_age=LINK_LIFETIME, now=state.clock()
        )
        document = json.loads(text)
    except (TokenError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    email, name, outlet = (document.get(key) for key in "eno")
    lists = [document.get(key) for key in "lrt"]
    if not (isinstance(email, str) and email and isinstance(name, str) and isinstance(outlet, str)):
        return None
    if not all(
        isinstance(items, list) and all(isinstance(i, str) for i in items) for items in lists
    ):
        return None
    languages, regions, topics = cast(list[list[str]], lists)
    consent = document.get("c", "")
    if not isinstance(consent, str):
        return None
    signup = Subscriber(
        email=email,
        name=name,
        outlet=outlet,
        languages=tuple(languages),
        regions=frozenset(regions),
        topics=frozenset(topics),
    )
    return signup, consent


async def _send_confirmation(state: WebState, signup: Subscriber, lang: str, consent: str) -> None:
    """Email the link, once. A failure is logged, never shown: the page is the same."""
    settings = state.settings
    newsroom = settings.newsroom
    now = state.clock()
    token = state.runtime.renderer.signer.sign(CONFIRM, payload(signup, consent), issued_at=now)
    try:
        mail = render_confirmation(
            newsroom,
            settings.paths.templates,
            state.runtime.regions,
            signup,
            lang=lang,
            url=f"{newsroom.base_url}/confirm/{token}",
            date=now,
            topics=state.runtime.topics,
        )
        envelope = Envelope(
            sender=newsroom.from_address,
            recipient=signup.email,
            message=mail.message,
            message_id=mail.message_id,
            release_id=OUTBOX_FOLDER,
        )
        outcome = await state.runtime.transport.send(envelope)
    except (PressDispatchError, OSError):
        log.exception("subscribe: the confirmation email could not be sent")
        return
    if outcome.status is not Status.SENT:
        log.warning(
            "subscribe: the confirmation email %s was not sent (%s %s %s)",
            envelope.message_id,
            outcome.status,
            outcome.code or "",
            outcome.reply,
        )


def _limits(request: Request, state: WebState) -> _Limits:
    """This app's limiters, made on first use; they count with the app's clock."""
    limits: _Limits | None = getattr(request.app.state, "signup_limits", None)
    if limits is None:

        def clock() -> float:
            return state.clock().timestamp()

        limits = _Limits(
            RateLimiter(*PER_CLIENT, clock=clock), RateLimiter(*PER_EMAIL, clock=clock)
        )
        request.app.state.signup_limits = limits
    return limits


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #


def _visitor_language(request: Request, state: WebState, chosen: str | None) -> str:
    """``chosen`` (``?lang=`` or the form's) if offered, else Accept-Language, else default."""
    newsroom = state.settings.newsroom
    if chosen is not None and chosen.strip().lower() in newsroom.languages:
        return chosen.strip().lower()
    header = request.headers.get("accept-language", "")
    return i18n.negotiate(header, newsroom.languages) or newsroom.default_language


def _reader_language(request: Request, state: WebState, signup: Subscriber | None) -> str:
    """The journalist's first language if the newsroom offers it, else as for a visitor."""
    if signup is not None and signup.languages[:1]:
        first = signup.languages[0]
        if first in state.settings.newsroom.languages:
            return first
    return _visitor_language(request, state, None)


async def _form(
    state: WebState,
    lang: str,
    entry: _Entry,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    newsroom = state.settings.newsroom
    tree = state.runtime.regions
    languages = newsroom.languages
    context = {
        "action": "/subscribe",
        "errors": errors or [],
        "email": entry.email,
        "name": entry.name,
        "outlet": entry.outlet,
        "max_length": MAX_LENGTH,
        "privacy": current_statement(state, lang),
        **choice_options(
            tree,
            lang,
            languages=languages,
            topics=await public_topics(state),
            topic_names=state.runtime.topics,
            chosen_languages=entry.languages,
            chosen_regions=entry.regions,
            chosen_topics=entry.topics,
        ),
        "switcher": [
            {
                "lang": other,
                "name": i18n.language_name(other),
                "url": "/subscribe?" + urlencode({"lang": other}),
                "current": other == lang,
            }
            for other in languages
        ],
    }
    headers = _NO_STORE | {"Vary": "Accept-Language"}
    return _page(state, lang, "subscribe.html.j2", context, status_code, headers=headers)


def _invalid(request: Request, state: WebState) -> Response:
    """The one page for a confirmation link that is not genuine or has expired."""
    lang = _visitor_language(request, state, None)
    context = {"state": "invalid", "subscribe_url": "/subscribe?" + urlencode({"lang": lang})}
    return _page(state, lang, "confirm.html.j2", context, 400, headers=_PRIVATE)


def _page(
    state: WebState,
    lang: str,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    headers: dict[str, str],
) -> Response:
    return render_page(state, lang, template, context, headers=headers, status_code=status_code)
