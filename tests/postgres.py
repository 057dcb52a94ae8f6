"""Throwaway PostgreSQL databases for tests, cheap enough to have one per test.

The first test that asks builds a migrated template database; every test then gets a
clone of it (``CREATE DATABASE … TEMPLATE``), which skips the migrations. Creating a
database still costs PostgreSQL a few hundred milliseconds of disk work, so the next
clone is made in a background thread while a test runs, and a used one is dropped
there too. Each test process (pytest-xdist worker) has its own template and clones;
``close()`` drops them all when the session ends.
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


class _Clones:
    """The template, the clone made ahead for the next test, and the drops under way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._template: str | None = None
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clones")
        self._next: Future[str] | None = None
        self._dropping: queue.SimpleQueue[Future[None]] = queue.SimpleQueue()

    def _template_name(self) -> str:
        if self._template is None:
            name = _create(_new_name().replace(_PREFIX, "pressdispatch_template_"))
            try:
                upgrade_sync(url_of(name))
            except BaseException:
                _drop(name)
                raise
            self._template = name
        return self._template

    def take(self) -> str:
        """A migrated database of its own for the caller; the next one starts now."""
        with self._lock:
            template = self._template_name()
            ready = self._next or self._work.submit(_create, _new_name(), template)
            self._next = self._work.submit(_create, _new_name(), template)
        return ready.result()

    def give_back(self, name: str) -> None:
        self._dropping.put(self._work.submit(_drop, name))

    def close(self) -> None:
        with self._lock:
            if self._next is not None:
                self._dropping.put(self._work.submit(_drop, self._next.result()))
                self._next = None
            if self._template is not None:
                self._dropping.put(self._work.submit(_drop, self._template))
                self._template = None
        while not self._dropping.empty():
            self._dropping.get().result()


_clones = _Clones()


@contextmanager
def database(*, migrated: bool = True) -> Iterator[str]:
    """The URL of a throwaway database, dropped afterwards: a clone of the migrated
    template, or (``migrated=False``) an empty one, for tests of the migrations and of
    processes racing to create the tables."""
    name = _clones.take() if migrated else _create(_new_name())
    try:
        yield url_of(name)
    finally:
        _clones.give_back(name)


def close() -> None:
    """Drop what this process created (once the session ends)."""
    _clones.close()
