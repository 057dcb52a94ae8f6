"""Unsubscribing and preferences: the pages behind the signed links in every email.

Every email carries ``List-Unsubscribe: <{base_url}/unsubscribe/{token}>`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, and a link to
``{base_url}/preferences/{token}``. The tokens are signed by ``render/email.py``
for one purpose each (``unsubscribe``, ``preferences``) and never expire.

- ``GET /unsubscribe/{token}`` only asks: one button that POSTs to the same address.
  A GET never changes anything, because link scanners and previews fetch links.
- ``POST /unsubscribe/{token}`` is RFC 8058 one-click: mail providers POST
  ``List-Unsubscribe=One-Click`` (urlencoded or multipart, no cookies). Whatever
  the body, the address is unsubscribed at once (its pending deliveries are
  cancelled) and the answer is 200 with a short page: no redirect, no cookie, no
  second step. A second POST answers the same, and so does a valid token for an
  address the store does not know: the page never tells whether an address is known.
- ``GET /preferences/{token}`` shows the journalist's languages (in order of
  preference, among the newsroom's), regions and topics; ``POST`` saves them
  (an unknown value: the form again with the error, 400, nothing saved), or
  unsubscribes when ``action=unsubscribe``. The page shows the privacy statement
  (``web/privacy.py``) and the form sends back its version (``privacy``): saving with
  a version that is not the journalist's recorded one records it, with the time, as
  their consent; one that is no longer current (the statement changed meanwhile) is
  an error, and nothing is saved. An unsubscribed, bounced or complained
  address sees that it is unsubscribed; it is not reactivated here, and a complained
  one stays ``complained`` (only a new opt-in through /subscribe revives it).
- A tampered, malformed or wrong-purpose token gives one page, status 400, the
  same whatever the reason.

Page language: the journalist's first language if the newsroom offers it, else
``Accept-Language``, else the newsroom's default. Every page is ``no-store`` and
``no-referrer``, since the token is in the address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch.errors import TokenError
from pressdispatch.model import Subscriber, SubscriberStatus
from pressdispatch.render import i18n
from pressdispatch.render.email import PREFERENCES, UNSUBSCRIBE
from pressdispatch.store.journalists import Journalist
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

__all__ = ["router"]

router = APIRouter()

_GET = ["GET", "HEAD"]
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
# Recorded as the status reason, for the press office.
_BY_LINK = "unsubscribe link"
_BY_PREFERENCES = "preferences page"


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.api_route("/unsubscribe/{token}", methods=_GET, response_class=HTMLResponse)
async def unsubscribe_page(request: Request, token: str) -> Response:
    """The question and its one button; nothing changes until the button is pressed."""
    state = web_state(request)
    email = _subject(state, token, UNSUBSCRIBE)
    if email is None:
        return _invalid(request, state)
    person = await state.runtime.journalists.find(email)
    context = {"done": False, "email": email, "action": f"/unsubscribe/{token}"}
    return _page(state, _language(request, state, person), "unsubscribe.html.j2", context)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058 one-click, and the page's button: unsubscribe now, whatever the body."""
    state = web_state(request)
    email = _subject(state, token, UNSUBSCRIBE)
    if email is None:
        return _invalid(request, state)
    person = await _unsubscribe(state, email, _BY_LINK)
    return _unsubscribed(request, state, email, person)


@router.api_route("/preferences/{token}", methods=_GET, response_class=HTMLResponse)
async def preferences_page(request: Request, token: str) -> Response:
    """The journalist's current choices, as a form."""
    state = web_state(request)
    email = _subject(state, token, PREFERENCES)
    if email is None:
        return _invalid(request, state)
    person = await state.runtime.journalists.find(email)
    if person is None or person.status is not SubscriberStatus.ACTIVE:
        return _unsubscribed(request, state, email, person)
    return await _preferences(request, state, token, person)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def save_preferences(request: Request, token: str) -> Response:
    """Save the choices (all or nothing), or unsubscribe when ``action=unsubscribe``."""
    state = web_state(request)
    email = _subject(state, token, PREFERENCES)
    if email is None:
        return _invalid(request, state)
    form = await read_form(request)
    journalists = state.runtime.journalists
    if form is not None and ("action", "unsubscribe") in form:
        person = await _unsubscribe(state, email, _BY_PREFERENCES)
        return _unsubscribed(request, state, email, person)
    person = await journalists.find(email)
    if person is None or person.status is not SubscriberStatus.ACTIVE:
        return _unsubscribed(request, state, email, person)

    if form is None:  # far larger than the form: nothing saved
        errors = [i18n.gettext(_language(request, state, person), TOO_LARGE)]
        return await _preferences(request, state, token, person, errors=errors, status_code=413)
    lang = _language(request, state, person)
    chosen = parse_choices(
        form,
        offered=_offered_languages(state, person.subscriber),
        tree=state.runtime.regions,
        topics=None,  # any topic: the journalist may keep one no current release has
        lang=lang,
    )
    consent, changed = agreed(state, form, lang)
    errors = chosen.errors + ([changed] if changed else [])
    if errors:
        return await _preferences(request, state, token, person, errors=errors, status_code=400)
    now = state.clock()
    if consent == person.consent_version:
        consent = ""  # agreed to already: the time of consent stays
    await journalists.set_preferences(
        email, chosen.languages, chosen.regions, chosen.topics, now, consent=consent
    )
    saved = await journalists.find(email)
    if saved is None:  # removed from the store meanwhile
        return _unsubscribed(request, state, email, saved)
    return await _preferences(request, state, token, saved, saved_now=True)


# --------------------------------------------------------------------------- #
# Steps
# --------------------------------------------------------------------------- #


def _subject(state: WebState, token: str, purpose: str) -> str | None:
    """The address a genuine ``purpose`` token names; None for any other token."""
    try:
        return state.runtime.renderer.signer.verify(token, purpose)
    except (TokenError, ValueError):
        return None


# An address in one of these is left as it is. ``complained`` stays: only a new
# opt-in revives it, whereas the console may reactivate an unsubscribed address. A
# bounced one becomes unsubscribed, so that lifting the bounce cannot mail it again.
_KEPT = frozenset({SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.COMPLAINED})


async def _unsubscribe(state: WebState, email: str, reason: str) -> Journalist | None:
    """Unsubscribe ``email`` unless it already is (or complained); the journalist as
    they were before."""
    journalists = state.runtime.journalists
    person = await journalists.find(email)
    if person is not None and person.status not in _KEPT:
        await journalists.set_status(email, SubscriberStatus.UNSUBSCRIBED, reason, state.clock())
    return person


def _offered_languages(state: WebState, subscriber: Subscriber) -> list[str]:
    """The newsroom's languages, then any other the journalist has (kept, not offered)."""
    offered = list(state.settings.newsroom.languages)
    return offered + [code for code in subscriber.languages if code not in offered]


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #


def _language(request: Request, state: WebState, person: Journalist | None) -> str:
    newsroom = state.settings.newsroom
    if person is not None and person.subscriber.languages[:1]:
        first = person.subscriber.languages[0]
        if first in newsroom.languages:
            return first
    header = request.headers.get("accept-language", "")
    return i18n.negotiate(header, newsroom.languages) or newsroom.default_language


async def _preferences(
    request: Request,
    state: WebState,
    token: str,
    person: Journalist,
    *,
    errors: Sequence[str] = (),
    saved_now: bool = False,
    status_code: int = 200,
) -> Response:
    subscriber = person.subscriber
    lang = _language(request, state, person)
    tree = state.runtime.regions
    languages = _offered_languages(state, subscriber)
    known_topics = set(await public_topics(state))
    context = {
        "email": subscriber.email,
        "name": subscriber.name,
        "outlet": subscriber.outlet,
        "action": f"/preferences/{token}",
        "saved": saved_now,
        "errors": list(errors),
        "privacy": current_statement(state, lang),
        **choice_options(
            tree,
            lang,
            languages=languages,
            topics=sorted(known_topics | subscriber.topics),
            topic_names=state.runtime.topics,
            chosen_languages=subscriber.languages,
            chosen_regions=subscriber.regions,
            chosen_topics=subscriber.topics,
        ),
    }
    return _page(state, lang, "preferences.html.j2", context, status_code)


def _unsubscribed(
    request: Request, state: WebState, email: str, person: Journalist | None
) -> Response:
    """The same page for everyone: unsubscribed now, before, bounced or unknown."""
    context = {"done": True, "email": email, "action": ""}
    return _page(state, _language(request, state, person), "unsubscribe.html.j2", context)


def _invalid(request: Request, state: WebState) -> Response:
    """The one page for a token that is not genuine, whatever is wrong with it."""
    return _page(state, _language(request, state, None), "link-invalid.html.j2", {}, 400)


def _page(
    state: WebState, lang: str, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return render_page(state, lang, template, context, headers=_HEADERS, status_code=status_code)
