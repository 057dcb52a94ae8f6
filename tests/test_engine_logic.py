"""The engine's logic on the in-memory store (store/memory.py): no database, no server.

The real ``Engine`` claims, renders, sends through a transport written here, and records
each outcome; a clock set by hand stands for the time. Each case takes a fraction of a
second. tests/test_store_contract.py holds the in-memory store to the SQL store's
contract, so what these cases show of the engine holds on both.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from pressdispatch.config import load_settings
from pressdispatch.dispatch.engine import Engine, EngineSettings
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Status
from pressdispatch.errors import TransportStopped
from pressdispatch.model import DeliveryStatus, Release, Subscriber, Tier, Translation
from pressdispatch.regions import load_regions
from pressdispatch.render.email import EmailRenderer
from pressdispatch.store.memory import MemoryStore
from pressdispatch.store.ports import Claim, Planned
from pressdispatch.tokens import Signer

from .conftest import CONFIG, ROOT

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
RETRY = timedelta(minutes=1)
RELEASE = Release(
    id="launch",
    publish_at=START - timedelta(minutes=1),
    original_language="en",
    translations={"en": Translation("en", "Launch", "", "", "Text.", "<p>Text.</p>")},
)

Answer = Callable[[Envelope], Outcome]


def accepted(envelope: Envelope) -> Outcome:
    return Outcome(Status.SENT, 250, "250 OK")


@dataclass
class Relay:
    """A transport: answers every message as ``answer`` says, and remembers each one tried."""

    answer: Answer = accepted
    tried: list[str] = field(default_factory=list)  # recipients, in the order tried

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        await asyncio.sleep(0)  # a real relay answers later: let the other senders run
        if ready is not None:
            await ready()
        outcome = self.answer(envelope)  # may raise TransportStopped: then nothing was tried
        self.tried.append(envelope.recipient)
        return outcome

    async def close(self) -> None:
        pass


class Clock:
    """The time, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> EmailRenderer:
    config = tmp_path_factory.mktemp("newsroom") / "config.toml"
    config.write_text(CONFIG.format(templates=(ROOT / "templates").as_posix()), encoding="utf-8")
    settings = load_settings(config)
    signer = Signer(b"engine-logic-test-key")
    return EmailRenderer(settings.newsroom, settings.paths.templates, signer, load_regions())


@dataclass
class Bench:
    store: MemoryStore
    relay: Relay
    clock: Clock
    renderer: EmailRenderer
    ids: dict[str, int]  # address -> delivery id

    def engine(self, *, concurrency: int = 3) -> Engine:
        settings = EngineSettings(
            sender="press@example.org",
            concurrency=concurrency,
            batch_size=10,
            lease=LEASE,
            retry_initial=RETRY,
            retry_max=timedelta(hours=1),
            max_retry_age=timedelta(days=1),
        )
        store = self.store
        return Engine(
            store.ledger,
            store.workers,
            store,
            self.relay,
            self.renderer,
            settings,
            clock=self.clock,
        )

    async def run(self, *, concurrency: int = 3) -> Counter[DeliveryStatus]:
        """``run --once``: send what is due now; the outcomes this run recorded."""
        stats = await asyncio.wait_for(
            self.engine(concurrency=concurrency).run(asyncio.Event(), until_idle=True), 5
        )
        return stats.outcomes

    def status(self, address: str) -> DeliveryStatus:
        return self.store.deliveries[self.ids[address]].status


async def bench(renderer: EmailRenderer, people: int, answer: Answer = accepted) -> Bench:
    """``people`` journalists, each with one queued delivery of ``RELEASE``."""
    store = MemoryStore()
    store.add_release(RELEASE)
    rows = []
    for i in range(people):
        address = f"j{i:02d}@example.org"
        key = store.add_journalist(Subscriber(address, name=f"J {i}"))
        rows.append(Planned(key, "en", Tier.PUBLIC, f"<{i}.launch@example.org>"))
    assert await store.ledger.plan(RELEASE.id, rows, START) == people
    ids = {
        store.journalists[row.subscriber_id].subscriber.email: row.id
        for row in store.deliveries.values()
    }
    return Bench(store, Relay(answer), Clock(), renderer, ids)


async def test_every_delivery_has_exactly_one_outcome(renderer: EmailRenderer) -> None:
    b = await bench(renderer, 25)
    outcomes = await b.run()
    assert outcomes == {DeliveryStatus.SENT: 25}
    assert sorted(b.relay.tried) == sorted(b.ids)  # each address once
    assert {row.status for row in b.store.deliveries.values()} == {DeliveryStatus.SENT}
    assert {row.attempts for row in b.store.deliveries.values()} == {1}
    assert await b.run() == {}  # nothing is sent twice
    assert len(b.relay.tried) == 25


async def test_a_sender_starts_its_next_message_but_it_goes_once_the_last_is_recorded(
    renderer: EmailRenderer,
) -> None:
    """A sender starts its next message while its outcome is being recorded, but that
    message can be accepted only once the outcome is: at most one accepted message per
    sender is ever unrecorded (what a crash can send twice)."""
    b = await bench(renderer, 10)
    at_start: list[int] = []  # accepted and not yet recorded, as each message starts
    at_accept: list[int] = []  # and as the relay accepts it

    def unrecorded(relay: Relay) -> int:
        recorded = sum(r.status is DeliveryStatus.SENT for r in b.store.deliveries.values())
        return len(relay.tried) - recorded

    class Counting(Relay):
        async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
            at_start.append(unrecorded(self))
            if ready is not None:
                await ready()
            at_accept.append(unrecorded(self))
            return await super().send(envelope)

    b.relay = Counting()
    assert await b.run(concurrency=1) == {DeliveryStatus.SENT: 10}
    assert max(at_start) == 1  # started before the last one was recorded
    assert max(at_accept) == 0


async def test_a_deferral_is_tried_again_when_due(renderer: EmailRenderer) -> None:
    grey = "j01@example.org"
    refused: set[str] = set()

    def greylisting(envelope: Envelope) -> Outcome:
        if envelope.recipient == grey and grey not in refused:
            refused.add(grey)
            return Outcome(Status.DEFERRED, 451, "451 4.7.1 try again later")
        return accepted(envelope)

    b = await bench(renderer, 3, greylisting)
    assert await b.run() == {DeliveryStatus.SENT: 2, DeliveryStatus.DEFERRED: 1}
    row = b.store.deliveries[b.ids[grey]]
    assert (row.status, row.attempts, row.due_at) == (DeliveryStatus.DEFERRED, 1, START + RETRY)

    b.clock.now = START + RETRY - timedelta(seconds=1)
    assert await b.run() == {}  # not due yet
    b.clock.now = START + RETRY
    assert await b.run() == {DeliveryStatus.SENT: 1}
    assert (row.status, row.attempts, row.last_code) == (DeliveryStatus.SENT, 2, 250)
    assert Counter(b.relay.tried) == {"j00@example.org": 1, grey: 2, "j02@example.org": 1}


async def test_a_run_counts_each_delivery_once_by_its_last_outcome(
    renderer: EmailRenderer,
) -> None:
    """A deferral that comes due while the run goes on is tried again in it: the run's
    figures (what `run --once` prints) count deliveries, not attempts."""
    tries: Counter[str] = Counter()

    def relay(envelope: Envelope) -> Outcome:
        tries[envelope.recipient] += 1
        if envelope.recipient == "j02@example.org":
            b.clock.now = START + 2 * RETRY  # the run took that long: both retries are due
        elif envelope.recipient == "j01@example.org" or tries[envelope.recipient] == 1:
            return Outcome(Status.DEFERRED, 451, "451 4.7.1 try again later")
        return accepted(envelope)

    b = await bench(renderer, 3, relay)
    heard: list[str] = []  # what `run --once` advances its progress bars by
    engine = b.engine(concurrency=1)
    engine.on_result = lambda release_id, _status: heard.append(release_id)
    stats = await asyncio.wait_for(engine.run(asyncio.Event(), until_idle=True), 5)
    assert tries == {"j00@example.org": 2, "j01@example.org": 2, "j02@example.org": 1}
    assert heard == ["launch"] * 3  # one per delivery, as the bars count them
    assert stats.outcomes == {DeliveryStatus.SENT: 2, DeliveryStatus.DEFERRED: 1}
    assert stats.by_release == {
        ("launch", DeliveryStatus.SENT): 2,
        ("launch", DeliveryStatus.DEFERRED): 1,
    }


async def test_a_claim_taken_over_meanwhile_records_nothing(renderer: EmailRenderer) -> None:
    """While the message is with the relay, another process takes the row over (this one
    was thought dead): the outcome this one saw is not recorded, the other's claim stands."""
    b = await bench(renderer, 1)
    later = START + LEASE + timedelta(seconds=1)  # the lease ran out
    taken: list[Claim] = []

    class OtherProcess(Relay):
        async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
            taken.extend(await b.store.ledger.claim("other", later, 10, later + LEASE))
            return await super().send(envelope, ready=ready)

    b.relay = OtherProcess()
    assert await b.run() == {}  # nothing recorded by this engine
    assert b.relay.tried == ["j00@example.org"]
    [claim] = taken
    row = b.store.deliveries[claim.id]
    assert (row.status, row.worker_id, row.lease_token) == (
        DeliveryStatus.SENDING,
        "other",
        claim.token,
    )
    assert row.last_code is None and row.sent_at is None


async def test_a_stopped_transport_gives_everything_back_untried(renderer: EmailRenderer) -> None:
    why = "smtp.username: the relay refuses these credentials"

    def misconfigured(envelope: Envelope) -> Outcome:
        raise TransportStopped(why, 60)

    b = await bench(renderer, 5, misconfigured)
    engine = b.engine(concurrency=2)
    stats = await asyncio.wait_for(engine.run(asyncio.Event(), until_idle=True), 5)
    assert stats.outcomes == {}
    assert b.relay.tried == []
    rows = b.store.deliveries.values()
    assert {(row.status, row.attempts, row.first_attempt_at) for row in rows} == {
        (DeliveryStatus.QUEUED, 0, None)
    }
    assert (engine.problem, b.store.stoppage) == (why, why)
    assert b.store.processes == {}  # the engine signed off

    # Once the relay works again, everything goes, once.
    b.relay.answer = accepted
    assert await b.run() == {DeliveryStatus.SENT: 5}
    assert b.store.stoppage is None


async def test_a_bounce_stops_the_journalists_other_deliveries(renderer: EmailRenderer) -> None:
    b = await bench(renderer, 2, lambda e: Outcome(Status.FAILED, 550, "550 no such user", True))
    second = Release(
        id="second",
        publish_at=START,
        original_language="en",
        translations=RELEASE.translations,
    )
    b.store.add_release(second)
    later = [Planned(1, "en", Tier.PUBLIC, "<1.second@example.org>")]
    await b.store.ledger.plan(second.id, later, START + timedelta(hours=1))
    assert await b.run() == {DeliveryStatus.FAILED: 2}
    assert b.store.journalists[1].status == "bounced"
    assert [row.status for row in b.store.deliveries.values() if row.release_id == "second"] == [
        DeliveryStatus.CANCELLED
    ]


async def test_run_once_sends_what_is_queued_while_the_plan_is_still_being_made(
    renderer: EmailRenderer,
) -> None:
    """`run --once` starts sending with the plan's first chunk: running out of work before
    the plan is done is not the end, and each chunk queued is sent once."""
    b = await bench(renderer, 3)
    planning = asyncio.Event()
    engine = b.engine(concurrency=2)
    running = asyncio.create_task(engine.run(asyncio.Event(), until_idle=True, planning=planning))

    async def until(done: Callable[[], bool]) -> None:
        for _ in range(500):
            if done():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("not in 5 s")

    await until(lambda: len(b.relay.tried) == 3)  # the first chunk, sent at once
    await asyncio.sleep(0.2)
    assert not running.done()  # out of work, but the plan goes on

    more = []
    for i in range(3, 6):
        key = b.store.add_journalist(Subscriber(f"j{i:02d}@example.org", name=f"J {i}"))
        more.append(Planned(key, "en", Tier.PUBLIC, f"<{i}.launch@example.org>"))
    assert await b.store.ledger.plan(RELEASE.id, more, START) == 3
    engine.wakeup.set()  # as the planner says of each chunk
    await until(lambda: len(b.relay.tried) == 6)
    assert not running.done()

    planning.set()
    stats = await asyncio.wait_for(running, 5)
    assert stats.outcomes == {DeliveryStatus.SENT: 6}
    assert sorted(b.relay.tried) == [f"j{i:02d}@example.org" for i in range(6)]
