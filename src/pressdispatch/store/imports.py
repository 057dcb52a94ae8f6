"""List uploads as jobs: recorded by a request, worked through by the web process.

A job belongs to the process working on it (``owner``) while that process keeps
beating (``heartbeat_at``); a job whose owner let go of it, or stopped beating, may
be claimed by any process. Every write of a worker names it, so one that lost its
job (it stalled, and another took over) changes nothing any more.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from pressdispatch.store.db import Database
from pressdispatch.store.schema import UNFINISHED_IMPORTS, imports

__all__ = ["ImportJob", "Job", "JobProblem", "claim", "create", "get", "recent", "unfinished"]


@dataclass(frozen=True, slots=True)
class JobProblem:
    """A problem the check found in the upload."""

    line: int | None  # None: the whole file
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportJob:
    """One upload and where its job stands."""

    id: int
    list_name: str
    replace: bool
    origin: str
    upload: str
    size: int
    state: str
    rows_read: int
    problem_count: int
    problems: tuple[JobProblem, ...]  # the first ones, in order
    rows_total: int
    rows_merged: int
    changed: int
    error: str
    owner: str | None
    heartbeat_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED_IMPORTS


def _job(row: Any) -> ImportJob:
    return ImportJob(
        id=int(row.id),
        list_name=row.list_name,
        replace=bool(row.replace_list),
        origin=row.origin,
        upload=row.upload,
        size=int(row.size),
        state=row.state,
        rows_read=int(row.rows_read),
        problem_count=int(row.problem_count),
        problems=tuple(JobProblem(**problem) for problem in json.loads(row.problems)),
        rows_total=int(row.rows_total),
        rows_merged=int(row.rows_merged),
        changed=int(row.changed),
        error=row.error,
        owner=row.owner,
        heartbeat_at=row.heartbeat_at,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def create(
    db: Database,
    *,
    list_name: str,
    replace: bool,
    origin: str,
    upload: str,
    size: int,
    now: datetime,
) -> int:
    """Record a queued job for an upload already stored; its id."""
    values = {
        "list_name": list_name,
        "replace_list": replace,
        "origin": origin,
        "upload": upload,
        "size": size,
        "state": "queued",
        "rows_read": 0,
        "problem_count": 0,
        "problems": "[]",
        "rows_total": 0,
        "rows_merged": 0,
        "changed": 0,
        "error": "",
        "created_at": now,
    }

    def work(conn: Connection) -> int:
        key = conn.execute(imports.insert().values(values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    return await db.transaction(work)


async def get(db: Database, job_id: int) -> ImportJob | None:
    query = select(imports).where(imports.c.id == job_id)
    row = await db.read(lambda conn: conn.execute(query).first())
    return None if row is None else _job(row)


async def recent(db: Database, limit: int = 20) -> list[ImportJob]:
    """The latest jobs, newest first."""
    query = select(imports).order_by(imports.c.id.desc()).limit(limit)
    return await db.read(lambda conn: [_job(row) for row in conn.execute(query)])


async def unfinished(db: Database) -> list[ImportJob]:
    """Every job not done or failed, oldest first."""
    query = select(imports).where(imports.c.state.in_(UNFINISHED_IMPORTS)).order_by(imports.c.id)
    return await db.read(lambda conn: [_job(row) for row in conn.execute(query)])


async def claim(db: Database, job_id: int, owner: str, now: datetime, stale: datetime) -> bool:
    """Make ``owner`` the job's worker if nobody works on it, or its worker fell silent."""
    statement = (
        update(imports)
        .where(
            imports.c.id == job_id,
            imports.c.state.in_(UNFINISHED_IMPORTS),
            or_(imports.c.owner.is_(None), imports.c.heartbeat_at < stale),
        )
        .values(owner=owner, heartbeat_at=now)
    )
    return await db.transaction(lambda conn: bool(conn.execute(statement).rowcount))


class Job:
    """The writes of the process that claimed a job; each is False once the job is lost."""

    def __init__(self, db: Database, job_id: int, owner: str) -> None:
        self.db = db
        self.id = job_id
        self.owner = owner

    async def set(self, now: datetime, **values: Any) -> bool:
        """Record progress (``rows_read=…``, ``state=…``); also a heartbeat."""
        if "problems" in values:
            problems = [dataclasses.asdict(problem) for problem in values["problems"]]
            values["problems"] = json.dumps(problems, ensure_ascii=False)
        statement = (
            update(imports)
            .where(imports.c.id == self.id, imports.c.owner == self.owner)
            .values(heartbeat_at=now, **values)
        )
        return await self.db.transaction(lambda conn: bool(conn.execute(statement).rowcount))

    async def finish(self, now: datetime, state: str, **values: Any) -> bool:
        """Done or failed: nobody works on it any more."""
        return await self.set(now, state=state, finished_at=now, owner=None, **values)

    async def let_go(self) -> None:
        """Leave it as it stands to whoever starts next (this process is stopping)."""
        statement = (
            update(imports)
            .where(imports.c.id == self.id, imports.c.owner == self.owner)
            .values(owner=None)
        )
        await self.db.transaction(lambda conn: conn.execute(statement))
