"""Getting releases in from the console: importing a page, and approving imported drafts.

- ``/admin/releases/import`` imports one page of the press office's website (its URL)
  or its pasted text or HTML, as `pressdispatch import` does (intake/importer.py): a
  draft, which opens in the editor with what the importer asks the press office to
  check. The service fetches the URL itself, within the importer's limits.
- The releases page lists the imported drafts to review (a ``[source]`` table and
  ``status = "draft"``); **Approve** sets ``status = "ready"`` and the publication
  time in one step, through the writer the API uses. A time that has passed is
  refused: the release would go out at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pressdispatch.content import drafts, writer
from pressdispatch.errors import ContentError
from pressdispatch.intake.fetch import client
from pressdispatch.intake.importer import ImportFailed, Options, import_source
from pressdispatch.intake.provenance import imported_drafts
from pressdispatch.textfiles import read_text
from pressdispatch.web import releasefiles
from pressdispatch.web.admin import release_form
from pressdispatch.web.admin.auth import Checked, PageSession
from pressdispatch.web.admin.common import AdminRoute, back, local_time, not_found, page
from pressdispatch.web.admin.editor import frozen_page, import_notes, release_folder
from pressdispatch.web.deps import WebState, web_state

__all__ = ["router", "to_review"]

router = APIRouter(route_class=AdminRoute)
log = logging.getLogger(__name__)

_MAX_TEXT = 5 * 1024 * 1024  # characters of pasted text: the importer's page limit


async def to_review(state: WebState) -> list[dict[str, Any]]:
    """The releases page's list of imported drafts, the latest import first."""
    settings = state.settings
    found = await asyncio.to_thread(imported_drafts, settings.paths.releases)
    titles = await state.runtime.catalog.titles()
    zone = settings.newsroom.zone
    return [
        {
            "id": draft.release_id,
            "title": titles.get(draft.release_id, ""),
            "source": draft.source,
            "link": draft.source.startswith(("http://", "https://")),
            "fetched": local_time(draft.fetched_at, settings),
            "publish": release_form.local_input(draft.publish_at, zone),
        }
        for draft in found
    ]


@router.post("/admin/releases/{release_id}/approve", name="admin.release_approve")
async def approve(request: Request, release_id: str, done: Checked) -> Response:
    """``status = "ready"`` and ``publish_at``, both or neither."""
    state = web_state(request)
    settings, now, csrf = state.settings, state.clock(), done.session.csrf
    folder = release_folder(state, release_id)
    if folder is None:
        return not_found(request, f"release {release_id!r}", csrf)
    if await state.runtime.catalog.started(release_id):
        return frozen_page(request, release_id, csrf)
    moment = release_form.parse_local(
        str(done.form.get("publish_at", "")).strip(), settings.newsroom.zone
    )
    if not isinstance(moment, datetime):
        return back("/admin", error="bad-time")
    if moment <= now:
        return back("/admin", error="past-time")
    draft, _ = await asyncio.to_thread(drafts.read_draft, folder)
    if draft.embargo_send_at is not None and draft.embargo_send_at <= now:
        return back("/admin", error="past-embargo")
    path = folder / "release.toml"
    try:
        before = await asyncio.to_thread(read_text, path)
    except ContentError:
        return back(f"/admin/releases/{release_id}/edit")  # the editor says what is wrong
    after = writer.with_status(writer.with_times(before, moment), "ready")
    release, problems = await asyncio.to_thread(
        writer.replace_release_file, folder, "release.toml", after, releasefiles.loader(state)
    )
    if release is None:
        context = {
            "title": f"{release_id} is not approved",
            "message": "With that time, the release does not load: "
            + "; ".join(
                str(drafts.locate(p).field) + ": " + p.message for p in problems if p.is_error
            )
            + ". Correct it in the editor.",
        }
        return page(request, "message.html.j2", context, csrf=csrf, status_code=422)
    await releasefiles.sync(state, "console")
    import_notes(request).forget(release_id)
    log.info("console: release %s approved for %s", release_id, moment.isoformat())
    return back(f"/admin/releases/{release_id}", done="approved")


@router.get("/admin/releases/import", name="admin.release_import_form")
async def import_form(request: Request, session: PageSession) -> Response:
    return _import_page(request, session.csrf)


@router.post("/admin/releases/import", name="admin.release_import")
async def import_release(request: Request, done: Checked) -> Response:
    """One page → one draft, then the editor on it."""
    state = web_state(request)
    settings, csrf = state.settings, done.session.csrf
    url = str(done.form.get("url", "")).strip()
    text = str(done.form.get("text", ""))
    language = str(done.form.get("language", "")).strip().lower() or None
    kept = {"url": url, "text": text, "language": language or ""}
    if url and text.strip():
        return _import_page(
            request, csrf, "Give the page's address or paste its text, not both.", kept
        )
    if not url and not text.strip():
        return _import_page(request, csrf, "Give the page's address or paste its text.", kept)
    if len(text) > _MAX_TEXT:
        return _import_page(request, csrf, "The pasted text is too long (5 MB at most).", kept)
    if url and not url.startswith(("http://", "https://")):
        return _import_page(request, csrf, "The address must start with http:// or https://.", kept)
    if language is not None and language not in settings.newsroom.languages:
        language = None
    try:
        async with client() as http:
            imported = await import_source(
                url or "-",
                settings,
                state.runtime.regions,
                state.clock(),
                Options(language=language),
                client=http,
                stdin=None if url else text.encode("utf-8", "replace"),
                started=state.runtime.catalog.started,
            )
    except ImportFailed as exc:
        message = str(exc).removeprefix("-: ")
        return _import_page(request, csrf, f"Nothing was imported: {message}", kept)
    await releasefiles.sync(state, "console")
    import_notes(request).keep(imported.release_id, imported.notes)
    log.info("console: %s imported as %s", url or "pasted text", imported.release_id)
    flash = "imported" if imported.created else "imported-before"
    return back(f"/admin/releases/{imported.release_id}/edit", done=flash)


def _import_page(
    request: Request, csrf: str, error: str = "", kept: dict[str, str] | None = None
) -> Response:
    newsroom = web_state(request).settings.newsroom
    context = {
        "section": "releases",
        "error": error,
        "kept": kept or {"url": "", "text": "", "language": ""},
        "languages": newsroom.languages,
    }
    return page(
        request, "import-release.html.j2", context, csrf=csrf, status_code=422 if error else 200
    )
