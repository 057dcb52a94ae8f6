"""One copy of a release outside the ledger: the preview, and a test sent to an address.

Both render the text in the store (frozen once its dispatch started, else as the
files were at the last scan) with a renderer of their own: the engine's renderer
caches each variant by release and time, and a preview of text that is still being
edited must never become what the engine sends.

The release page lists the last test copies the mail server accepted (address, copy,
time). They are kept in this process's memory only, like the revoked sessions: a test
copy is not a delivery, so the store does not record it, and a restart forgets them.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch import actions
from pressdispatch.dispatch.transport import Status
from pressdispatch.errors import PressDispatchError, Refused
from pressdispatch.model import Release, Tier, Variant
from pressdispatch.render import gallery
from pressdispatch.render.email import SAMPLE_RECIPIENT, EmailRenderer
from pressdispatch.runtime import Runtime
from pressdispatch.web.admin.auth import Checked, PageSession
from pressdispatch.web.admin.common import AdminRoute, back, local_time, not_found, page
from pressdispatch.web.deps import web_state

__all__ = ["PREVIEW_CSP", "SentTest", "router", "sent_tests"]

router = APIRouter(route_class=AdminRoute)

PREVIEW_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
_YES = ("1", "on", "yes", "true")
_TIERS = {tier.value for tier in Tier}
_KEPT = 5  # test copies listed per release
_RELEASES = 200  # releases whose test copies are kept; the least recently tested go first


@dataclass(frozen=True, slots=True)
class SentTest:
    to: str
    language: str
    tier: Tier
    at: datetime


class _SentTests:
    """Per app, in memory: the last test copies of each release, the latest last."""

    def __init__(self) -> None:
        self._by_release: OrderedDict[str, deque[SentTest]] = OrderedDict()

    def add(self, release_id: str, sent: SentTest) -> None:
        kept = self._by_release.pop(release_id, None) or deque(maxlen=_KEPT)
        kept.append(sent)
        self._by_release[release_id] = kept
        while len(self._by_release) > _RELEASES:
            self._by_release.popitem(last=False)

    def of(self, release_id: str) -> list[SentTest]:
        return list(self._by_release.get(release_id, ()))


def _sent(request: Request) -> _SentTests:
    log = getattr(request.app.state, "admin_test_copies", None)
    if not isinstance(log, _SentTests):
        log = request.app.state.admin_test_copies = _SentTests()
    return log


def sent_tests(request: Request, release_id: str) -> list[dict[str, str]]:
    """The release page's list: where the last test copies went, the latest first."""
    settings = web_state(request).settings
    return [
        {
            "to": sent.to,
            "variant": f"{sent.language}, {sent.tier.value} copy",
            "at": local_time(sent.at, settings),
        }
        for sent in reversed(_sent(request).of(release_id))
    ]


@router.get("/admin/releases/{release_id}/preview/{lang}", name="admin.release_preview")
async def preview(
    request: Request, release_id: str, lang: str, session: PageSession, tier: str = "public"
) -> Response:
    """The HTML part of the email, as a journalist sees it, for a sample recipient."""
    rt = web_state(request).runtime
    release = await _release(rt, release_id)
    if release is None or lang not in release.translations or tier not in _TIERS:
        return not_found(request, f"{release_id} in {lang!r} ({tier})", session.csrf)
    if tier == Tier.EMBARGOED and release.embargo_send_at is None:
        return not_found(request, f"an embargoed copy of {release_id}", session.csrf)
    try:
        data = _renderer(rt).render(release, Variant(lang, Tier(tier)), SAMPLE_RECIPIENT)
    except PressDispatchError as exc:
        return _problem(request, "The email cannot be rendered", str(exc), session.csrf)
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    headers = {"Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"}
    html = _console_pictures(part.get_content(), rt.settings.newsroom.base_url, release.id)
    return HTMLResponse(html, headers=headers)


def _console_pictures(html: str, base_url: str, release_id: str) -> str:
    """The copy's pictures from the console's own route (web/admin/media.py).

    The newsroom serves a release's media only from its publication, and an embargoed
    copy's only through a journalist's own link: a preview made before then would
    show broken pictures. The copy's image is the 600 px one the console also serves.
    """
    public = re.escape(f"{gallery.public_base(base_url, release_id)}/media/")
    embargoed = re.escape(f"{base_url}/embargoed/") + r'[^/"]+/media/'
    console = f"/admin/releases/{release_id}/media/"
    return re.sub(f'(<img[^>]*? src=")(?:{public}|{embargoed})', rf"\g<1>{console}", html)


@router.post("/admin/releases/{release_id}/test", name="admin.release_test")
async def send_test(request: Request, release_id: str, done: Checked) -> Response:
    """``pressdispatch send-test``: one copy to ``to`` now; it does not count as sent."""
    state = web_state(request)
    rt, settings = state.runtime, state.settings
    release = await _release(rt, release_id)
    if release is None:
        return not_found(request, f"release {release_id!r}", done.session.csrf)
    here = f"/admin/releases/{release_id}"
    to, lang = done.form.get("to"), done.form.get("lang")
    embargo = str(done.form.get("embargo", "")).lower() in _YES
    if not isinstance(to, str):
        return back(here, error="bad-address")
    try:
        envelope = actions.test_copy(
            settings,
            _renderer(rt),
            release,
            to,
            lang if isinstance(lang, str) else None,
            embargo=embargo,
            now=state.clock(),
        )
    except Refused as exc:
        return back(here, error="no-language" if exc.reason == "bad-language" else exc.reason)
    except PressDispatchError as exc:
        return _problem(request, "The email cannot be rendered", str(exc), done.session.csrf)
    outcome = await rt.transport.send(envelope)
    if outcome.status is not Status.SENT:
        return back(here, error="test-failed", n=outcome.code or 0)
    language, tier = _variant_of(envelope.message)
    _sent(request).add(release_id, SentTest(envelope.recipient, language, tier, state.clock()))
    return back(here, done="test-sent")


async def _release(rt: Runtime, release_id: str) -> Release | None:
    if not await rt.catalog.rows(release_id):
        return None
    return await rt.catalog.snapshot(release_id)


def _variant_of(message: bytes) -> tuple[str, Tier]:
    """The language and copy a message was rendered as, from its own header."""
    head = BytesHeaderParser(policy=policy.default).parsebytes(message)
    language, _, tier = str(head["X-PressDispatch-Variant"]).partition("/")
    return language, Tier(tier)


def _renderer(rt: Runtime) -> EmailRenderer:
    """A renderer with nothing cached, signing with the service's key."""
    settings = rt.settings
    return EmailRenderer(
        settings.newsroom, settings.paths.templates, rt.renderer.signer, rt.regions, rt.topics
    )


def _problem(request: Request, title: str, message: str, csrf: str) -> Response:
    context = {"title": title, "message": message}
    return page(request, "message.html.j2", context, csrf=csrf, status_code=500)
