"""Sending processes and their heartbeats: who holds which leases, and who has died.

Each `run`, `run --once` and `worker` process joins when its engine starts and
leaves when it stops cleanly. While it lives it beats: one short transaction
that notes the time, renews the leases of every delivery it holds, and takes
back the leases of any process whose last beat is older than the limit (killed,
frozen, or its machine gone). Those deliveries are then sent again at once,
instead of after their lease.

Why sending stopped, if it did (a relay that cannot be used as configured), is
kept here too, for `status` and the console.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Select, delete, exists, func, select, update

from pressdispatch.model import DeliveryStatus
from pressdispatch.store.db import Database
from pressdispatch.store.dialect import insert
from pressdispatch.store.ports import Beat
from pressdispatch.store.schema import deliveries, state, workers

_STOPPAGE = "dispatch.stopped"


@dataclass(frozen=True, slots=True)
class Worker:
    id: str
    host: str
    pid: int
    kind: str  # service, worker, once
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class Stoppage:
    """Why sending stopped: the transport cannot work as configured."""

    message: str
    since: datetime


def _row(worker_id: str, kind: str, now: datetime) -> dict[str, object]:
    return {
        "id": worker_id,
        "host": socket.gethostname()[:255],
        "pid": os.getpid(),
        "kind": kind,
        "started_at": now,
        "heartbeat_at": now,
    }


def _unlocked(owner: ColumnElement[bool]) -> Select[tuple[int]]:
    """The ids of the ``sending`` deliveries of ``owner`` that no transaction has locked."""
    d = deliveries.c
    sending = d.status == DeliveryStatus.SENDING
    return select(d.id).where(owner, sending).with_for_update(skip_locked=True)


class Workers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def join(self, kind: str, now: datetime) -> str:
        worker_id = secrets.token_hex(8)
        row = _row(worker_id, kind, now)
        await self.db.transaction(lambda conn: conn.execute(workers.insert().values(**row)))
        return worker_id

    async def beat(
        self,
        worker_id: str,
        kind: str,
        now: datetime,
        lease_until: datetime,
        dead_before: datetime,
    ) -> Beat:
        """Note that ``worker_id`` lives, renew its leases, take back the dead's."""
        d = deliveries.c

        def work(conn: Connection) -> Beat:
            noted = conn.execute(
                update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now)
            ).rowcount
            if not noted:  # others took it for dead (it was silent too long): back in
                conn.execute(workers.insert().values(**_row(worker_id, kind, now)))
            # SKIP LOCKED (PostgreSQL; SQLite has one writer at a time): a row locked now
            # is being recorded or claimed, and waiting for it could deadlock with that
            # transaction, which locks its rows in another order.
            mine = _unlocked(d.worker_id == worker_id)
            renewed = conn.execute(
                update(deliveries).where(d.id.in_(mine)).values(lease_until=lease_until)
            ).rowcount
            dead = select(workers.c.id).where(workers.c.heartbeat_at < dead_before)
            conn.execute(
                update(deliveries)
                .where(d.id.in_(_unlocked(d.worker_id.in_(dead))))
                .values(lease_until=now)
            )
            conn.execute(delete(workers).where(workers.c.heartbeat_at < dead_before))
            return Beat(int(renewed), revived=not noted)

        return await self.db.transaction(work)

    async def held(self, worker_id: str) -> set[int]:
        """The deliveries ``worker_id`` holds now (its leases not taken over)."""
        d = deliveries.c
        query = select(d.id).where(d.worker_id == worker_id, d.status == DeliveryStatus.SENDING)
        return await self.db.read(lambda conn: set(conn.scalars(query)))

    async def takeover_at(
        self, worker_id: str, silent_before: datetime, dead_after: timedelta
    ) -> datetime | None:
        """When the leases of processes that stopped beating can be taken back, if any.

        Only processes silent since ``silent_before`` and holding deliveries count:
        a live one beats well within that.
        """
        d = deliveries.c
        holds = exists().where(d.worker_id == workers.c.id, d.status == DeliveryStatus.SENDING)
        query = select(func.min(workers.c.heartbeat_at)).where(
            workers.c.id != worker_id, workers.c.heartbeat_at < silent_before, holds
        )
        last = await self.db.read(lambda conn: conn.scalar(query))
        return None if last is None else last + dead_after

    async def leave(self, worker_id: str) -> None:
        statement = delete(workers).where(workers.c.id == worker_id)
        await self.db.transaction(lambda conn: conn.execute(statement))

    async def alive(self) -> list[Worker]:
        query = select(workers).order_by(workers.c.started_at)
        rows = await self.db.read(lambda conn: conn.execute(query).all())
        return [Worker(**row._mapping) for row in rows]

    async def note_stoppage(self, message: str | None, now: datetime) -> None:
        """Keep the transport's problem (None: it is solved) for `status` and the console."""

        def work(conn: Connection) -> None:
            if message is None:
                conn.execute(delete(state).where(state.c.key == _STOPPAGE))
                return
            value = json.dumps({"message": message, "since": now.isoformat()})
            statement = insert(state, self.db.dialect).values(key=_STOPPAGE, value=value)
            conn.execute(
                statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
            )

        await self.db.transaction(work)

    async def stoppage(self) -> Stoppage | None:
        query = select(state.c.value).where(state.c.key == _STOPPAGE)
        value = await self.db.read(lambda conn: conn.scalar(query))
        if value is None:
            return None
        data = json.loads(value)
        return Stoppage(str(data["message"]), datetime.fromisoformat(data["since"]))
