"""The API token: ``Authorization: Bearer <token>`` on every request but the OpenAPI schema.

The token is the value of the environment variable named by ``web.api_token_env``,
read on every request (so a new token needs no restart). Without it the API
refuses everything: there is no default token. The check runs before routing and
before the body is read, so an unknown address or a malformed body without a
valid token also gets 401, never a hint about the API.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pressdispatch.credentials import Credentials
from pressdispatch.web.api.common import problem_response

__all__ = ["REALM", "BearerToken", "refusal"]

REALM = "pressdispatch"


class BearerToken:
    """ASGI middleware: answers 401 unless the request carries the API token."""

    def __init__(self, app: ASGIApp, *, credentials: Credentials, public: Collection[str]) -> None:
        self.app = app
        self.credentials = credentials
        self.public = public  # paths inside the API that need no token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _route_path(scope) not in self.public:
            refused = refusal(self.credentials, Headers(scope=scope).get("authorization"))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def refusal(credentials: Credentials, authorization: str | None) -> Response | None:
    """The 401 answer for this ``Authorization`` header, or None when the token is right."""
    expected = credentials.api_token()
    if expected is None:
        return _unauthorized("the API is off: no API token is configured on this server")
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("send the API token as 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return _unauthorized("the API token is not valid", error="invalid_token")
    return None


def _unauthorized(detail: str, *, error: str | None = None) -> Response:
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:  # RFC 6750 §3.1: no error code when no token was sent
        challenge += f', error="{error}"'
    return problem_response(401, detail, headers={"WWW-Authenticate": challenge})


def _route_path(scope: Scope) -> str:
    """The path inside the API (``/openapi.json``), wherever the API is mounted."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
