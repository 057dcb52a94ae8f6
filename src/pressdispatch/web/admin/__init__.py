"""The press office console at ``/admin``: releases, journalists, returned mail, uploads.

Each module registers its own routes; ``router`` gathers them for ``create_app``.
Every route but the login form needs a session (``auth.py``).
"""

from __future__ import annotations

from fastapi import APIRouter

from pressdispatch.web.admin import auth, copies, imports, releases, returns, subscribers

__all__ = ["router"]

router = APIRouter()
for _part in (auth, releases, copies, subscribers, returns, imports):
    router.include_router(_part.router)
