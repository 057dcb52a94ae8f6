"""``/favicon.ico``: the file ``[web] favicon`` names, else the icon shipped with pressdispatch.

Browsers ask for it on every site whatever the page says, so it is always answered
(a 404 each time would fill the logs). Read once per process: the icon is part of the
newsroom's look, changed with a restart like the templates.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pressdispatch.config import ICON_TYPES
from pressdispatch.web.deps import web_state

__all__ = ["router"]

router = APIRouter()

_MAX_AGE = 24 * 3600


@functools.cache
def _icon(path: Path) -> tuple[bytes, str]:
    if path == Path():
        shipped = resources.files("pressdispatch").joinpath("data", "favicon.ico")
        return shipped.read_bytes(), ICON_TYPES[".ico"]
    return path.read_bytes(), ICON_TYPES[path.suffix.lower()]


@router.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
async def favicon(request: Request) -> Response:
    body, media_type = _icon(web_state(request).settings.web.favicon)
    headers = {"Cache-Control": f"public, max-age={_MAX_AGE}"}
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(b"", media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
