"""Many rows into a table at once, past SQLAlchemy's per-value binding: the driver's
executemany on SQLite, one INSERT of arrays on PostgreSQL (the list sync's staging and
its new journalists)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from pressdispatch.store.schema import UtcDateTime, sqlite_time

__all__ = ["insert_many"]


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``table.insert()`` of ``rows`` (same keys each), through the driver's executemany.

    SQLAlchemy binds each value of each row through its type, which cost more than the
    insert itself at a hundred thousand journalists. The columns' Python-side defaults
    are filled in here, and times written as ``UtcDateTime`` writes them.
    """
    if conn.dialect.name != "sqlite":
        _insert_arrays(conn, table, rows)
        return
    names = list(rows[0])
    defaults = {
        column.name: column.default.arg
        for column in table.columns
        if column.name not in rows[0] and isinstance(column.default, ScalarElementColumnDefault)
    }
    columns = [*names, *defaults]
    times = {n for n in names if isinstance(table.c[n].type, UtcDateTime)}
    marks = ", ".join(["?"] * len(columns))
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    fixed = tuple(defaults.values())
    stored = functools.lru_cache(maxsize=4)(sqlite_time)  # a step's rows share their times
    values = [
        tuple(stored(row[n]) if n in times else row[n] for n in names) + fixed for row in rows
    ]
    conn.exec_driver_sql(statement, values)


def _insert_arrays(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: ``table.insert()`` of ``rows`` as one statement, each column an array.

    The driver's executemany sends one INSERT a row; the server then spends more on
    each statement than on its row. The arrays go in binary (``%b``): psycopg writes a
    text array in Python, quoting each element. Columns left out take their Python-side
    default.
    """
    names = list(rows[0])
    defaults = {
        column.name: column.default.arg
        for column in table.columns
        if column.name not in rows[0] and isinstance(column.default, ScalarElementColumnDefault)
    }
    times = {n for n in names if isinstance(table.c[n].type, UtcDateTime)}
    params = {
        n: [_stored_time(row[n]) for row in rows] if n in times else [row[n] for row in rows]
        for n in names
    } | {f"d_{n}": value for n, value in defaults.items()}
    arrays = [
        f"%({n})s::{table.c[n].type.compile(dialect=conn.dialect)}[]"
        if _nul(params[n])  # the text format, whose writer names the culprit: a NUL
        else f"%({n})b::{table.c[n].type.compile(dialect=conn.dialect)}[]"
        for n in names
    ]
    fixed = [f"%(d_{n})s" for n in defaults]
    columns = ", ".join([*names, *defaults])
    statement = (
        f"INSERT INTO {table.name} ({columns}) "  # noqa: S608
        f"SELECT {', '.join([*(f'a.{n}' for n in names), *fixed])} "
        f"FROM unnest({', '.join(arrays)}) AS a({', '.join(names)})"
    )
    conn.exec_driver_sql(statement, params)


def _nul(values: list[Any]) -> bool:
    """Whether a text among ``values`` holds a NUL, which PostgreSQL refuses.

    In binary the server refuses it as an "invalid byte sequence"; psycopg's text
    format refuses it first, saying that text fields cannot contain NUL.
    """
    return any(isinstance(v, str) and "\x00" in v for v in values)


def _stored_time(value: datetime | None) -> Any:
    """PostgreSQL: a time as ``UtcDateTime`` stores it (naive UTC)."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)
