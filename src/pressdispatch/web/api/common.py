"""What every API route shares: the web state, and errors as RFC 9457 problem details.

Every error the API answers is ``application/problem+json``::

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "the release was not created: 2 problems",
     "errors": [{"file": "release.toml", "line": 4, "field": "regions",
                 "message": "unknown region 'atlantis' (...)"}]}

``type`` is always ``about:blank``: the status code says what kind of problem it is,
``title`` is its standard phrase, ``detail`` says what happened to this request, and
``errors`` (validation only) lists each wrong field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from pressdispatch.errors import PressDispatchError
from pressdispatch.web.app import WebState

__all__ = [
    "PROBLEM_JSON",
    "ApiProblem",
    "ProblemDetails",
    "ProblemItem",
    "Web",
    "install_handlers",
    "problem_response",
    "problems",
    "refused",
    "web_state",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ProblemItem(BaseModel):
    """One thing wrong with one field of the request."""

    file: str | None = Field(
        default=None, description="the release file at fault, when the loader reported it"
    )
    line: int | None = Field(default=None, description="its line in that file, counting from 1")
    field: str = Field(description="dotted path of the JSON field, e.g. translations.fr.title")
    message: str


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 describes it."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] | None = None


class ApiProblem(PressDispatchError):
    """Raised by a route: answered as problem details with this status."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Iterable[ProblemItem] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})


def problem_response(
    status: int,
    detail: str,
    errors: Iterable[ProblemItem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ProblemDetails(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


def refused(what: str, items: Sequence[ProblemItem]) -> str:
    """The ``detail`` of a 422: what was not done, and how many problems stopped it."""
    return f"{what}: {len(items)} problem{'s' if len(items) != 1 else ''}"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the OpenAPI schema: these statuses answer problem details."""
    return {
        status: {"model": ProblemDetails, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


def web_state(request: Request) -> WebState:
    """The newsroom app's state: the API is mounted in it and shares its store and clock."""
    parent = request.app.state.parent
    return cast(WebState, parent.state.web)


Web = Annotated[WebState, Depends(web_state)]


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


def install_handlers(app: Any) -> None:
    """Every error of ``app`` (the API sub-application) as problem details."""
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _server_error)


async def _api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.detail, exc.errors, exc.headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = {
            404: f"nothing at {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(exc.status_code, detail)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(400, "the body is not valid JSON")
    items = [
        ProblemItem(field=_field(error.get("loc", ())), message=_message(error)) for error in errors
    ]
    return problem_response(422, refused("the request is not valid", items), items)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("API: %s %s failed", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "the server failed to answer; the error is in its log")


def _field(loc: Iterable[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "path", "query", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    return str(error.get("msg", "not valid"))
