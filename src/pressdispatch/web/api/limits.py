"""The largest request body the API reads: a 413 problem beyond it, read no further.

Release bodies are limited to ``content.max_body_size`` each (docs/config.md). A
request to create a release carries one per language the newsroom offers, escaped
as JSON, where a character may take up to three times its UTF-8 size (``\\u0416``
for ``Ж``): the limit leaves room for all of them at the limit, plus 64 KiB for the
other fields. A larger request cannot be a valid one, so it is refused before it
is read, by its ``Content-Length`` or, when it has none, as soon as it has sent
too much. A single body over the limit inside a smaller request is the loader's to
refuse, with a 422 naming the field. A list upload (``PUT /lists/{name}``) is CSV,
not JSON, and has a limit of its own (``list_imports.MAX_UPLOAD``); so has a medium
(``POST /releases/{id}/media``): ``content.max_media_size`` and room for its fields.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pressdispatch.config import Settings
from pressdispatch.sizes import KiB, format_size
from pressdispatch.web.api.common import problem_response

__all__ = ["BodyLimit", "request_limit"]

_JSON_GROWTH = 3  # bytes of escaped JSON per byte of UTF-8 text, at most (\uXXXX for 2 bytes)
_OTHER_FIELDS = 64 * KiB
_MEDIA = re.compile(r"^/releases/[^/]+/media/?$")


def request_limit(settings: Settings) -> int:
    """The most bytes a request body to the API may have."""
    per_language = settings.content.max_body_size * _JSON_GROWTH
    return per_language * len(settings.newsroom.languages) + _OTHER_FIELDS


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes (``uploads`` for a list)."""

    def __init__(self, app: ASGIApp, *, limit: int, uploads: int, media: int = 0) -> None:
        self.app = app
        self.limits = {
            "json": (
                limit,
                f"the request body is larger than {format_size(limit)}, the most this API "
                "reads (each release body may be at most content.max_body_size)",
            ),
            "list": (uploads, f"a list may be at most {format_size(uploads)}"),
            "media": (
                media + _OTHER_FIELDS,
                f"a medium may be at most {format_size(media)} (content.max_media_size)",
            ),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        kind = "json"
        if scope["method"] == "PUT" and path.startswith("/lists/"):
            kind = "list"
        elif scope["method"] == "POST" and _MEDIA.match(path):
            kind = "media"
        limit, detail = self.limits[kind]
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await problem_response(413, detail)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised while the route reads its body: answered as problem details.
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited, send)
