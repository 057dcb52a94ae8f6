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
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from pressdispatch.web.deps import Web, web_state

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
SEND_JSON = "send a JSON object with Content-Type: application/json"
_FASTAPI_UNREADABLE = "There was an error parsing the body"  # FastAPI's words for it


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


class ApiProblem(Exception):
    """Raised by a route: answered as problem details with this status.

    A web answer, not a domain error: it stays out of errors.py's tree.
    """

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
    elif detail == _FASTAPI_UNREADABLE:  # the bytes are not text: json.loads could not decode them
        detail = f"the body is not valid JSON: it is not UTF-8 text; {SEND_JSON}"
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    invalid = next((error for error in errors if error.get("type") == "json_invalid"), None)
    if invalid is not None:
        return problem_response(400, f"the body is not valid JSON: {_json_error(invalid, exc)}")
    whole = next((error for error in errors if tuple(error.get("loc", ())) == ("body",)), None)
    if whole is not None:
        return _not_a_json_object(request, whole)
    items = [
        ProblemItem(field=_field(error.get("loc", ())), message=_message(error)) for error in errors
    ]
    return problem_response(422, refused("the request is not valid", items), items)


def _not_a_json_object(request: Request, error: Mapping[str, Any]) -> Response:
    """The answer when the body as a whole is not the JSON object the route reads."""
    media_type = request.headers.get("content-type")
    if not _is_json(media_type):
        # FastAPI hands such a body to the route as bytes, which no model accepts.
        sent = f"got {media_type!r}" if media_type else "no Content-Type was sent"
        return problem_response(415, f"the body must be JSON ({sent}); {SEND_JSON}")
    if error.get("type") == "missing":
        return problem_response(400, f"the body is empty; {SEND_JSON}")
    item = ProblemItem(field="body", message="expected a JSON object ({...})")
    return problem_response(422, f"the body is not a JSON object; {SEND_JSON}", [item])


def _is_json(media_type: str | None) -> bool:
    kind = (media_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _json_error(error: Mapping[str, Any], exc: RequestValidationError) -> str:
    """``Expecting value (line 1, column 2)``: what the JSON parser said, and where."""
    reason = str(error.get("ctx", {}).get("error", "")) or "not JSON"
    loc = error.get("loc", ())
    position = loc[-1] if loc and isinstance(loc[-1], int) else None
    document = exc.body if isinstance(exc.body, str) else None
    if position is None or document is None:
        return reason
    line = document.count("\n", 0, position) + 1
    column = position - (document.rfind("\n", 0, position) + 1) + 1
    return f"{reason} (line {line}, column {column})"


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
    return str(error.get("msg", "not valid")).removeprefix("Value error, ")
