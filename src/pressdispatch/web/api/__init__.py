"""The JSON API, mounted at ``/api/v1`` by ``create_app`` (docs/api.md).

A FastAPI sub-application of its own, so its OpenAPI schema
(``/api/v1/openapi.json``, the one address that needs no token) describes the API
alone. It shares the newsroom app's state (store, settings, clock), which the
newsroom app's lifespan sets up.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from pressdispatch.list_imports import MAX_UPLOAD
from pressdispatch.runtime import Runtime
from pressdispatch.web.api import lists, media, plans, releases, subscribers
from pressdispatch.web.api.auth import BearerToken
from pressdispatch.web.api.common import PROBLEM_JSON, install_handlers
from pressdispatch.web.api.limits import BodyLimit, request_limit

__all__ = ["OPENAPI", "create_api"]

OPENAPI = "/openapi.json"
_SCHEME = "bearer"
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


class _Api(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """FastAPI's schema, plus the Bearer scheme and the problem details media type."""
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "the value of the environment variable named by web.api_token_env",
        }
        schema["security"] = [{_SCHEME: []}]
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.get("responses", {})
                for code, answer in list(answers.items()):
                    content = answer.get("content", {})
                    if _FASTAPI_422 in json.dumps(content):
                        del answers[code]  # FastAPI's own, for a path parameter that cannot fail
                    elif code[:1] in "45" and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        return schema


def create_api(rt: Runtime) -> FastAPI:
    """The API app, mounted in the newsroom app, whose parts it shares (``state.web``)."""
    settings = rt.settings
    api = _Api(
        title=f"{settings.newsroom.name}: press release API",
        version="1",
        description="Releases, subscribers and subscriber lists of a pressdispatch newsroom. "
        "Every route needs `Authorization: Bearer <token>`; errors are "
        "RFC 9457 problem details (`application/problem+json`).",
        openapi_url=OPENAPI,
        docs_url=None,
        redoc_url=None,
    )
    api.include_router(releases.router)
    api.include_router(media.router)
    api.include_router(plans.router)
    api.include_router(subscribers.router)
    api.include_router(lists.router)
    install_handlers(api)
    # The last added runs first: the token is checked before the body's size.
    api.add_middleware(
        BodyLimit,
        limit=request_limit(settings),
        uploads=MAX_UPLOAD,
        media=settings.content.max_media_size,
    )
    api.add_middleware(BearerToken, credentials=rt.credentials, public=frozenset({OPENAPI}))
    return api
