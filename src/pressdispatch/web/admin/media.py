"""A release's pictures and documents from the console's editor: add one, look at one,
take one out.

- ``POST /admin/releases/<id>/media`` (multipart): the file and its description, read
  and checked by the code the API's ``POST /api/v1/releases/<id>/media`` runs
  (web/mediaupload.py), so both refuse the same files for the same reasons. A refusal
  sends the editor back with each problem beside its field and the texts as typed.
- ``GET /admin/releases/<id>/media/<name>``: the file as it is in ``media/``, as a
  download; ``…/<name>/600.jpg``: the copy the newsroom makes for emails, as the
  editor's thumbnail. Both need a session, and work for a draft.
- ``GET`` then ``POST /admin/releases/<id>/media/<name>/remove``: the confirmation, then
  the removal of the file and its entry.

Like the text, a release's media are frozen once its sending has started (409).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from pressdispatch.content import media_upload
from pressdispatch.content.media import FOLDER, PDF, NotMedia, sniff
from pressdispatch.render.gallery import FORMATS
from pressdispatch.web import mediaupload
from pressdispatch.web.admin import media_list
from pressdispatch.web.admin.auth import Checked, MediaChecked, PageSession
from pressdispatch.web.admin.common import AdminRoute, not_found, page
from pressdispatch.web.admin.editor import edit_page, editable_folder, release_folder
from pressdispatch.web.admin.media_list import THUMB_WIDTH, UploadForm
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.media import content_disposition

__all__ = ["router"]

router = APIRouter(route_class=AdminRoute)
log = logging.getLogger(__name__)

_OCTETS = "application/octet-stream"


@router.post("/admin/releases/{release_id}/media", name="admin.media_add")
async def add(request: Request, release_id: str, done: MediaChecked) -> Response:
    state = web_state(request)
    csrf = done.session.csrf
    folder = await editable_folder(request, release_id, csrf)
    if isinstance(folder, Response):
        return folder
    added, problems = await mediaupload.add_from_form(state, folder, done.form, "console")
    if added is None:
        upload = UploadForm.typed(done.form.multi_items(), state.settings.newsroom.languages)
        upload.errors = media_list.upload_errors(problems)
        return await edit_page(request, release_id, folder, csrf, upload, status_code=422)
    log.info("console: %s added to release %s", added.name, release_id)
    return _to_editor(release_id, "media-added")


@router.get("/admin/releases/{release_id}/media/{name}", name="admin.media_file")
async def original(request: Request, release_id: str, name: str, session: PageSession) -> Response:
    found = _file(web_state(request), release_id, name)
    if found is None:
        return not_found(request, f"file {name!r} of release {release_id!r}", session.csrf)
    path, mime = found
    headers = {"Content-Disposition": content_disposition(name)}
    return FileResponse(path, media_type=mime, headers=headers)


@router.get(
    f"/admin/releases/{{release_id}}/media/{{name}}/{THUMB_WIDTH}.jpg", name="admin.media_thumb"
)
async def thumbnail(request: Request, release_id: str, name: str, session: PageSession) -> Response:
    state = web_state(request)
    found = _file(state, release_id, name)
    if found is None or found[1] in (PDF, _OCTETS):
        return not_found(request, f"picture {name!r} of release {release_id!r}", session.csrf)
    try:
        made = await asyncio.to_thread(state.media.derivative, found[0], THUMB_WIDTH, "jpg")
    except (OSError, ValueError, SyntaxError):  # Pillow cannot decode what it recognised
        log.exception("%s: cannot make a copy of %s", release_id, name)
        return not_found(request, f"picture {name!r} of release {release_id!r}", session.csrf)
    return FileResponse(made, media_type=FORMATS["jpg"])


@router.get("/admin/releases/{release_id}/media/{name}/remove", name="admin.media_remove_form")
async def remove_form(
    request: Request, release_id: str, name: str, session: PageSession
) -> Response:
    state = web_state(request)
    if release_folder(state, release_id) is None:
        return not_found(request, f"release {release_id!r}", session.csrf)
    context = {
        "section": "releases",
        "release_id": release_id,
        "name": name,
        "action": f"/admin/releases/{quote(release_id)}/media/{quote(name, safe='')}/remove",
        "back": f"/admin/releases/{quote(release_id)}/edit#media",
    }
    return page(request, "media-remove.html.j2", context, csrf=session.csrf)


@router.post("/admin/releases/{release_id}/media/{name}/remove", name="admin.media_remove")
async def remove(request: Request, release_id: str, name: str, done: Checked) -> Response:
    state = web_state(request)
    csrf = done.session.csrf
    folder = await editable_folder(request, release_id, csrf)
    if isinstance(folder, Response):
        return folder
    problem = await mediaupload.remove(state, folder, name, "console")
    if problem is not None:
        context = {"title": "Not removed", "message": problem.message}
        return page(request, "message.html.j2", context, csrf=csrf, status_code=422)
    log.info("console: %s removed from release %s", name, release_id)
    return _to_editor(release_id, "media-removed")


def _to_editor(release_id: str, done: str) -> Response:
    target = f"/admin/releases/{quote(release_id)}/edit?done={done}#media"
    return Response(status_code=303, headers={"Location": target})


def _file(state: WebState, release_id: str, name: str) -> tuple[Path, str] | None:
    """A file directly in the release's ``media/`` (described or not), and its type."""
    folder = release_folder(state, release_id)
    if folder is None or media_upload.safe_name(name) != name:
        return None
    path = folder / FOLDER / name
    try:
        if not path.is_file() or path.resolve().parent != (folder / FOLDER).resolve():
            return None
        return path, sniff(path).mime
    except NotMedia:
        return path, _OCTETS
    except OSError:
        return None
