"""The scheduler's lock: one `run` process leads at a time; another takes over when it
stops, dies or hangs. Both databases (an advisory lock on PostgreSQL, a lease on SQLite).

The processes here are Database objects of this test, each with its own connections, as
separate processes would have; tests/test_service.py kills real ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from pressdispatch.leadership import Leadership
from pressdispatch.store.db import Database, open_database
from pressdispatch.store.leader import SchedulerLock, current

from . import postgres
from .dispatching import Newsroom

pytestmark = pytest.mark.databases("sqlite", "postgresql")

TTL = timedelta(seconds=30)  # long: a lease that should run out is given its own


@asynccontextmanager
async def databases(newsroom: Newsroom, n: int) -> AsyncIterator[list[Database]]:
    """``n`` processes' connections to the newsroom's store."""
    dbs = [open_database(newsroom.db_url) for _ in range(n)]
    try:
        yield dbs
    finally:
        for db in dbs:
            await db.dispose()


async def test_one_holds_the_lock_and_the_next_takes_it_when_given_up(
    newsroom: Newsroom,
) -> None:
    async with databases(newsroom, 2) as (one, two):
        a, b = SchedulerLock(one), SchedulerLock(two)
        try:
            assert await a.take("a", TTL)
            assert not await b.take("b", TTL)
            assert await a.keep("a", TTL)
            lead = await current(one)
            assert lead is not None and lead.owner == "a"
            await a.give_up("a")
            assert await current(one) is None
            assert await b.take("b", TTL)
            assert not await a.take("a", TTL)
            await b.give_up("b")
        finally:
            await a.close()
            await b.close()


async def test_a_holder_that_stops_renewing_loses_the_lock(newsroom: Newsroom) -> None:
    """A hung leader: its lease runs out; on PostgreSQL its session still holds the
    advisory lock, so the candidate ends that session and takes the lock at its next try."""
    async with databases(newsroom, 2) as (one, two):
        a, b = SchedulerLock(one), SchedulerLock(two)
        try:
            assert await a.take("a", timedelta(milliseconds=200))
            assert not await b.take("b", TTL)
            await asyncio.sleep(0.3)  # a is silent past its lease
            for _ in range(50):  # as at each beat; the session ends soon after it is told to
                if await b.take("b", TTL):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("b never took the lock")
            assert not await a.keep("a", TTL)  # a wakes up: it knows it no longer leads
            lead = await current(two)
            assert lead is not None and lead.owner == "b"
            await b.give_up("b")
        finally:
            await a.close()
            await b.close()


async def test_the_survivor_leads_within_a_beat_when_the_leader_stops(
    newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pressdispatch")
    # A beat of 0.4 s: with a shorter one (a lease of 0.3 s), a loaded machine could
    # make a renewal late enough for the other to take the lead while the first lived.
    every = timedelta(milliseconds=400)
    async with databases(newsroom, 2) as dbs:
        led: list[str] = []
        leaders = [
            Leadership(db, every=every, on_lead=lambda name=name: led.append(name))
            for db, name in zip(dbs, "ab", strict=True)
        ]
        stops = [asyncio.Event(), asyncio.Event()]
        tasks = [
            asyncio.create_task(leader.keep(name, stop))
            for leader, name, stop in zip(leaders, "ab", stops, strict=True)
        ]
        try:
            for _ in range(100):
                if led:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(1.0)  # several tries of the other
            assert len(led) == 1
            first = "ab".index(led[0])
            assert [x.leading for x in leaders] == [i == first for i in range(2)]

            stops[first].set()
            await tasks[first]
            for _ in range(100):  # within a beat, and the time to take the lock
                if len(led) == 2:
                    break
                await asyncio.sleep(0.02)
            assert led == [led[0], "ab"[1 - first]]
            assert leaders[1 - first].leading and not leaders[first].leading
        finally:
            for stop in stops:
                stop.set()
            await asyncio.gather(*tasks)
    assert caplog.text.count("now leads the scheduler") == 2
    assert "no longer leads the scheduler" in caplog.text


@pytest.mark.databases("postgresql")
async def test_a_hung_holder_is_looked_for_in_this_store_only(newsroom: Newsroom) -> None:
    """Two newsrooms' stores on one server, their leaders named alike: a candidate that
    finds its own holder's lease run out must not end the other store's holder."""
    with postgres.database(migrated=True) as other_url:
        ours, theirs = open_database(newsroom.db_url), open_database(other_url)
        a_ours, a_theirs, b = SchedulerLock(ours), SchedulerLock(theirs), SchedulerLock(ours)
        try:
            assert await a_theirs.take("a", TTL)  # the other newsroom's leader
            assert await a_ours.take("a", timedelta(milliseconds=100))
            await asyncio.sleep(0.2)  # ours hangs past its lease
            for _ in range(20):
                if await b.take("b", TTL):
                    break
                await asyncio.sleep(0.05)
            assert await a_theirs.keep("a", TTL)  # still leads its own store
        finally:
            for lock in (a_ours, a_theirs, b):
                await lock.close()
            await ours.dispose()
            await theirs.dispose()
