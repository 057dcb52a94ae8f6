"""Throwaway PostgreSQL databases for tests, cheap enough to have one per test.

The first test that asks builds a migrated template database, and a test that needs a
database while none is free gets a clone of it (``CREATE DATABASE … TEMPLATE``), which
skips the migrations. A clone costs PostgreSQL some 300 ms of disk work to create and
drop, against some 15 ms to empty its tables, so a test's database is emptied when the
test ends (TRUNCATE … RESTART IDENTITY, ids start again at 1) and handed to the next
test; one whose tables no longer match the template's is dropped instead. Each test
process (pytest-xdist worker) has its own template and clones; ``close()`` drops them
all when the session ends.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import psycopg

from pressdispatch.store.migrate import upgrade_sync

ADMIN_URL = os.environ.get(
    "PRESSDISPATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_PREFIX = "pressdispatch_test_"


@functools.cache
def available() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def url_of(name: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def _create(name: str, template: str | None = None) -> str:
    clause = f' TEMPLATE "{template}"' if template else ""
    _admin(f'CREATE DATABASE "{name}"{clause}')
    return name


def _drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _new_name() -> str:
    return f"{_PREFIX}{uuid.uuid4().hex[:12]}"


def _tables(conn: psycopg.Connection[tuple[str]]) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    return [row[0] for row in rows]


def _emptied(name: str, tables: list[str]) -> bool:
    """Empty a used clone for the next test, if it still has the template's tables."""
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            # A connection a test left open would hold its locks and block TRUNCATE.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        with psycopg.connect(url_of(name), autocommit=True) as conn:
            if _tables(conn) != tables:
                return False
            data = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
            conn.execute(f"TRUNCATE {data} RESTART IDENTITY CASCADE")
        return True
    except psycopg.Error:
        return False


class _Clones:
    """The template, the emptied clones waiting for a test, and the drops under way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._template: str | None = None
        self._tables: list[str] = []
        self._free: list[str] = []
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clones")
        self._dropping: queue.SimpleQueue[Future[None]] = queue.SimpleQueue()

    def _template_name(self) -> str:
        if self._template is None:
            name = _create(_new_name().replace(_PREFIX, "pressdispatch_template_"))
            try:
                upgrade_sync(url_of(name))
                with psycopg.connect(url_of(name)) as conn:
                    self._tables = _tables(conn)
            except BaseException:
                _drop(name)
                raise
            self._template = name
        return self._template

    def take(self) -> str:
        """A migrated database, empty, for the caller alone."""
        with self._lock:
            if self._free:
                return self._free.pop()
            template = self._template_name()
        return _create(_new_name(), template)

    def give_back(self, name: str) -> None:
        if _emptied(name, self._tables):
            with self._lock:
                self._free.append(name)
        else:
            self.drop(name)

    def drop(self, name: str) -> None:
        self._dropping.put(self._work.submit(_drop, name))

    def close(self) -> None:
        with self._lock:
            for name in self._free:
                self.drop(name)
            self._free.clear()
            if self._template is not None:
                self.drop(self._template)
                self._template = None
        while not self._dropping.empty():
            self._dropping.get().result()


_clones = _Clones()


@contextmanager
def database(*, migrated: bool = True) -> Iterator[str]:
    """The URL of a throwaway database, dropped afterwards: a clone of the migrated
    template, or (``migrated=False``) an empty one, for tests of the migrations and of
    processes racing to create the tables."""
    if not migrated:
        name = _create(_new_name())
        try:
            yield url_of(name)
        finally:
            _clones.drop(name)
        return
    name = _clones.take()
    try:
        yield url_of(name)
    finally:
        _clones.give_back(name)


def close() -> None:
    """Drop what this process created (once the session ends)."""
    _clones.close()
