"""``POST /api/v1/releases/{id}/media``: add a picture or document to a release.

``multipart/form-data`` with the file in ``file`` and its description in fields named
as release.toml names them: ``alt.<lang>`` and ``caption.<lang>`` (one per language),
``credit``, ``license``, ``hero`` (``true``). The upload meets the checks of a file put
in the folder by hand, through the code the console's editor uses too
(web/mediaupload.py); a problem is a 422 naming the field.
Like the text, media are frozen once the dispatch has started (409).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from pressdispatch.content.releases import RELEASE_ID
from pressdispatch.render import gallery
from pressdispatch.web import mediaupload
from pressdispatch.web.api.common import ApiProblem, ProblemItem, Web, problems, refused

__all__ = ["MediaOut", "router"]

router = APIRouter(prefix="/releases", tags=["releases"])


class MediaOut(BaseModel):
    file: str = Field(description="its path in the release folder: media/<name>")
    type: str = Field(
        description="what its bytes are: image/jpeg, image/png, image/webp, application/pdf"
    )
    size: int = Field(description="bytes")
    width: int = Field(description="pixels; 0 for a document")
    height: int
    hero: bool
    url: str = Field(description="the original's address once the release is public")
    warnings: list[ProblemItem] = Field(default_factory=list)


@router.post(
    "/{release_id}/media",
    status_code=201,
    responses=problems(400, 401, 404, 409, 413, 422),
)
async def add_media(release_id: str, request: Request, response: Response, state: Web) -> MediaOut:
    """Add one file (``multipart/form-data``) to the release's media."""
    folder = state.settings.paths.releases / release_id
    if not RELEASE_ID.match(release_id) or not (folder / "release.toml").is_file():
        raise ApiProblem(404, f"no release {release_id!r}")
    if await state.runtime.catalog.started(release_id):
        raise ApiProblem(409, f"the dispatch of {release_id!r} has started: its media are frozen")
    # A body that is not multipart is Starlette's 400; the spooled file goes with the form.
    async with request.form(max_files=1, max_fields=100) as form:
        added, found = await mediaupload.add_from_form(state, folder, form, "API")
    items = [
        ProblemItem(file=p.path.name or None, line=p.line, field=p.field, message=p.message)
        for p in found
    ]
    if added is None:
        errors = [item for item, p in zip(items, found, strict=True) if p.is_error]
        raise ApiProblem(422, refused("the medium was not added", errors), errors)
    url = gallery.media_url(
        gallery.public_base(state.settings.newsroom.base_url, release_id), added
    )
    response.headers["Location"] = url
    return MediaOut(
        file=f"media/{added.name}",
        type=added.mime,
        size=added.size,
        width=added.width,
        height=added.height,
        hero=added.hero,
        url=url,
        warnings=items,
    )
