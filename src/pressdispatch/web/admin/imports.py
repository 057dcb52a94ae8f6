"""Uploading a subscriber list: stored at once, then checked and merged in the background.

The request only streams the file to disk and records an import job
(``list_imports.receive``), then sends the browser to the job's page. The web
process's ``ImportRunner`` checks the file as ``pressdispatch check`` does, saves
it as ``subscribers/<list>.csv`` and merges every list into the store in short
transactions (``list_imports`` describes the steps). The job's page follows it,
refreshing its figures from ``progress.json`` while it runs, and shows the check's
report: each problem with its line and field. The import form lists the latest jobs,
the columns a list may have (the loader's own ``COLUMNS``), and a sample file to start
from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from pressdispatch.config import Settings
from pressdispatch.content.subscribers import COLUMNS
from pressdispatch.errors import Refused
from pressdispatch.list_imports import SHOWN, receive, shown_file
from pressdispatch.store import imports
from pressdispatch.store.imports import ImportJob
from pressdispatch.web.admin.auth import ApiSession, Checked, PageSession
from pressdispatch.web.admin.common import (
    AdminRoute,
    back,
    json_response,
    local_time,
    not_found,
    page,
)
from pressdispatch.web.deps import web_state

__all__ = ["progress", "router"]

router = APIRouter(route_class=AdminRoute)

_YES = ("1", "on", "yes", "true")
_STATUS = {"bad-name": 400, "empty": 400, "exists": 409, "too-large": 413}
_RECENT = 20

# What the form says of each column (docs/subscribers.md has the whole story).
_COLUMN_HELP = {
    "email": "Required. One email address.",
    "name": "The journalist's name, in any script.",
    "outlet": "The newspaper, agency, radio or site.",
    "languages": "Language codes in order of preference: fr en is French, else English. "
    "Empty: the release's original language.",
    "regions": "Country codes or regions: BY europe western-africa. Empty: every region.",
    "topics": "Topic keywords: water climate. Empty: every topic.",
    "embargo": "yes if the journalist may receive embargoed copies; empty means no.",
}
_SAMPLE = (
    {
        "email": "claire.dubois@example.com",
        "name": "Claire Dubois",
        "outlet": "Le Courrier du Léman, Genève",
        "languages": "fr en",
        "regions": "europe",
        "embargo": "yes",
    },
    {
        "email": "james.okafor@example.com",
        "name": "James Okafor",
        "outlet": "Lagos Evening Ledger",
        "languages": "en",
        "regions": "africa",
        "topics": "food climate",
        "embargo": "no",
    },
    {"email": "daniel.kim@example.com", "name": "Daniel Kim", "outlet": "Global Wire Service"},
)


@router.get("/admin/import", name="admin.import_form")
async def import_form(request: Request, session: PageSession) -> Response:
    return await _form(request, session.csrf)


@router.get("/admin/import/sample.csv", name="admin.import_sample")
async def sample(session: PageSession) -> Response:
    """A list to start from: every column, three example journalists."""
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel reads it as UTF-8
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    writer.writerows(_SAMPLE)
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sample.csv"'},
    )


@router.post("/admin/import", name="admin.import")
async def import_list(request: Request, done: Checked) -> Response:
    state = web_state(request)
    name = str(done.form.get("list", "")).strip().lower()
    upload = done.form.get("file")
    replace = str(done.form.get("replace", "")).lower() in _YES
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Refused("empty", "Choose a CSV file to upload.")
        job_id = await receive(
            state.runtime, name, replace, _chunks(upload), origin="console", now=state.clock()
        )
    except Refused as exc:
        error = str(exc)
        if exc.reason == "exists":
            error = f"{shown_file(name)} already exists: tick “replace” to overwrite it."
        return await _form(request, done.session.csrf, name, error, _STATUS[exc.reason])
    state.imports.wakeup.set()
    return back(f"/admin/imports/{job_id}")


@router.get("/admin/imports/{import_id}", name="admin.import_job")
async def import_page(request: Request, import_id: str, session: PageSession) -> Response:
    state = web_state(request)
    job = await _job(request, import_id)
    if job is None:
        return not_found(request, f"import {import_id!r}", session.csrf)
    context = {
        "job": job,
        "view": progress(job),
        "file": shown_file(job.list_name),
        "created": local_time(job.created_at, state.settings),
        "finished": local_time(job.finished_at, state.settings),
        "more_problems": max(job.problem_count - len(job.problems), 0),
    }
    return page(request, "import-job.html.j2", context, csrf=session.csrf)


@router.get("/admin/imports/{import_id}/progress.json", name="admin.import_progress")
async def import_progress(request: Request, import_id: str, session: ApiSession) -> Response:
    job = await _job(request, import_id)
    if job is None:
        return json_response({"error": f"no import {import_id!r}"}, 404)
    return json_response(progress(job))


def progress(job: ImportJob) -> dict[str, Any]:
    """What the job's page shows and refreshes while it runs."""
    return {
        "id": job.id,
        "list": job.list_name,
        "state": job.state,
        "rows_read": job.rows_read,
        "problem_count": job.problem_count,
        "rows_total": job.rows_total,
        "rows_merged": job.rows_merged,
        "changed": job.changed,
        "error": job.error,
        "live": not job.finished,
    }


async def _job(request: Request, import_id: str) -> ImportJob | None:
    if not import_id.isdigit() or len(import_id) > 18:
        return None
    return await imports.get(web_state(request).runtime.db, int(import_id))


async def _form(
    request: Request, csrf: str, name: str = "", error: str = "", status_code: int = 200
) -> Response:
    state = web_state(request)
    jobs = await imports.recent(state.runtime.db, _RECENT)
    context = {
        "name": name,
        "error": error,
        "jobs": [_row(job, state.settings) for job in jobs],
        "shown": SHOWN,
        "columns": [(column, _COLUMN_HELP[column]) for column in COLUMNS],
    }
    return page(request, "import.html.j2", context, csrf=csrf, status_code=status_code)


def _row(job: ImportJob, settings: Settings) -> dict[str, Any]:
    return {
        **progress(job),
        "file": shown_file(job.list_name),
        "created": local_time(job.created_at, settings),
        "replace": job.replace,
    }


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(1 << 16):
        yield chunk
