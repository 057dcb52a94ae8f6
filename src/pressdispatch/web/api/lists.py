"""``/api/v1/lists/{name}`` and ``/api/v1/imports/{id}``: upload a subscriber list, follow it.

A list is uploaded as the CSV file itself (``Content-Type: text/csv``). The request
only stores it and records an import job, answered ``202 Accepted`` with the job and
its address in ``Location``; the web process then checks the file as
``pressdispatch check`` does, saves it as ``subscribers/<name>.csv`` and merges every
list into the store in short transactions, as the console's imports do
(``list_imports``). ``GET /imports/{id}`` tells where the job stands, with the
check's report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from pressdispatch.errors import Refused
from pressdispatch.list_imports import MAX_UPLOAD, SHOWN, receive, shown_file
from pressdispatch.store import imports
from pressdispatch.store.imports import ImportJob
from pressdispatch.web.api.common import ApiProblem, ProblemItem, Web, problems

__all__ = ["ImportOut", "ImportProblem", "router"]

router = APIRouter(tags=["lists"])

_TYPES = ("text/csv", "text/plain", "application/csv")
_STATUS = {"empty": 400, "exists": 409, "too-large": 413}


class ImportProblem(BaseModel):
    """One problem the check found in the file."""

    line: int | None = Field(description="its physical line, counting the header as 1")
    field: str = Field(description="the column at fault; empty for the whole row")
    message: str


class ImportOut(BaseModel):
    id: int
    name: str = Field(description="the list's name")
    file: str = Field(description="the list's file: subscribers/<list>.csv")
    replace: bool
    state: str = Field(description="queued, checking, merging, done or failed")
    size: int = Field(description="bytes uploaded")
    rows_read: int = Field(description="valid rows the check has read so far")
    problem_count: int = Field(description="problems the check found so far")
    problems: list[ImportProblem] = Field(description=f"the first {SHOWN} problems, in file order")
    rows_total: int = Field(description="rows of every list read into the store by the merge")
    rows_merged: int = Field(description="of those, rows merged into the journalists so far")
    changed: int = Field(description="journalists added or changed, once done")
    error: str | None = Field(description="why the import failed")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the list as a CSV file (docs/subscribers.md), at most "
        f"{MAX_UPLOAD // (1024 * 1024)} MB",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": ImportOut, "description": "Accepted; Location names the import"}
}


@router.put(
    "/lists/{name}",
    status_code=202,
    responses=problems(400, 401, 409, 413, 415, 422) | _ACCEPTED,
    openapi_extra=_BODY,
)
async def upload_list(
    name: str,
    request: Request,
    response: Response,
    state: Web,
    replace: bool = Query(False, description="overwrite the list if it exists"),
) -> ImportOut:
    """Store the file and queue its import: checked, saved as the list, merged."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in _TYPES:
        raise ApiProblem(415, "send the list as the body, with Content-Type: text/csv")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD:
        raise ApiProblem(413, f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    try:
        job_id = await receive(
            state.runtime, name, replace, request.stream(), origin="api", now=state.clock()
        )
    except Refused as exc:
        if exc.reason == "bad-name":
            item = ProblemItem(field="name", message=str(exc))
            raise ApiProblem(422, "the list was not uploaded: 1 problem", [item]) from None
        detail = str(exc)
        if exc.reason == "exists":
            detail = f"{shown_file(name)} already exists: add ?replace=true to overwrite it"
        raise ApiProblem(_STATUS[exc.reason], detail) from None
    state.imports.wakeup.set()
    root = str(request.scope.get("root_path", "")).rstrip("/")  # where the API is mounted
    response.headers["Location"] = f"{root}/imports/{job_id}"
    job = await imports.get(state.runtime.db, job_id)
    assert job is not None
    return _out(job)


@router.get("/imports/{import_id}", responses=problems(401, 404))
async def get_import(import_id: str, state: Web) -> ImportOut:
    """Where an upload's import stands, and what its check found."""
    found = import_id.isdigit() and len(import_id) < 19  # an id the store could hold
    job = await imports.get(state.runtime.db, int(import_id)) if found else None
    if job is None:
        raise ApiProblem(404, f"no import {import_id!r}")
    return _out(job)


def _out(job: ImportJob) -> ImportOut:
    return ImportOut(
        id=job.id,
        name=job.list_name,
        file=shown_file(job.list_name),
        replace=job.replace,
        state=job.state,
        size=job.size,
        rows_read=job.rows_read,
        problem_count=job.problem_count,
        problems=[
            ImportProblem(line=problem.line, field=problem.field, message=problem.message)
            for problem in job.problems
        ],
        rows_total=job.rows_total,
        rows_merged=job.rows_merged,
        changed=job.changed,
        error=job.error or None,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
