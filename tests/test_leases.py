"""Leases, fencing and heartbeats: a delivery is held by one process at a time, and a
process that was taken for dead records nothing and sends nothing more. Both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from pressdispatch.model import DeliveryStatus
from pressdispatch.pipeline import tick
from pressdispatch.runtime import Runtime
from pressdispatch.store.ports import Claim, Update
from pressdispatch.store.schema import deliveries, workers

from .dispatching import Newsroom, runtime, utc
from .smtpd import Fault, smtp_server

pytestmark = pytest.mark.databases("sqlite", "postgresql")

LEASE = timedelta(minutes=5)


@asynccontextmanager
async def planned(newsroom: Newsroom, people: int) -> AsyncIterator[Runtime]:
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", [f"j{i:02d}@example.org,,en,,,no" for i in range(people)])
    async with runtime(newsroom.settings()) as rt:
        await tick(rt, utc())
        yield rt


async def rows(rt: Runtime) -> dict[int, tuple[str, str | None, str | None]]:
    """id -> (status, worker_id, lease_token)."""
    d = deliveries.c
    async with rt.db.engine.connect() as conn:
        result = await conn.execute(select(d.id, d.status, d.worker_id, d.lease_token))
        return {r[0]: (r[1], r[2], r[3]) for r in result}


async def heartbeat(rt: Runtime, worker_id: str | None) -> datetime:
    async with rt.db.engine.connect() as conn:
        beat = await conn.scalar(select(workers.c.heartbeat_at).where(workers.c.id == worker_id))
    assert beat is not None
    return beat


def sent(claim: Claim, at: datetime) -> Update:
    return Update(claim.id, claim.token, DeliveryStatus.SENT, 250, "250 OK", at)


async def test_an_outcome_is_recorded_only_with_the_token_it_was_claimed_with(
    newsroom: Newsroom,
) -> None:
    async with planned(newsroom, 2) as rt:
        now = utc()
        first = await rt.ledger.claim("a", now, 2, now + timedelta(seconds=1))
        # Its lease ran out; another process claims the same rows.
        later = now + timedelta(seconds=2)
        second = await rt.ledger.claim("b", later, 2, later + LEASE)
        assert sorted(c.id for c in second) == sorted(c.id for c in first)
        assert {c.token for c in first}.isdisjoint({c.token for c in second})

        lost = await rt.ledger.record([sent(c, later) for c in first])
        assert lost == {c.id for c in first}
        assert {status for status, *_ in (await rows(rt)).values()} == {"sending"}
        await rt.ledger.unclaim(first)  # nor can the first give them back
        assert {status for status, *_ in (await rows(rt)).values()} == {"sending"}

        assert await rt.ledger.record([sent(c, later) for c in second]) == set()
        assert {status for status, *_ in (await rows(rt)).values()} == {"sent"}


async def test_a_mixed_batch_records_the_outcomes_still_held(newsroom: Newsroom) -> None:
    async with planned(newsroom, 3) as rt:
        now = utc()
        mine = await rt.ledger.claim("a", now, 3, now - timedelta(seconds=1))  # expired at once
        theirs = await rt.ledger.claim("b", now, 1, now + LEASE)
        lost = await rt.ledger.record([sent(c, now) for c in mine])
        assert lost == {theirs[0].id}
        state = await rows(rt)
        assert state[theirs[0].id][:2] == ("sending", "b")
        assert sorted(s for s, *_ in state.values()) == ["sending", "sent", "sent"]


async def test_the_heartbeat_renews_leases_and_takes_back_the_deads(newsroom: Newsroom) -> None:
    async with planned(newsroom, 4) as rt:
        now = utc()
        alive = await rt.workers.join("service", now)
        dead = await rt.workers.join("worker", now - timedelta(minutes=1))
        async with rt.db.engine.begin() as conn:
            await conn.execute(
                update(workers)
                .where(workers.c.id == dead)
                .values(heartbeat_at=now - timedelta(minutes=1))
            )
        held = await rt.ledger.claim(alive, now, 2, now + timedelta(seconds=10))
        orphaned = await rt.ledger.claim(dead, now, 2, now + LEASE)
        # A silent process holding deliveries: `run --once` waits for its takeover.
        takeover = await rt.workers.takeover_at(alive, now, timedelta(seconds=15))
        assert takeover == now - timedelta(minutes=1) + timedelta(seconds=15)

        beat = await rt.workers.beat(
            alive, "service", now, now + LEASE, now - timedelta(seconds=15)
        )
        assert (beat.held, beat.revived) == (2, False)
        assert [w.id for w in await rt.workers.alive()] == [alive]
        assert await rt.workers.held(alive) == {c.id for c in held}
        assert await rt.workers.takeover_at(alive, now, timedelta(seconds=15)) is None
        # The dead one's rows are free at once, the live one's are not.
        again = await rt.ledger.claim(alive, now + timedelta(milliseconds=1), 10, now + LEASE)
        assert {c.id for c in again} == {c.id for c in orphaned}
        await rt.workers.leave(alive)
        assert await rt.workers.alive() == []


async def test_a_process_taken_for_dead_sends_nothing_more_and_records_nothing(
    newsroom: Newsroom,
) -> None:
    """Engine A is thought dead while its rows wait in memory; B takes them over.

    A's message already on the wire completes but is not recorded; the rows still
    queued in A's memory are dropped at A's next heartbeat and never sent from A.
    """
    slow = Fault("data", "250 2.0.0 OK", delay=1.0)
    async with smtp_server({"*": slow}) as server:
        newsroom.write_config(
            transport={"kind": "smtp"},
            smtp={"host": server.host, "port": server.port, "security": "none", "concurrency": 1},
            scheduler={"lease": "1.5s"},  # A beats every 0.5 s
        )
        async with planned(newsroom, 10) as rt:
            engine = rt.engine()
            stop = asyncio.Event()
            running = asyncio.create_task(engine.run(stop))
            try:
                for _ in range(100):  # until A holds its first claim
                    state = await rows(rt)
                    held = {i for i, (s, w, _) in state.items() if s == "sending" and w}
                    if held:
                        break
                    await asyncio.sleep(0.02)
                assert len(held) == 4  # one on the wire, three queued (four times the concurrency)
                (a,) = {state[i][1] for i in held}
                while not server.attempts.get(("*", "data")):  # the first is on the wire
                    await asyncio.sleep(0.02)
                named = len(server.rcpt_tos)
                # A is taken for dead: its heartbeat is old, another process reaps it
                # and claims its rows.
                now = utc()
                async with rt.db.engine.begin() as conn:
                    await conn.execute(
                        update(workers).values(heartbeat_at=now - timedelta(minutes=1))
                    )
                await rt.workers.beat(
                    "reaper", "worker", now, now + LEASE, now - timedelta(seconds=15)
                )
                taken = await rt.ledger.claim("b", utc(), 4, utc() + LEASE)
                assert {c.id for c in taken} == held
                # A's message on the wire completes, then A beats (every 0.5 s). A queued
                # row sent from A would have been named to the server by then: A starts
                # its next message as soon as the last is done.
                while not server.messages:
                    await asyncio.sleep(0.02)
                completed = utc()
                while await heartbeat(rt, a) <= completed:
                    await asyncio.sleep(0.02)
                taken_addresses = {c.address for c in taken}
                assert not taken_addresses & set(server.rcpt_tos[named:])
            finally:
                stop.set()
                await asyncio.wait_for(running, 15)
            state = await rows(rt)
    # B holds what it took; A recorded none of it and sent only the message it had on
    # the wire when it was taken over.
    assert all(state[i][:2] == ("sending", "b") for i in held)
    assert len(taken_addresses & set(server.recipients())) == 1
    assert engine.stats.outcomes["sent"] == len(server.recipients()) - 1
