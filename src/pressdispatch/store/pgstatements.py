"""PostgreSQL's statements straight to psycopg (``Database.statement``, db.py): the
engine's claim and outcome statements, each one prepared statement in autocommit; and
bulk loads with COPY (``Database.copy``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError

__all__ = ["Statements"]


class Statements:
    """A few psycopg connections kept open for ``Database.statement`` (db.py), in autocommit
    mode: a single statement is its own transaction, with no BEGIN or COMMIT to send.

    Each caller (the claimer, the recorder) takes an idle connection or opens one. A
    connection left mid-statement (its caller cancelled) or broken is closed; one that
    broke while it sat idle (the server restarted) is replaced and the statement sent
    again, as the pool's liveness ping would have done.

    Commits do not wait for the WAL to reach the disk (``synchronous_commit = off``):
    each sender waits for its outcome's commit, and waiting for a flush as well would
    add it to every message. A crash of this process loses nothing committed; a crash
    of the database server's machine may lose its last fraction of a second of
    commits, and those messages are then sent again (never lost): SQLite's
    ``synchronous=NORMAL`` in WAL mode makes the same trade.
    """

    _KEEP = 4  # idle connections kept: the engine's claimer, recorder and a spare

    def __init__(self, url: str) -> None:
        self._conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._idle: list[psycopg.AsyncConnection[tuple[Any, ...]]] = []
        self._closed = False

    async def run(
        self, query: LiteralString, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        if self._idle:
            conn = self._idle.pop()
            try:
                return await self._execute(conn, query, params)
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
        return await self._execute(await self._connect(), query, params)

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """``rows`` into ``table`` with one ``COPY … FROM STDIN``, in its own transaction."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        conn = self._idle.pop() if self._idle else await self._connect()
        try:
            async with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    await copy.write_row(row)
        except psycopg.DataError as exc:  # a value refused: said as the store's callers expect
            raise DataError(f"COPY {table}", None, exc) from exc
        finally:
            await self._release(conn)

    async def _connect(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        # The statements here touch a few rows each, found through an index; the
        # planner's statistics rarely count the rows they touch (queued, sending: they
        # come and go between two ANALYZEs) and, expecting a handful, it read a whole
        # table or bitmap (pgledger.py). One round trip for the three settings.
        await conn.execute(
            "SET synchronous_commit = off; SET enable_bitmapscan = off; SET enable_seqscan = off"
        )
        return conn

    async def _execute(
        self,
        conn: psycopg.AsyncConnection[tuple[Any, ...]],
        query: LiteralString,
        params: Sequence[Any] | Mapping[str, Any],
    ) -> list[tuple[Any, ...]]:
        try:
            cursor = await conn.execute(query, params, prepare=True)
            return await cursor.fetchall() if cursor.description is not None else []
        finally:
            await self._release(conn)

    async def _release(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """Keep ``conn`` for the next caller if it is idle and whole; close it otherwise."""
        idle = conn.info.transaction_status is psycopg.pq.TransactionStatus.IDLE
        if idle and not conn.broken and not self._closed and len(self._idle) < self._KEEP:
            self._idle.append(conn)
        else:
            await conn.close()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
