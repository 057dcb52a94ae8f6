"""Who opened their embargoed link to a release, in which language, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from pressdispatch.store.db import Database
from pressdispatch.store.schema import embargo_views

__all__ = ["EmbargoView", "EmbargoViews"]


@dataclass(frozen=True, slots=True)
class EmbargoView:
    address: str
    language: str
    at: datetime
    item: str = ""  # a medium's file name, or all.zip; "" for the page


class EmbargoViews:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, release_id: str, address: str, language: str, at: datetime, item: str = ""
    ) -> None:
        statement = embargo_views.insert().values(
            release_id=release_id, address=address, language=language, viewed_at=at, item=item
        )
        await self.db.transaction(lambda conn: conn.execute(statement))

    async def of(self, release_id: str, limit: int = 100) -> list[EmbargoView]:
        """The release's latest readings, latest first."""
        v = embargo_views.c
        query = (
            select(v.address, v.language, v.viewed_at, v.item)
            .where(v.release_id == release_id)
            .order_by(v.viewed_at.desc(), v.id.desc())
            .limit(limit)
        )
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return [EmbargoView(row.address, row.language, row.viewed_at, row.item) for row in rows]

    async def count(self, release_id: str) -> int:
        query = select(func.count()).where(embargo_views.c.release_id == release_id)
        found: int | None = await self.db.read(lambda conn: conn.scalar(query))
        return found or 0
