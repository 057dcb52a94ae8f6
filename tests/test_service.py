"""The service as an operator runs it: `pressdispatch run`, `run --once` and `worker` as real
processes, against a real SMTP server (aiosmtpd, in this process) and a real database.

Nothing is mocked. Every wait is bounded; every process a test starts is killed at teardown
if it is still running. Each failure message ends with the tail of the process's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .dispatching import Newsroom, database_url, make_newsroom, utc
from .smtpd import Fault, Received, SmtpServer, free_port, smtp_server

pytestmark = pytest.mark.e2e

# The server takes this long over each message it accepts, so that a run of a few thousand
# messages lasts long enough to be interrupted half-way.
SLOW = Fault("data", "250 2.0.0 OK", delay=0.002)
EMBARGO_NOTICE = {"en": "[Embargoed until ", "fr": "[Sous embargo jusqu'au "}
STOPPED = re.compile(r"stopped: (\{.*\})")


# -- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    """One `pressdispatch` process, its output in files under the test's folder."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    started_at: float  # wall clock, when it was spawned

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 25) -> str:
        text = "\n".join(self.log().splitlines()[-lines:])
        out = "\n".join(self.output().splitlines()[-lines:])
        return f"\n--- {self.name} (pid {self.pid}) stderr tail ---\n{text}\n--- stdout ---\n{out}"

    def send(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still running after {timeout:g}s{self.tail()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Ask it to stop; it must exit with status 0 within ``timeout`` seconds."""
        self.send(sig)
        code = self.wait(timeout)
        assert code == 0, f"{self.name} exited with {code} after {sig.name}{self.tail()}"
        return code

    def stopped_with(self) -> Counter[str]:
        """The outcomes the service logs as it stops (`stopped: {'sent': 12}`)."""
        found = STOPPED.findall(self.log())
        assert found, f"{self.name} logged no 'stopped:' line{self.tail()}"
        return Counter(json.loads(found[-1].replace("'", '"')))


Spawn = Callable[..., Proc]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start `python -m pressdispatch --config CONFIG ARGS...`; leftovers are killed after."""
    started: list[Proc] = []

    def start(config: Path, *args: str, name: str | None = None) -> Proc:
        name = name or f"{'-'.join(args)}-{len(started) + 1}"
        stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSDISPATCH_")}
        env |= {
            "PYTHONUNBUFFERED": "1",
            # A fixed key: processes starting together must not each generate one.
            "PRESSDISPATCH_SIGNING_KEY": "service-test-signing-key",
        }
        with stdout.open("wb") as out, stderr.open("wb") as err:
            popen = subprocess.Popen(
                [sys.executable, "-m", "pressdispatch", "--config", str(config), *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=config.parent,
                env=env,
            )
        proc = Proc(name, popen, stdout, stderr, time.time())
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait(10)


def run_once(spawn: Spawn, config: Path, timeout: float = 60.0) -> tuple[int, Proc]:
    proc = spawn(config, "run", "--once")
    return proc.wait(timeout), proc


async def wait_until(
    condition: Callable[[], bool], what: str, timeout: float, *procs: Proc, poll: float = 0.02
) -> None:
    """Poll ``condition``; fail early if one of ``procs`` dies, and after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            if proc.popen.poll() is not None:
                pytest.fail(
                    f"{proc.name} exited with {proc.popen.returncode} while waiting for "
                    f"{what}{proc.tail()}"
                )
        if time.monotonic() > deadline:
            tails = "".join(p.tail() for p in procs)
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}{tails}")
        await asyncio.sleep(poll)


def logged(proc: Proc, text: str) -> Callable[[], bool]:
    return lambda: text in proc.log()


async def stays_quiet(server: SmtpServer, seconds: float = 0.5) -> None:
    """Nothing more arrives for a moment; by then the scan that queued the messages is over."""
    count = len(server.messages)
    await asyncio.sleep(seconds)
    assert len(server.messages) == count, "more messages than expected"


# -- the SMTP server and what it saw ------------------------------------------------------


class _Arrivals(list[Received]):
    """``server.messages`` that also notes the wall-clock time each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: Received) -> None:
        self.times.append(time.time())
        super().append(item)


def timed(server: SmtpServer) -> _Arrivals:
    arrivals = _Arrivals()
    server.messages = arrivals
    return arrivals


def smtp_config(
    newsroom: Newsroom,
    server: SmtpServer | None,
    *,
    scheduler: dict[str, str] | None = None,
    **smtp: Any,
) -> Path:
    """config.toml sending through ``server`` (None: a port nothing listens on).

    The scan runs at start and then only hourly unless the test says otherwise, so no scan is
    running when a test stops the service (stopping during a scan is its own test, below).
    """
    host, port = (server.host, server.port) if server else ("127.0.0.1", free_port())
    return newsroom.write_config(
        transport={"kind": "smtp"},
        smtp={"host": host, "port": port, "security": "none", "timeout": "10s", **smtp},
        scheduler={"scan_interval": "1h", **(scheduler or {})},
    )


def parse(message: Received) -> Any:
    return message_from_bytes(message.data, policy=policy.default)


# -- the ledger, read straight from the database -------------------------------------------


@dataclass(frozen=True)
class Row:
    status: str
    message_id: str
    attempts: int
    lease_until: datetime | None


LEDGER = (
    "SELECT s.email, d.status, d.message_id, d.attempts, d.lease_until "
    "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
)


def ledger(url: str) -> dict[str, Row]:
    """address → its delivery row; empty while the schema does not exist yet."""
    rows: list[Any]
    try:
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            if not Path(path).exists():
                return {}
            with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
                rows = conn.execute(LEDGER).fetchall()
        else:
            with psycopg.connect(url) as conn:
                rows = conn.execute(LEDGER).fetchall()
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
        return {}
    result = {}
    for email, status, message_id, attempts, raw in rows:
        lease = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
        result[email] = Row(status, message_id, attempts, lease and lease.replace(tzinfo=UTC))
    return result


def statuses(rows: dict[str, Row]) -> Counter[str]:
    return Counter(row.status for row in rows.values())


def crowd(n: int, *, embargo: bool = False, prefix: str = "j") -> list[str]:
    cleared = "yes" if embargo else "no"
    return [f"{prefix}{i:05d}@example.org,Journalist {i},en,,,{cleared}" for i in range(n)]


@pytest.fixture
def pg_newsroom(tmp_path: Path) -> Iterator[Newsroom]:
    """A newsroom on an empty PostgreSQL database: the processes create the tables."""
    urls = database_url("postgresql", tmp_path, migrated=False)
    yield make_newsroom(tmp_path, next(urls))
    for _ in urls:  # drop the throwaway database
        pass


# -- 1. crash and restart ------------------------------------------------------------------


async def test_a_killed_service_resends_at_most_the_messages_in_flight(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    total, concurrency = 2000, 4
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", crowd(total))
    everyone = {f"j{i:05d}@example.org" for i in range(total)}
    async with smtp_server({"*": SLOW}) as server:
        arrivals = timed(server)
        config = smtp_config(newsroom, server, concurrency=concurrency)  # the default lease
        service = spawn(config, "run")
        await wait_until(lambda: len(arrivals) >= 300, "300 messages", 30, service)
        service.send(signal.SIGKILL)
        assert service.wait(5) == -signal.SIGKILL
        await server.hung_up()
        before = len(server.messages)
        assert before < total, "the service finished before it was killed: slow the server down"

        rows = ledger(newsroom.db_url)
        recorded = statuses(rows)
        assert set(recorded) <= {"sent", "sending", "queued"}, recorded
        assert sum(recorded.values()) == total
        # At most `concurrency` messages were accepted and not yet recorded when it died.
        unrecorded = before - recorded["sent"]
        assert 0 <= unrecorded <= concurrency
        leased = {a: row.lease_until for a, row in rows.items() if row.status == "sending"}
        assert leased and all(leased.values())

        # Start it again at once: what was queued goes out now, and the rows the dead process
        # held go out as soon as it has been silent for three heartbeats, long before their
        # five-minute leases run out.
        again = spawn(config, "run", name="restarted")

        def done() -> bool:
            return statuses(ledger(newsroom.db_url)) == Counter(sent=total)

        await wait_until(done, "every delivery sent", 40, again, poll=0.1)
        took = time.time() - again.started_at
        again.stop()
        assert again.stopped_with() == Counter(sent=total - recorded["sent"])

    assert took < 30, f"{took:.1f}s to send everything after the restart"
    rows = ledger(newsroom.db_url)
    assert set(rows) == everyone
    assert statuses(rows) == Counter(sent=total)
    seen = Counter(server.recipients())
    assert set(seen) == everyone
    twice = {address: n for address, n in seen.items() if n > 1}
    assert len(twice) == unrecorded, twice  # only those, each once more
    assert set(twice) <= set(leased)
    assert set(twice.values()) <= {2}, twice
    assert len(arrivals) == total + len(twice)
    ids: dict[str, set[str | None]] = {}
    for message in arrivals:
        ids.setdefault(message.rcpt_tos[0], set()).add(message.message_id)
    for address in twice:
        assert ids[address] == {rows[address].message_id}, address
    until = min(u for u in leased.values() if u is not None)
    assert until.timestamp() - time.time() > 200, "taken back by the heartbeat, not the lease"


# -- 2. graceful stop ----------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stopped_service_records_what_it_sent_and_gives_back_the_rest(
    newsroom: Newsroom, spawn: Spawn, sig: signal.Signals
) -> None:
    total = 600
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", crowd(total))
    async with smtp_server({"*": SLOW}) as server:
        config = smtp_config(newsroom, server, concurrency=4)
        service = spawn(config, "run")
        await wait_until(lambda: len(server.messages) >= 100, "100 messages", 30, service)
        asked = time.monotonic()
        service.stop(sig, timeout=5)
        took = time.monotonic() - asked
        await server.hung_up()  # a message the server was still taking in counts too
        accepted = Counter(server.recipients())

    assert took < 5
    rows = ledger(newsroom.db_url)
    counts = statuses(rows)
    assert "sending" not in counts, f"{counts}{service.tail()}"
    assert set(counts) == {"sent", "queued"}, f"{counts}{service.tail()}"
    assert sum(counts.values()) == total
    sent = {address for address, row in rows.items() if row.status == "sent"}
    assert set(accepted) == sent, "every message the server accepted is recorded as sent"
    assert set(accepted.values()) == {1}
    assert all(row.attempts == 0 for row in rows.values() if row.status == "queued")
    assert service.stopped_with() == Counter(sent=len(sent))

    # What was given back goes out on the next run, and only that.
    async with smtp_server() as server:
        config = smtp_config(newsroom, server, concurrency=4)
        code, again = await asyncio.to_thread(run_once, spawn, config)
        assert code == 0, again.tail()
    assert set(server.recipients()) == set(rows) - sent
    assert statuses(ledger(newsroom.db_url)) == Counter(sent=total)


async def test_a_stop_during_a_scan_exits_cleanly(newsroom: Newsroom, spawn: Spawn) -> None:
    newsroom.subscribers("press", crowd(10_000))  # the first scan takes about a second
    config = newsroom.write_config()
    service = spawn(config, "run")
    await wait_until(logged(service, "service started"), "the service to start", 15, service)
    service.send(signal.SIGTERM)  # the first scan has just begun
    assert service.wait(5) == 0, service.tail()
    assert "Traceback" not in service.log(), service.tail(60)


# -- 3. embargo timing with the real scheduler -----------------------------------------------


async def test_embargoed_and_public_copies_leave_on_the_second(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    base = math.ceil(time.time())  # whole seconds, as a press officer writes them
    # The service must be up before the embargo time: a process start takes several
    # seconds on a busy machine.
    embargo_at = datetime.fromtimestamp(base + 9, UTC)
    publish_at = datetime.fromtimestamp(base + 12, UTC)
    newsroom.release("launch", publish_at=publish_at, embargo_send_at=embargo_at)
    assert (
        f"publish_at = {publish_at.isoformat()}\n"
        in (newsroom.root / "releases" / "launch" / "release.toml").read_text()
    )
    cleared = {"ana@example.org": "fr", "ben@example.org": "en"}
    others = {"chen@example.org": "en", "dia@example.org": "fr", "eve@example.org": "en"}
    newsroom.subscribers(
        "press",
        [f"{a},,{lang},,,yes" for a, lang in cleared.items()]
        + [f"{a},,{lang},,,no" for a, lang in others.items()],
    )
    async with smtp_server() as server:
        arrivals = timed(server)
        # Only the one-off job at the next send time can be on time: no scan comes in between.
        config = smtp_config(newsroom, server, scheduler={"scan_interval": "30s"})
        service = spawn(config, "run")
        await wait_until(logged(service, "service started"), "the service to start", 10, service)
        assert time.time() < embargo_at.timestamp() - 0.5, "started too late to test the job"
        await wait_until(
            lambda: len(arrivals) >= 5,
            "five messages",
            publish_at.timestamp() - time.time() + 5,
            service,
        )
        await stays_quiet(server)
        service.stop()
        got = list(zip(arrivals.times, arrivals, strict=True))

    embargo, publish = embargo_at.timestamp(), publish_at.timestamp()
    by_address = {m.rcpt_tos[0]: (t, parse(m)) for t, m in got}
    assert len(got) == 5, "nobody gets two messages"
    assert set(by_address) == set(cleared) | set(others)
    report = {a: f"{t - embargo:+.3f}s after the embargo time" for a, (t, _) in by_address.items()}
    for address, lang in cleared.items():
        at, message = by_address[address]
        assert embargo <= at <= embargo + 1.5, report
        assert message["Subject"].startswith(EMBARGO_NOTICE[lang]), message["Subject"]
        assert message["Subject"].endswith(f"Title ({lang})")
    for address, lang in others.items():
        at, message = by_address[address]
        assert publish <= at <= publish + 1.5, report
        assert message["Subject"] == f"Title ({lang})"
    assert statuses(ledger(newsroom.db_url)) == Counter(sent=5)


# -- 4. a schedule missed while nothing ran ------------------------------------------------------


async def test_a_release_due_while_the_service_was_down_goes_out_on_start(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    newsroom.release("missed", publish_at=utc(-600))
    newsroom.subscribers("press", crowd(3))
    async with smtp_server() as server:
        arrivals = timed(server)
        config = smtp_config(newsroom, server)  # only the scan at start can send it in time
        service = spawn(config, "run")
        await wait_until(lambda: len(arrivals) >= 3, "three messages", 15, service)
        await stays_quiet(server)
        service.stop()
    assert max(arrivals.times) - service.started_at < 8, service.tail()
    assert sorted(server.recipients()) == [f"j{i:05d}@example.org" for i in range(3)]
    assert "overdue" not in service.log()
    assert statuses(ledger(newsroom.db_url)) == Counter(sent=3)


# -- 5. run --once: exit status and summary ------------------------------------------------------


async def test_run_once_reports_what_it_sent_and_exits_0(newsroom: Newsroom, spawn: Spawn) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", crowd(5))
    async with smtp_server() as server:
        config = smtp_config(newsroom, server)
        code, proc = await asyncio.to_thread(run_once, spawn, config)
    assert code == 0, proc.tail()
    lines = proc.output().splitlines()
    assert "launch: public copy queued for 5 journalists" in lines, proc.tail()
    assert "launch: 5 sent" in lines, proc.tail()
    assert lines[-1] == "5 sent, 0 deferred, 0 failed", proc.tail()
    assert len(server.messages) == 5


async def test_run_once_exits_1_when_a_recipient_is_refused(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", crowd(5))
    async with smtp_server({"j00002@example.org": Fault.user_unknown()}) as server:
        config = smtp_config(newsroom, server)
        code, proc = await asyncio.to_thread(run_once, spawn, config)
    assert code == 1, proc.tail()
    assert proc.output().splitlines()[-1] == "4 sent, 0 deferred, 1 failed", proc.tail()
    assert ledger(newsroom.db_url)["j00002@example.org"].status == "failed"


def test_run_once_with_the_server_down_defers_exits_0_and_status_shows_why(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", crowd(2))
    config = smtp_config(newsroom, None, scheduler={"retry_initial": "10m"})
    code, proc = run_once(spawn, config)
    assert code == 0, proc.tail()  # deferred is not failed: the service will try again
    assert proc.output().splitlines()[-1] == "0 sent, 2 deferred, 0 failed", proc.tail()

    status = spawn(config, "status", "--json")
    assert status.wait(30) == 0, status.tail()
    document = json.loads(status.output())
    [release] = document["releases"]
    assert release["id"] == "launch"
    assert release["by_status"] == {"deferred": 2}
    errors = {e["address"]: e for e in release["errors"]}
    assert set(errors) == {"j00000@example.org", "j00001@example.org"}
    for error in errors.values():
        assert error["status"] == "deferred"
        assert error["attempts"] == 1
        assert "connect" in error["reply"].lower(), error


# -- 6. several processes sharing PostgreSQL -------------------------------------------------------


async def test_two_workers_and_the_service_share_a_release_without_duplicates(
    pg_newsroom: Newsroom, spawn: Spawn
) -> None:
    newsroom, total = pg_newsroom, 1000
    newsroom.release("launch", publish_at=utc(-60))
    newsroom.subscribers("press", crowd(total))
    everyone = {f"j{i:05d}@example.org" for i in range(total)}
    async with smtp_server({"*": SLOW}) as server:
        config = smtp_config(newsroom, server, concurrency=4)
        upgrade = spawn(config, "db", "upgrade")  # migrations first: see the test below
        assert upgrade.wait(60) == 0, upgrade.tail()
        workers = [spawn(config, "worker", name=f"worker-{n}") for n in (1, 2)]
        service = spawn(config, "run")
        procs = (*workers, service)

        def done() -> bool:
            rows = ledger(newsroom.db_url)
            return len(rows) == total and statuses(rows) == Counter(sent=total)

        await wait_until(done, "every delivery sent", 45, *procs, poll=0.2)
        for proc in procs:
            proc.send(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(5) == 0, proc.tail()

    assert set(ledger(newsroom.db_url)) == everyone
    seen = Counter(server.recipients())
    assert set(seen) == everyone
    assert set(seen.values()) == {1}, {a: n for a, n in seen.items() if n > 1}
    shares = {proc.name: proc.stopped_with()["sent"] for proc in procs}
    assert sum(shares.values()) == total, shares
    assert all(shares[w.name] > 0 for w in workers), shares


async def test_workers_started_together_on_a_fresh_postgresql_database_all_come_up(
    pg_newsroom: Newsroom, spawn: Spawn
) -> None:
    newsroom = pg_newsroom
    config = newsroom.write_config()  # outbox: nothing to send, only to start
    dbname = newsroom.db_url.rsplit("/", 1)[1]
    # Make "together" deterministic: hold the name of Alembic's first table in an open
    # transaction, so every starting process blocks on it, then let them all go at once.
    with psycopg.connect(newsroom.db_url) as gate, psycopg.connect(newsroom.db_url) as watch:
        gate.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL)")
        workers = [spawn(config, "worker", name=f"worker-{n}") for n in (1, 2)]

        def blocked() -> int:
            query = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND wait_event_type = 'Lock'"
            )
            row = watch.execute(query, (dbname,)).fetchone()
            watch.commit()
            return int(row[0]) if row else 0

        with contextlib.suppress(pytest.fail.Exception):  # whatever happens, open the gate
            await wait_until(lambda: blocked() >= 2, "both to wait", 15, *workers, poll=0.05)
        gate.rollback()
    for worker in workers:
        await wait_until(logged(worker, "worker started"), "the worker", 15, *workers)
    for worker in workers:
        worker.stop()


# -- 7. one scheduler among several `run` processes ------------------------------------------

LEADS = "now leads the scheduler"


def planned(proc: Proc, release_id: str) -> int:
    """How many times ``proc`` planned ``release_id``'s public copy."""
    return proc.log().count(f"{release_id}: public copy queued")


async def two_services(newsroom: Newsroom, spawn: Spawn) -> tuple[Proc, Proc]:
    """Two `run` processes on one store, once the one that leads planned a due release
    and the other had time to try for the lead several times: (leader, other)."""
    newsroom.release("launch", publish_at=utc(-60), languages=("en",))
    newsroom.subscribers("press", crowd(3))
    # Outbox; a scan every second, and a try for the lead every half second (a lease of
    # three beats, 1.5 s, where a leader's session does not end with it: SQLite, a hang).
    config = newsroom.write_config(scheduler={"scan_interval": "1s", "heartbeat": "0.5s"})
    services = [spawn(config, "run", name=f"run-{n}") for n in (1, 2)]

    def one_planned() -> bool:
        return sum(planned(s, "launch") for s in services) >= 1

    await wait_until(one_planned, "the release planned", 30, *services)
    await asyncio.sleep(1.5)  # a scan of the leader, three tries of the other
    leaders = [s for s in services if LEADS in s.log()]
    assert len(leaders) == 1, "".join(s.tail() for s in services)
    (leader,) = leaders
    (other,) = (s for s in services if s is not leader)
    assert planned(leader, "launch") == 1 and planned(other, "launch") == 0
    assert statuses(ledger(newsroom.db_url)) == Counter(sent=3)
    return leader, other


@pytest.mark.databases("sqlite", "postgresql")
async def test_one_of_two_services_scans_and_the_other_takes_over_when_it_is_killed(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    leader, other = await two_services(newsroom, spawn)
    status = spawn(newsroom.root / "config.toml", "status", "--json")
    assert status.wait(30) == 0, status.tail()
    workers = json.loads(status.output())["sending"]["workers"]
    assert {w["pid"]: w["leader"] for w in workers} == {leader.pid: True, other.pid: False}
    leader.send(signal.SIGKILL)
    leader.wait(5)
    killed = time.monotonic()
    newsroom.release("second", publish_at=utc(-1), languages=("en",))
    await wait_until(lambda: planned(other, "second") == 1, "the takeover", 30, other)
    took = time.monotonic() - killed
    other.stop()
    assert LEADS in other.log()
    assert took < 30, f"{took:.1f}s to take over"


@pytest.mark.databases("postgresql")
async def test_a_hung_leader_is_replaced_and_stands_down_when_it_wakes(
    newsroom: Newsroom, spawn: Spawn
) -> None:
    """A frozen leader keeps its session, and so PostgreSQL's advisory lock: the other
    ends that session once the leader's lease ran out, and leads."""
    leader, other = await two_services(newsroom, spawn)
    leader.send(signal.SIGSTOP)
    try:
        newsroom.release("second", publish_at=utc(-1), languages=("en",))
        await wait_until(lambda: planned(other, "second") == 1, "the takeover", 30, other)
    finally:
        leader.send(signal.SIGCONT)
    await wait_until(logged(leader, "lost the lead"), "the old leader to stand down", 10, leader)
    await asyncio.sleep(1.5)  # a scan interval: the old leader does not scan
    for proc in (leader, other):
        proc.stop()
    assert planned(leader, "second") == 0
    assert planned(leader, "launch") == 1 and planned(other, "launch") == 0
