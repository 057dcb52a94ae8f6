"""The press office console at ``/admin``: releases, journalists, returned mail, uploads.

Each module registers its own routes; ``router`` gathers them for ``create_app``.
Every route but the login form needs a session (``auth.py``).
"""

from __future__ import annotations

from fastapi import APIRouter

from pressdispatch.web.admin import (
    auth,
    copies,
    editor,
    imports,
    media,
    releases,
    returns,
    review,
    subscribers,
)

__all__ = ["router"]

router = APIRouter()
# The editor's and the import's fixed paths (/admin/releases/new) before /admin/releases/{id}.
for _part in (auth, editor, media, review, releases, copies, subscribers, returns, imports):
    router.include_router(_part.router)
