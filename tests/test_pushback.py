"""The fault matrix: the engine against an SMTP server that pushes back, on both databases.

Each case runs the service's engine (as `pressdispatch run` does) against a real aiosmtpd
server that misbehaves in one way, until the ledger has nothing left to send. Each asserts
the final ledger, exactly one accepted copy per journalist, and a bound on the wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from pressdispatch.model import UNFINISHED
from pressdispatch.pipeline import tick
from pressdispatch.store.schema import deliveries, subscribers

from .dispatching import Newsroom, runtime, utc
from .smtpd import Fault, SmtpServer, free_port, smtp_server

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def crowd(n: int, domain: str = "example.org") -> list[str]:
    return [f"j{i:04d}@{domain},,en,,,no" for i in range(n)]


@dataclass
class Finished:
    seconds: float
    rows: dict[str, tuple[str, int]]  # address -> (status, attempts)
    problem: str | None
    tried: int  # deliveries with a first attempt on record

    def statuses(self) -> Counter[str]:
        return Counter(status for status, _ in self.rows.values())


def configure(
    newsroom: Newsroom,
    port: int,
    *,
    smtp: Mapping[str, Any] | None = None,
    scheduler: Mapping[str, Any] | None = None,
) -> None:
    newsroom.write_config(
        transport={"kind": "smtp"},
        smtp={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "timeout": "3s",
            **(smtp or {}),
        },
        scheduler={"retry_initial": "0.3s", "retry_max": "1s", **(scheduler or {})},
    )


async def send_all(
    newsroom: Newsroom, limit: float, after_problem: float | None = None
) -> Finished:
    """Plan the due release, then run the engine until nothing is left to send (or ``limit``).

    With ``after_problem``, stop that many seconds after the engine reports a problem
    with the transport: long enough to see that it spends nothing more on it."""
    settings = newsroom.settings()
    async with runtime(settings) as rt:
        await tick(rt, utc())
        engine = rt.engine()
        stop = asyncio.Event()
        start = time.monotonic()
        running = asyncio.create_task(engine.run(stop))
        try:
            while time.monotonic() - start < limit and not running.done():
                if after_problem is not None and engine.problem is not None:
                    limit = min(limit, time.monotonic() - start + after_problem)
                    after_problem = None
                counts = await rt.ledger.counts()
                if not any(n for group, n in counts.items() if group.status in UNFINISHED):
                    break
                await asyncio.sleep(0.05)
            seconds = time.monotonic() - start
        finally:
            stop.set()
            await running
        async with rt.db.engine.connect() as conn:
            result = await conn.execute(
                select(
                    subscribers.c.email,
                    deliveries.c.status,
                    deliveries.c.attempts,
                    deliveries.c.first_attempt_at,
                ).join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            )
            rows, tried = {}, 0
            for r in result:
                rows[r[0]] = (r[1], r[2])
                tried += r[3] is not None
        return Finished(seconds, rows, engine.problem, tried)


def once_each(server: SmtpServer) -> Counter[str]:
    seen = Counter(server.recipients())
    twice = {address: n for address, n in seen.items() if n > 1}
    assert not twice, f"{len(twice)} journalists got it more than once: {twice}"
    return seen


async def test_451_at_rcpt_on_every_first_attempt_defers_only_that_recipient(
    newsroom: Newsroom,
) -> None:
    total = 200
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    # Greylisting: every recipient is refused once. A lease shorter than the whole run
    # must not matter: rows waiting in memory are renewed, never taken twice.
    faults = {f"j{i:04d}@example.org": Fault.tempfail(times=1) for i in range(total)}
    async with smtp_server(faults) as server:
        configure(newsroom, server.port, scheduler={"lease": "2s"})
        done = await send_all(newsroom, limit=60)
    assert done.statuses() == Counter(sent=total), done.statuses()
    assert {attempts for _, attempts in done.rows.values()} == {2}
    assert len(once_each(server)) == total
    # Per-recipient refusals do not slow the relay down: two quick passes.
    assert done.seconds < 15, done.seconds


async def test_550_for_one_domain_fails_those_and_sends_the_rest(newsroom: Newsroom) -> None:
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    gone = crowd(10, "gone.example")
    newsroom.subscribers("press", crowd(60) + gone)
    faults = {row.split(",")[0]: Fault.user_unknown() for row in gone}
    async with smtp_server(faults) as server:
        configure(newsroom, server.port)
        done = await send_all(newsroom, limit=30)
    assert done.statuses() == Counter(sent=60, failed=10)
    assert all(done.rows[row.split(",")[0]] == ("failed", 1) for row in gone)
    assert set(once_each(server)) == {f"j{i:04d}@example.org" for i in range(60)}
    assert done.seconds < 10, done.seconds


async def test_a_hang_up_mid_data_on_a_tenth_of_messages(newsroom: Newsroom) -> None:
    total = 100
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    dropped = {f"j{i:04d}@example.org" for i in range(0, total, 10)}
    async with smtp_server({a: Fault.drop_data(times=1) for a in dropped}) as server:
        configure(newsroom, server.port)
        done = await send_all(newsroom, limit=30)
    assert done.statuses() == Counter(sent=total)
    assert {done.rows[a][1] for a in dropped} == {2}
    assert len(once_each(server)) == total
    assert done.seconds < 10, done.seconds


async def test_a_stall_longer_than_the_timeout(newsroom: Newsroom) -> None:
    total = 20
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    stalled = {"j0003@example.org", "j0011@example.org"}
    faults = {a: Fault("data", "250 2.0.0 OK, eventually", delay=3, times=1) for a in stalled}
    async with smtp_server(faults) as server:
        configure(newsroom, server.port, smtp={"timeout": "1s"})
        done = await send_all(newsroom, limit=30)
    assert done.statuses() == Counter(sent=total)
    assert {done.rows[a][1] for a in stalled} == {2}
    assert len(once_each(server)) == total
    assert done.seconds < 10, done.seconds


async def test_the_server_down_then_up(newsroom: Newsroom) -> None:
    total = 40
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    port = free_port()
    configure(newsroom, port)

    async def later() -> SmtpServer:
        await asyncio.sleep(1)  # a few connection attempts, at 0.3 s and more apart
        server = smtp_server(port=port)
        running = await server.__aenter__()
        started.append(server)
        return running

    started: list[Any] = []
    server_task = asyncio.create_task(later())
    try:
        done = await send_all(newsroom, limit=40)
        server = await server_task
    finally:
        for s in started:
            await s.__aexit__(None, None, None)
    assert done.statuses() == Counter(sent=total)
    assert len(once_each(server)) == total
    assert done.seconds < 20, done.seconds


async def test_421_at_connect_for_the_first_connections(newsroom: Newsroom) -> None:
    total = 60
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    async with smtp_server({"*": Fault.refuse_connection(times=3)}) as server:
        configure(newsroom, server.port)
        done = await send_all(newsroom, limit=30)
    assert done.statuses() == Counter(sent=total)
    assert len(once_each(server)) == total
    assert server.connections <= 3 + 4 + 4, server.connections  # refused, then a pool's worth
    assert done.seconds < 15, done.seconds


async def test_starttls_missing_stops_the_transport_without_spending_the_messages(
    newsroom: Newsroom,
) -> None:
    total = 30
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    async with smtp_server() as server:  # offers no STARTTLS
        configure(newsroom, server.port, smtp={"security": "starttls"})
        done = await send_all(newsroom, limit=10, after_problem=0.5)
    assert server.messages == []
    assert server.connections <= 4, "one connection per message"  # at most one per sender
    # Nothing was attempted in vain: every journalist is still waiting, nobody was deferred.
    assert done.statuses() == Counter(queued=total), done.statuses()
    assert {attempts for _, attempts in done.rows.values()} == {0}
    assert done.tried == 0  # their retry age (smtp.max_retry_age) has not started
    assert done.problem is not None
    assert "STARTTLS" in done.problem
    assert "smtp.security" in done.problem


async def test_a_relay_that_slows_down_under_a_full_claim_and_a_short_lease_sends_each_once(
    newsroom: Newsroom,
) -> None:
    """Rows claimed while the relay was fast, then 400 ms per message for 3 s: the rows
    wait in memory for longer than the 2 s lease, which the heartbeat renews.

    Claims are sized to the pace of the moment, so how many rows are held when the relay
    slows down depends on the machine: it slows down once more than a lease's worth at
    the slow pace (8 connections, 0.4 s a message: 40 messages in 2 s) is held. It speeds
    up again after one and a half leases, by when the rows held since it slowed down have
    waited longer than a lease."""
    total = 200
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(total))
    held: list[int] = []
    async with smtp_server() as server:
        configure(
            newsroom,
            server.port,
            smtp={"concurrency": 8},
            scheduler={"lease": "2s", "batch_size": 200},
        )

        async def slow_down() -> None:
            async with runtime(newsroom.settings()) as rt:

                async def holding() -> int:
                    counts = await rt.ledger.counts()
                    return sum(n for group, n in counts.items() if group.status == "sending")

                # Slow down once the claims have grown, not after some number of messages:
                # how fast they grow depends on how fast this machine is at the moment.
                while (now_held := await holding()) < 60 and len(server.messages) < total:
                    await asyncio.sleep(0.005)
                server.faults["*"] = Fault("data", "250 2.0.0 OK", delay=0.4)
                held.append(now_held)
                for _ in range(30):
                    held.append(await holding())
                    await asyncio.sleep(0.1)
                del server.faults["*"]

        slowing = asyncio.create_task(slow_down())
        done = await send_all(newsroom, limit=40)
        await slowing
    assert max(held) >= 60, held  # more than a lease's worth of work held in memory
    assert done.statuses() == Counter(sent=total)
    assert {attempts for _, attempts in done.rows.values()} == {1}
    assert len(once_each(server)) == total
