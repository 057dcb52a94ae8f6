"""One contract, three stores: the in-memory twin (store/memory.py), SQLite and PostgreSQL.

The engine's logic is tested on the twin (tests/test_engine_logic.py); these checks keep
the twin honest. Each runs the same calls on the ledger and the workers registry of
every store and expects the same answers: what a claim takes, that only the claim's
token records an outcome or gives a claim back, what a give-back restores, when a
deferral is due, what a heartbeat renews and frees, what a bounce stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pressdispatch.model import (
    DeliveryStatus,
    Release,
    Subscriber,
    SubscriberStatus,
    Tier,
    Translation,
)
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.db import open_database
from pressdispatch.store.journalists import Journalists
from pressdispatch.store.journalists.writes import Changes
from pressdispatch.store.ledger import Ledger
from pressdispatch.store.memory import MemoryStore
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.ports import Claim, Kind, Planned, Update
from pressdispatch.store.schema import deliveries
from pressdispatch.store.workers import Workers

from .dispatching import database_url

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
PEOPLE = ("ana@example.org", "ben@example.org", "chen@example.org", "dai@example.org")


def release(release_id: str) -> Release:
    text = Translation("en", release_id.title(), "", "", "Text.", "<p>Text.</p>")
    return Release(release_id, START - timedelta(minutes=1), "en", {"en": text})


Row = tuple[DeliveryStatus, int, str | None]  # status, attempts, worker


@dataclass
class Store:
    """One store's ledger and workers registry, and what a test needs to look inside."""

    ledger: Any  # LedgerPort and PlanLedger
    workers: Any  # WorkersPort
    people: dict[str, int]  # address -> journalist id
    rows: Callable[[], Awaitable[dict[int, Row]]]  # delivery id -> its row
    status_of: Callable[[str], Awaitable[SubscriberStatus]]
    withdraw: Callable[[str, datetime], Awaitable[None]]  # with notices

    async def plan(self, release_id: str, addresses: tuple[str, ...], due: datetime) -> None:
        rows = [
            Planned(self.people[a], "en", Tier.PUBLIC, f"<{a}.{release_id}>") for a in addresses
        ]
        assert await self.ledger.plan(release_id, rows, due) == len(rows)


async def memory_store() -> Store:
    store = MemoryStore()
    for r in (release("launch"), release("second")):
        store.add_release(r)
    people = {a: store.add_journalist(Subscriber(a, name=a.split("@")[0])) for a in PEOPLE}

    async def rows() -> dict[int, Row]:
        return {d.id: (d.status, d.attempts, d.worker_id) for d in store.deliveries.values()}

    async def status_of(address: str) -> SubscriberStatus:
        return store.journalists[people[address]].status

    async def withdraw(release_id: str, at: datetime) -> None:
        store.withdraw(release_id, at, "wrong figures")

    return Store(store.ledger, store.workers, people, rows, status_of, withdraw)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield await memory_store()
        return
    urls = database_url(request.param, tmp_path)
    url = next(urls)
    await upgrade(url)
    db = open_database(url)
    try:
        await Catalog(db).sync([release("launch"), release("second")], START)
        journalists = Journalists(db)
        people = {}
        for address in PEOPLE:
            await journalists.save_from_api(Changes(address, name=address.split("@")[0]), START)
            found = await journalists.find(address)
            assert found is not None
            people[address] = found.id
        d = deliveries.c
        query = select(d.id, d.status, d.attempts, d.worker_id)

        async def rows() -> dict[int, Row]:
            found = await db.read(lambda conn: conn.execute(query).all())
            return {r.id: (DeliveryStatus(r.status), r.attempts, r.worker_id) for r in found}

        async def status_of(address: str) -> SubscriberStatus:
            found = await journalists.find(address)
            assert found is not None
            return found.status

        async def withdraw(release_id: str, at: datetime) -> None:
            def notice_id(release_id: str, language: str, address: str) -> str:
                return f"<{address}.{release_id}.withdrawn>"

            await Catalog(db).withdraw(release_id, "wrong figures", at, notify=notice_id)

        yield Store(Ledger(db), Workers(db), people, rows, status_of, withdraw)
    finally:
        await db.dispose()
        for _ in urls:  # drop the throwaway database
            pass


def sent(claim: Claim, at: datetime) -> Update:
    return Update(claim.id, claim.token, DeliveryStatus.SENT, 250, "250 OK", at)


async def test_planning_again_queues_only_who_is_not_queued_yet(store: Store) -> None:
    await store.plan("launch", PEOPLE[:2], START)
    rows = [Planned(store.people[a], "fr", Tier.PUBLIC, f"<{a}.again>") for a in PEOPLE[:3]]
    assert await store.ledger.plan("launch", rows, START) == 1  # a crash re-planned
    queued = await store.ledger.claim("a", START, 10, START + LEASE)
    assert sorted((c.address, c.language, c.message_id) for c in queued) == [
        ("ana@example.org", "en", "<ana@example.org.launch>"),
        ("ben@example.org", "en", "<ben@example.org.launch>"),
        ("chen@example.org", "fr", "<chen@example.org.again>"),
    ]
    assert {(c.attempts, c.first_attempt_at) for c in queued} == {(1, START)}


async def test_a_claim_takes_what_is_due_by_due_time_under_one_token(store: Store) -> None:
    await store.plan("launch", PEOPLE[:3], START)
    first = await store.ledger.claim("a", START, 2, START + LEASE)
    assert [(c.address, c.name, c.attempts, c.first_attempt_at) for c in first] == [
        ("ana@example.org", "ana", 1, START),
        ("ben@example.org", "ben", 1, START),
    ]
    assert len({c.token for c in first}) == 1
    [third] = await store.ledger.claim("b", START, 10, START + LEASE)
    assert third.address == "chen@example.org" and third.token != first[0].token
    rows = await store.rows()
    assert sorted(rows.values()) == sorted(
        [(DeliveryStatus.SENDING, 1, "a")] * 2 + [(DeliveryStatus.SENDING, 1, "b")]
    )

    # A lease runs until its end: then, and only then, the rows are claimed again.
    assert await store.ledger.claim("c", START + LEASE, 10, START + 2 * LEASE) == []
    later = START + LEASE + timedelta(seconds=1)
    again = await store.ledger.claim("c", later, 10, later + LEASE)
    assert sorted(c.id for c in again) == sorted(rows)
    assert {(c.attempts, c.first_attempt_at) for c in again} == {(2, START)}
    assert {c.token for c in again}.isdisjoint({c.token for c in [*first, third]})


async def test_only_the_claims_token_records_an_outcome_or_gives_it_back(store: Store) -> None:
    await store.plan("launch", PEOPLE[:2], START)
    mine = await store.ledger.claim("a", START, 2, START + timedelta(seconds=1))
    later = START + timedelta(seconds=2)  # the lease ran out: another process takes over
    theirs = await store.ledger.claim("b", later, 2, later + LEASE)

    assert await store.ledger.record([sent(c, later) for c in mine]) == {c.id for c in mine}
    await store.ledger.unclaim(mine)
    assert set((await store.rows()).values()) == {(DeliveryStatus.SENDING, 2, "b")}

    assert await store.ledger.record([sent(c, later) for c in theirs]) == set()
    assert set((await store.rows()).values()) == {(DeliveryStatus.SENT, 2, "b")}


async def test_a_claim_takes_the_earliest_due_whatever_their_status(store: Store) -> None:
    await store.plan("launch", ("chen@example.org",), START)
    [expiring] = await store.ledger.claim("x", START, 10, START + timedelta(seconds=30))
    await store.plan("launch", ("ben@example.org",), START)
    [ben] = await store.ledger.claim("a", START, 10, START + LEASE)
    retry = START + timedelta(minutes=1)
    deferral = Update(ben.id, ben.token, DeliveryStatus.DEFERRED, 451, "451 later", START, retry)
    assert await store.ledger.record([deferral]) == set()
    await store.plan("launch", ("ana@example.org",), START + timedelta(minutes=2))
    await store.plan("launch", ("dai@example.org",), START + timedelta(minutes=3))

    later = START + timedelta(minutes=5)
    first = await store.ledger.claim("b", later, 2, later + LEASE)
    # Due at START (its lease ran out), then at START + 1 min (deferred): not the queued.
    assert sorted(c.address for c in first) == ["ben@example.org", "chen@example.org"]
    assert {c.id for c in first} == {expiring.id, ben.id}
    rest = await store.ledger.claim("b", later, 10, later + LEASE)
    assert [c.address for c in rest] == ["ana@example.org", "dai@example.org"]


async def test_a_batch_writes_every_outcome_but_those_taken_over(store: Store) -> None:
    await store.plan("launch", PEOPLE[:3], START)
    mine = await store.ledger.claim("a", START, 3, START + timedelta(seconds=1))
    later = START + timedelta(seconds=2)
    await store.ledger.unclaim(mine[:1])  # given back, then taken by another process
    [theirs] = await store.ledger.claim("b", later, 1, later + LEASE)
    assert theirs.id == mine[0].id

    assert await store.ledger.record([sent(c, later) for c in mine]) == {mine[0].id}
    rows = await store.rows()
    assert rows[theirs.id] == (DeliveryStatus.SENDING, 1, "b")
    assert [rows[c.id] for c in mine[1:]] == [(DeliveryStatus.SENT, 1, "a")] * 2


async def test_a_claim_given_back_is_as_it_was_and_a_deferral_waits(store: Store) -> None:
    await store.plan("launch", PEOPLE[:1], START)
    [claim] = await store.ledger.claim("a", START, 10, START + LEASE)
    await store.ledger.unclaim([claim])
    assert list((await store.rows()).values()) == [(DeliveryStatus.QUEUED, 0, "a")]
    assert await store.ledger.next_due() == START

    [claim] = await store.ledger.claim("a", START, 10, START + LEASE)
    assert claim.attempts == 1
    due = START + timedelta(minutes=10)
    deferred = Update(claim.id, claim.token, DeliveryStatus.DEFERRED, 451, "451 later", START, due)
    assert await store.ledger.record([deferred]) == set()
    assert await store.ledger.next_due() == due
    assert await store.ledger.claim("a", due - timedelta(seconds=1), 10, due + LEASE) == []

    [again] = await store.ledger.claim("a", due, 10, due + LEASE)
    assert (again.attempts, again.first_attempt_at) == (2, START)
    await store.ledger.unclaim([again])  # tried before: deferred, the first attempt kept
    assert list((await store.rows()).values()) == [(DeliveryStatus.DEFERRED, 1, "a")]
    [third] = await store.ledger.claim("a", due, 10, due + LEASE)
    assert (third.attempts, third.first_attempt_at) == (2, START)


async def test_a_beat_renews_the_living_and_frees_the_dead_at_once(store: Store) -> None:
    await store.plan("launch", PEOPLE, START)
    workers = store.workers
    alive = await workers.join("service", START)
    dead = await workers.join("worker", START - timedelta(minutes=1))
    held = await store.ledger.claim(alive, START, 2, START + timedelta(seconds=10))
    orphaned = await store.ledger.claim(dead, START, 2, START + LEASE)
    silence = timedelta(seconds=15)
    assert (
        await workers.takeover_at(alive, START, silence) == START - timedelta(minutes=1) + silence
    )
    assert await store.ledger.next_due() is None  # every lease has a live holder

    beat = await workers.beat(alive, "service", START, START + LEASE, START - silence)
    assert (beat.held, beat.revived) == (2, False)
    assert await workers.held(alive) == {c.id for c in held}
    assert await workers.takeover_at(alive, START, silence) is None
    assert await store.ledger.next_due() == START  # the dead one's leases end now

    later = START + timedelta(milliseconds=1)
    again = await store.ledger.claim(alive, later, 10, later + LEASE)
    assert {c.id for c in again} == {c.id for c in orphaned}
    back = await workers.beat(dead, "worker", later, later + LEASE, later - silence)
    assert (back.held, back.revived) == (0, True)  # it sends nothing more of those
    await workers.leave(dead)
    await workers.leave(alive)


async def test_a_bounce_stops_the_journalists_pending_deliveries(store: Store) -> None:
    await store.plan("launch", PEOPLE[:1], START)
    await store.plan("second", PEOPLE[:1], START + timedelta(hours=1))
    [claim] = await store.ledger.claim("a", START, 10, START + LEASE)
    bounced = Update(
        claim.id, claim.token, DeliveryStatus.FAILED, 550, "550 unknown", START, bounce=True
    )
    assert await store.ledger.record([bounced]) == set()
    assert await store.status_of("ana@example.org") == SubscriberStatus.BOUNCED
    statuses = sorted(status for status, _, _ in (await store.rows()).values())
    assert statuses == sorted([DeliveryStatus.FAILED, DeliveryStatus.CANCELLED])
    assert await store.ledger.claim("a", START + timedelta(hours=2), 10, START + LEASE) == []


async def test_a_withdrawn_release_sends_its_notices_once_and_nothing_else(store: Store) -> None:
    await store.plan("launch", PEOPLE[:3], START)
    first = await store.ledger.claim("a", START, 2, START + LEASE)
    assert await store.ledger.record([sent(c, START) for c in first]) == set()
    await store.withdraw("launch", START + timedelta(minutes=1))
    later = START + timedelta(minutes=2)
    notices = await store.ledger.claim("a", later, 10, later + LEASE)
    assert sorted(c.address for c in notices) == sorted(c.address for c in first)
    assert {c.kind for c in notices} == {Kind.WITHDRAWAL}
    assert {c.kind for c in first} == {Kind.RELEASE}
    assert await store.ledger.record([sent(c, later) for c in notices]) == set()
    assert await store.ledger.claim("a", later + LEASE * 2, 10, later + LEASE * 3) == []
    statuses = sorted(status for status, _, _ in (await store.rows()).values())
    assert statuses == sorted([DeliveryStatus.SENT] * 4 + [DeliveryStatus.CANCELLED])
