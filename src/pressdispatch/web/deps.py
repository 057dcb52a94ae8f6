"""What a route needs, handed out as FastAPI dependencies.

The app's lifespan builds one :class:`WebState` from the service's parts; every
route, the console's and the API's included, reaches it through :func:`web_state`
(or the ``Web`` annotation), never by building parts of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request

from pressdispatch.clock import Clock
from pressdispatch.config import Settings
from pressdispatch.import_runner import ImportRunner
from pressdispatch.render.images import MediaFiles
from pressdispatch.runtime import Runtime
from pressdispatch.web.public import PublicView

__all__ = ["Web", "WebState", "web_state"]


@dataclass
class WebState:
    """Everything a route needs, reachable as ``request.app.state.web``."""

    settings: Settings
    runtime: Runtime
    public: PublicView
    clock: Clock
    imports: ImportRunner  # list uploads, merged in the background
    media: MediaFiles  # copies of the releases' images, and zips (web/media.py)


def web_state(request: Request) -> WebState:
    return cast(WebState, request.app.state.web)


Web = Annotated[WebState, Depends(web_state)]
