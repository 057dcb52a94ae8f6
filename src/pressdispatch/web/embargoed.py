"""``/embargoed/<token>``: a release under embargo, for the cleared journalist it was sent to.

Every link to the release in an embargoed copy is one of these (render/email.py): the
token names the journalist, the release and the language (tokens.py). Before
``publish_at`` the page shows the release like its public page, under a banner saying
until when it is embargoed, with the journalist's own links to the other versions; it
is never cached or indexed, and each reading is logged for the console. From
``publish_at`` it redirects to the public page.

A forged or expired token, and a release that is unknown, a draft or cancelled, answer
the very 404 of an unknown release: nobody learns from this address that a release
under embargo exists.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pressdispatch.errors import TokenError
from pressdispatch.model import Release
from pressdispatch.render import i18n
from pressdispatch.tokens import EmbargoedLink, sign_embargoed, verify_embargoed
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.pages import not_found_page, release_parts, render_page, switch

__all__ = ["open_link", "router"]

router = APIRouter()

# Never kept by a browser or proxy, never indexed; and the token in the address never
# leaves in a Referer header when the journalist follows a link in the release.
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@router.api_route("/embargoed/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def embargoed(request: Request, token: str) -> Response:
    """The release in the link's language before publication; the public page after."""
    state = web_state(request)
    now = state.clock()
    opened = await open_link(state, token, now)
    if opened is None:
        return await not_found_page(request)
    link, release = opened
    if release.publish_at <= now:
        location = f"/releases/{release.id}/{link.language}"
        return RedirectResponse(location, status_code=302, headers=PRIVATE)
    if request.method == "GET":  # a monitor's HEAD is not a reading
        await state.runtime.embargo_views.record(release.id, link.address, link.language, now)
    return _page(state, release, link, token)


async def open_link(
    state: WebState, token: str, now: datetime
) -> tuple[EmbargoedLink, Release] | None:
    """What a genuine embargoed token opens at ``now``: its link and the release, readable
    in the link's language; None for the one 404 (forged or expired, a release unknown,
    a draft or cancelled)."""
    try:
        link = verify_embargoed(state.runtime.renderer.signer, token, now)
    except TokenError:
        return None
    release = await state.runtime.catalog.readable(link.release_id, now)
    if release is None or link.language not in release.translations:
        return None
    return link, release


def _page(state: WebState, release: Release, link: EmbargoedLink, token: str) -> HTMLResponse:
    lang = link.language
    signer = state.runtime.renderer.signer

    def url(other: str) -> str:
        same = EmbargoedLink(link.address, release.id, other)
        return f"/embargoed/{sign_embargoed(signer, same, release.publish_at)}"

    # Its media through the same signed link: web/media.py.
    parts = release_parts(state, release, lang, f"/embargoed/{token}")
    context = parts | {
        "page": "embargoed",
        "embargo_notice": i18n.gettext(lang, "Embargoed until %(when)s", when=parts["published"]),
        "embargo_until": parts["published"],
        "alternates": [
            {"lang": other, "name": i18n.language_name(other), "url": url(other)}
            for other in release.translations
            if other != lang
        ],
        "switcher": [switch(other, lang, url(other)) for other in release.translations],
    }
    return render_page(state, lang, "embargoed.html.j2", context, headers=PRIVATE)
