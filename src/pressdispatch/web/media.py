"""A release's pictures and documents on the web (addresses: render/gallery.py).

On ``/releases/<id>/media/…`` they follow the release: before ``publish_at``, for a
draft, a withdrawn or an unknown release, and for a file release.toml does not
describe, the answer is the one 404 page of an unknown release. Only files described
in release.toml, in that release's ``media/`` folder, are ever served.

On ``/embargoed/<token>/media/…`` a cleared journalist reaches them before
``publish_at`` through the signed link of their copy (web/embargoed.py): each fetch is
logged with the page readings, never cached; from ``publish_at`` they redirect to the
public addresses.

Copies are made (render/images.py) in a thread: Pillow never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from pressdispatch.content.media import FOLDER
from pressdispatch.model import Media, Release
from pressdispatch.render import gallery
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.embargoed import PRIVATE, open_link
from pressdispatch.web.pages import CACHE_CEILING, not_found_page

__all__ = ["content_disposition", "router"]

log = logging.getLogger(__name__)
router = APIRouter()

_GET = ["GET", "HEAD"]
_COPY = re.compile(r"^(\d{3,4})\.(jpg|webp)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


# --------------------------------------------------------------------------- #
# Public addresses
# --------------------------------------------------------------------------- #


@router.api_route(f"/releases/{{release_id}}/media/{gallery.ZIP}", methods=_GET)
async def public_zip(request: Request, release_id: str) -> Response:
    found = await _public(request, release_id)
    if isinstance(found, Response):
        return found
    state, release, headers = found
    return await _zip(request, state, release, headers)


@router.api_route("/releases/{release_id}/media/{name}", methods=_GET)
async def public_original(request: Request, release_id: str, name: str) -> Response:
    found = await _public(request, release_id)
    if isinstance(found, Response):
        return found
    state, release, headers = found
    return await _original(request, state, release, name, headers)


@router.api_route("/releases/{release_id}/media/{name}/{copy}", methods=_GET)
async def public_copy(request: Request, release_id: str, name: str, copy: str) -> Response:
    found = await _public(request, release_id)
    if isinstance(found, Response):
        return found
    state, release, headers = found
    return await _copy(request, state, release, name, copy, headers)


async def _public(
    request: Request, release_id: str
) -> tuple[WebState, Release, dict[str, str]] | Response:
    """The release if it is public now, with the cache headers of its pages; else the 404."""
    state = web_state(request)
    snapshot = await state.public.current()
    release = snapshot.by_id.get(release_id)
    if release is None or not release.media:
        return await not_found_page(request)
    age = state.public.max_age(snapshot, CACHE_CEILING)
    return state, release, {"Cache-Control": f"public, max-age={age}"}


# --------------------------------------------------------------------------- #
# A cleared journalist's addresses, before publication
# --------------------------------------------------------------------------- #


@router.api_route(f"/embargoed/{{token}}/media/{gallery.ZIP}", methods=_GET)
async def embargoed_zip(request: Request, token: str) -> Response:
    found = await _embargoed(request, token, gallery.ZIP, "")
    if isinstance(found, Response):
        return found
    return await _zip(request, found[0], found[1], PRIVATE)


@router.api_route("/embargoed/{token}/media/{name}", methods=_GET)
async def embargoed_original(request: Request, token: str, name: str) -> Response:
    found = await _embargoed(request, token, name, quote(name, safe=""))
    if isinstance(found, Response):
        return found
    return await _original(request, found[0], found[1], name, PRIVATE)


@router.api_route("/embargoed/{token}/media/{name}/{copy}", methods=_GET)
async def embargoed_copy(request: Request, token: str, name: str, copy: str) -> Response:
    found = await _embargoed(request, token, name, f"{quote(name, safe='')}/{copy}")
    if isinstance(found, Response):
        return found
    return await _copy(request, found[0], found[1], name, copy, PRIVATE)


async def _embargoed(
    request: Request, token: str, item: str, rest: str
) -> tuple[WebState, Release] | Response:
    """The release the token opens, its fetch of ``item`` logged; a redirect to the public
    address (``…/media/<rest>``) from ``publish_at``; the one 404 otherwise."""
    state = web_state(request)
    now = state.clock()
    opened = await open_link(state, token, now)
    if opened is None or not opened[1].media:
        return await not_found_page(request)
    link, release = opened
    if release.publish_at <= now:
        public = gallery.public_base("", release.id)
        return RedirectResponse(f"{public}/media/{rest or gallery.ZIP}", 302, headers=PRIVATE)
    if item != gallery.ZIP and _item(release, item) is None:
        return await not_found_page(request)
    if request.method == "GET":  # a monitor's HEAD is not a fetch
        views = state.runtime.embargo_views
        await views.record(release.id, link.address, link.language, now, item=item)
    return state, release


# --------------------------------------------------------------------------- #
# The files
# --------------------------------------------------------------------------- #


async def _original(
    request: Request, state: WebState, release: Release, name: str, headers: dict[str, str]
) -> Response:
    item = _item(release, name)
    path = None if item is None else _source(state, release, item)
    if item is None or path is None:
        return await not_found_page(request)
    disposition = {"Content-Disposition": content_disposition(item.name)}
    return _file(path, item.mime, headers | disposition)


async def _copy(
    request: Request,
    state: WebState,
    release: Release,
    name: str,
    copy: str,
    headers: dict[str, str],
) -> Response:
    item = _item(release, name)
    asked = _COPY.match(copy)
    path = None if item is None else _source(state, release, item)
    if item is None or path is None or not item.is_image or asked is None:
        return await not_found_page(request)
    width, ext = int(asked.group(1)), asked.group(2)
    if width not in gallery.WIDTHS:
        return await not_found_page(request)
    try:
        made = await asyncio.to_thread(state.media.derivative, path, width, ext)
    except (OSError, ValueError, SyntaxError):  # changed since the scan into something broken
        log.exception("%s: cannot make a copy of %s", release.id, item.name)
        return await not_found_page(request)
    return _file(made, gallery.FORMATS[ext], headers)


async def _zip(
    request: Request, state: WebState, release: Release, headers: dict[str, str]
) -> Response:
    files: list[tuple[str, Path]] = []
    for item in release.media:
        path = _source(state, release, item)
        if path is not None:
            files.append((item.name, path))
    if not files:
        return await not_found_page(request)
    try:
        made = await asyncio.to_thread(state.media.bundle, files, gallery.credits_text(release))
    except OSError:
        log.exception("%s: cannot make the zip of its media", release.id)
        return await not_found_page(request)
    disposition = {"Content-Disposition": content_disposition(f"{release.id}-media.zip")}
    return _file(made, "application/zip", headers | disposition)


def _item(release: Release, name: str) -> Media | None:
    return next((item for item in release.media if item.name == name), None)


def _source(state: WebState, release: Release, item: Media) -> Path | None:
    """The described file in the release's media/ folder, if it is still a file there."""
    folder = state.settings.paths.releases / release.id / FOLDER
    path = folder / item.name
    try:
        if path.is_file() and path.resolve().parent == folder.resolve():
            return path
    except OSError:
        pass
    return None


def _file(path: Path, mime: str, headers: dict[str, str]) -> FileResponse:
    # nosniff: a browser must not read a picture as a page, whatever its bytes hold.
    return FileResponse(
        path, media_type=mime, headers=headers | {"X-Content-Type-Options": "nosniff"}
    )


def content_disposition(name: str) -> str:
    """``attachment`` with ``name`` as RFC 6266 says: an ASCII stand-in, then the real
    name percent-encoded as UTF-8; no quote, backslash or line break can get in."""
    fallback = _UNSAFE.sub("_", name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
