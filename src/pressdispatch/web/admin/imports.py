"""Uploading a subscriber list: checked as ``pressdispatch check`` does, then saved.

The ``subscribers/`` folder stays the source of truth: an upload becomes the file
``subscribers/<list>.csv``, exactly as uploaded, and the store follows it through
``pipeline.sync_files`` like at every scan. The upload is first written to a private
folder inside ``subscribers/`` (which the loader never reads: it reads ``*.csv`` at
the top only), checked with ``read_subscriber_file``, then moved into place in one
step, so the service never sees half a file. A bad row does not stop the others:
the loader skips it at every scan, as for a file edited by hand, and the report names
its line and field. A file with no valid row at all is not saved. An existing list
is replaced only when the form's "replace" box is ticked.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import UploadFile

from pressdispatch import pipeline
from pressdispatch.content.fields import SLUG
from pressdispatch.content.subscribers import Row, read_subscriber_file
from pressdispatch.errors import Problem
from pressdispatch.regions import RegionTree
from pressdispatch.web.admin.auth import Checked, PageSession
from pressdispatch.web.admin.common import AdminRoute, page, web_state

__all__ = ["router"]

router = APIRouter(route_class=AdminRoute)

_YES = ("1", "on", "yes", "true")
_MAX_NAME = 64
_SHOWN = 200  # problems listed on the report; the rest are counted


@dataclass
class ListCheck:
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)


@router.get("/admin/import", name="admin.import_form")
async def import_form(request: Request, session: PageSession) -> Response:
    return page(request, "import.html.j2", _context(), csrf=session.csrf)


@router.post("/admin/import", name="admin.import")
async def import_list(request: Request, done: Checked) -> Response:
    state = web_state(request)
    rt, csrf = state.runtime, done.session.csrf
    name = str(done.form.get("list", "")).strip().lower()
    upload = done.form.get("file")
    replace = str(done.form.get("replace", "")).lower() in _YES

    def refuse(message: str, status_code: int, **more: Any) -> Response:
        context = _context(name=name, error=message, **more)
        return page(request, "import.html.j2", context, csrf=csrf, status_code=status_code)

    if not SLUG.fullmatch(name) or len(name) > _MAX_NAME:
        return refuse(
            "The list name must be a slug: lowercase letters, digits and hyphens "
            "(for example regional-desks).",
            400,
        )
    if not isinstance(upload, UploadFile) or not upload.filename:
        return refuse("Choose a CSV file to upload.", 400)
    folder = state.settings.paths.subscribers
    target = folder / f"{name}.csv"
    shown = f"{folder.name}/{target.name}"
    if target.exists() and not replace:
        return refuse(f"{shown} already exists: tick “replace” to overwrite it.", 409)

    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=folder))
    try:
        staged = staging / target.name
        await asyncio.to_thread(_copy, upload.file, staged)
        checked = await asyncio.to_thread(_check, staged, rt.regions)
        if checked.rows == 0:
            return refuse(f"No valid row: {shown} was not saved.", 400, **_report(checked, shown))
        await asyncio.to_thread(_place, staged, target, replace)
    except FileExistsError:
        return refuse(f"{shown} already exists: tick “replace” to overwrite it.", 409)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    tick = pipeline.TickReport()
    try:
        await pipeline.sync_files(rt, state.clock(), tick)
        synced = True
    except SQLAlchemyError:  # busy with another scan: the next scan picks the file up
        synced = False
    context = _context(
        name=name,
        saved=shown,
        synced=synced,
        changed=tick.subscribers_changed,
        **_report(checked, shown),
    )
    return page(request, "import.html.j2", context, csrf=csrf)


def _copy(source: IO[bytes], path: Path) -> None:
    source.seek(0)
    with path.open("wb") as handle:
        shutil.copyfileobj(source, handle, 1 << 16)
        handle.flush()
        os.fsync(handle.fileno())


def _check(path: Path, regions: RegionTree) -> ListCheck:
    """The same checks as ``pressdispatch check``; streams the file."""
    result = ListCheck()
    for item in read_subscriber_file(path, regions):
        if isinstance(item, Row):
            result.rows += 1
        else:
            result.problems.append(item)
    return result


def _place(staged: Path, target: Path, replace: bool) -> None:
    """Move the checked file into place in one step; never over a list unless ``replace``."""
    if replace:
        os.replace(staged, target)
    else:
        os.link(staged, target)  # FileExistsError if a list of that name appeared meanwhile


def _report(checked: ListCheck, shown: str) -> dict[str, Any]:
    return {
        "file": shown,
        "rows": checked.rows,
        "problems": [
            {"line": p.line or "", "field": p.field, "message": p.message}
            for p in checked.problems[:_SHOWN]
        ],
        "more_problems": max(len(checked.problems) - _SHOWN, 0),
        "checked": True,
    }


def _context(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "",
        "file": "",
        "error": "",
        "saved": "",
        "synced": False,
        "changed": 0,
        "rows": 0,
        "problems": [],
        "more_problems": 0,
        "checked": False,
    }
    return base | values
