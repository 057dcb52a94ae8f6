"""Dispatch throughput: the real engine against raw aiosmtplib, both into Postfix's smtp-sink.

Usage: python bench/dispatch.py [--recipients 20000] [--concurrency 4]
                                [--phase both|engine|raw] [--database postgresql://...]
       python bench/dispatch.py --fault tempfail [--recipients 2000] [--database ...]
       python bench/dispatch.py --workers 3 [--recipients 20000] [--database ...]

What it builds, in a temporary folder: a newsroom whose config sends over SMTP
(``security = "none"``, ``rate = 0``, ``concurrency`` connections) to an
``smtp-sink`` started on 127.0.0.1 on a free port; one release, published a
minute ago, in English, French and Russian, its body (the sample release's
paragraphs, cycled) sized so that each message is about ``--message-size`` bytes; and a
subscriber list of ``--recipients`` journalists, one language each, in turn.

What it measures:

- engine phase: the real pipeline in-process, as ``pressdispatch run --once``
  does it: ``open_runtime`` (migrations, every part), then ``service.scan_and_send``:
  sync the files into the store and plan every delivery, the engine (claim, render,
  send, record, on the configured transport) sending from the plan's first chunk
  while the rest is planned. Timed: when the plan was done, and when everything was
  sent ("sync+plan+send"). ``--plan-only`` times ``pipeline.tick`` (sync and plan)
  alone.
- raw phase: the floor the engine is compared with. One message per language
  is rendered once with the project's renderer; ``--concurrency`` asyncio
  tasks, each with one persistent ``aiosmtplib.SMTP`` connection, send the
  same number of messages with ``sendmail`` in a loop. No database, no
  per-recipient rendering.
- the ratio engine/raw, end to end: sync, plan and send against raw's send
  (target: at least 0.8, on SQLite and on PostgreSQL),
  and each phase's peak RSS (``ru_maxrss``; target: under 150 MB for 100,000
  recipients). With ``--phase both`` (the default) each phase runs in its own
  child process, so each peak is that phase's alone; with ``--phase engine``
  or ``raw`` the phase runs in this process, set-up included.

The sink's own message counter is checked against the number of messages each
phase says it sent.

``--fault tempfail`` measures delivery under pushback instead: the engine runs as
the service does (``pressdispatch run``: retries included) until every delivery
is finished, against ``bench/faultserver.py`` (aiosmtpd in its own process), once
accepting everything and once answering 451 to every recipient's first attempt,
with ``retry_initial = "2s"``. It reports both times and the copies the server
accepted more than once. Target: no duplicate, and the tempfail run within three
times the no-fault time plus two retry intervals.

``--workers N`` measures several sending processes sharing one store: the
release is synced and planned in this process, then N ``pressdispatch worker``
processes (each with ``--concurrency`` connections) send it into one smtp-sink
until nothing is left. It reports each worker's share (from the ``stopped:``
line each logs as it stops) and rate, the total rate from the first worker's
start to the last delivery recorded, the duplicates (the sink's count of messages
less the deliveries the ledger records as sent: must be 0), and, as the baseline,
raw aiosmtplib with N x ``--concurrency`` connections in one process.

Requirements: Postfix's ``smtp-sink`` (Debian: ``apt-get install postfix``; only
the binary is used, the Postfix daemon need not run). ``--database`` takes a
PostgreSQL server URL; a throwaway database is created there and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import psycopg
from sqlalchemy.engine import make_url

from pressdispatch import pipeline
from pressdispatch.config import Settings, load_settings
from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.credentials import Credentials
from pressdispatch.dispatch.transport import Envelope, Outcome, Ready, Transport
from pressdispatch.model import UNFINISHED, Release, Tier, Variant
from pressdispatch.regions import load_regions
from pressdispatch.render.email import Recipient
from pressdispatch.runtime import Runtime, make_transport, open_runtime, renderer_for
from pressdispatch.service import scan_and_send

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "releases" / "minsk-vaccination-campaign"
RELEASE_ID = "bench-dispatch"
LANGUAGES = ("en", "fr", "ru")
NAMES = {"en": "Journalist No. {i}", "fr": "Journaliste nº {i}", "ru": "Журналист № {i}"}
SENDER = "press@example.org"
RESULT = "RESULT "  # prefix of the line a child process reports on


def address(i: int) -> str:
    return f"journalist{i}@news{i % 10}.example.org"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- smtp-sink ---------------------------------------------------------------------------


def find_smtp_sink() -> str | None:
    found = shutil.which("smtp-sink")
    if found is None and os.access("/usr/sbin/smtp-sink", os.X_OK):
        found = "/usr/sbin/smtp-sink"  # sbin is often missing from a non-root PATH
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """smtp-sink on 127.0.0.1: accepts every message and throws it away, counting."""

    def __init__(self, binary: str, folder: Path, user: str) -> None:
        self.port = free_port()
        self._log = folder / "smtp-sink.log"
        command = [binary, "-c"]
        if os.geteuid() == 0:
            command += ["-u", user]  # smtp-sink refuses to keep root privileges
        command += [f"127.0.0.1:{self.port}", "1024"]  # 1024: the listen backlog
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 5
        while True:
            if self._process.poll() is not None:
                output = self._log.read_text(errors="replace")
                raise SystemExit(f"smtp-sink exited at start: {output.strip()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"smtp-sink is not listening on 127.0.0.1:{self.port}")
            time.sleep(0.05)

    def messages(self) -> int:
        """Messages received so far (the last of the counters ``-c`` prints)."""
        counts = re.findall(r"mesg=(\d+)", self._log.read_text(errors="replace"))
        return int(counts[-1]) if counts else 0

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# --- the newsroom ------------------------------------------------------------------------


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def write_config(
    root: Path, *, port: int, concurrency: int, database_url: str, scheduler: str = ""
) -> Path:
    path = root / "config.toml"
    path.write_text(
        f"""\
[newsroom]
name = "Bench Press Office"
base_url = "https://press.example.org"
timezone = "Europe/Paris"
from = "Bench Press Office <{SENDER}>"
reply_to = "media@example.org"
languages = ["en", "fr", "ru"]

[paths]
templates = {toml_string(str(ROOT / "templates"))}

[database]
url = {toml_string(database_url)}

[transport]
kind = "smtp"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
concurrency = {concurrency}
rate = 0

[scheduler]
{scheduler}
""",
        encoding="utf-8",
    )
    return path


def write_release(root: Path, lengths: dict[str, int], publish_at: datetime) -> None:
    """The sample release's three versions, each body's paragraphs cycled to ``lengths[lang]``."""
    folder = root / "releases" / RELEASE_ID
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "release.toml").write_text(
        f"publish_at = {publish_at.isoformat()}\n"
        'status = "ready"\noriginal_language = "en"\nregions = ["world"]\ntopics = ["health"]\n\n'
        '[[contacts]]\nname = "Iryna Zhuk"\nrole = "Press Officer, Minsk"\n'
        'phone = "+375 17 000 0000"\nemail = "i.zhuk@example.org"\n',
        encoding="utf-8",
    )
    for lang in LANGUAGES:
        _, front, body = (SAMPLE / f"{lang}.md").read_text(encoding="utf-8").split("+++\n", 2)
        blocks = [block.strip() for block in body.split("\n\n") if block.strip()]
        chosen: list[str] = []
        size = 0
        for block in itertools.cycle(blocks):
            if size >= lengths[lang]:
                break
            chosen.append(block)
            size += len(block.encode()) + 2
        text = "+++\n" + front + "+++\n\n" + "\n\n".join(chosen) + "\n"
        (folder / f"{lang}.md").write_text(text, encoding="utf-8")


def load_release(settings: Settings) -> Release:
    newsroom = load_newsroom(settings, load_regions(), subscribers=False)
    if RELEASE_ID not in newsroom.releases:
        problems = "\n".join(str(p) for p in newsroom.release_problems)
        raise SystemExit(f"the benchmark release does not load:\n{problems}")
    return newsroom.releases[RELEASE_ID]


def sample_messages(settings: Settings) -> dict[str, bytes]:
    """One message per language, rendered with the project's renderer."""
    release = load_release(settings)
    renderer = renderer_for(settings, load_regions(), Credentials.read(settings))
    return {
        lang: renderer.render(
            release,
            Variant(lang, Tier.PUBLIC),
            Recipient(address(i), NAMES[lang].format(i=i)),
        )
        for i, lang in enumerate(LANGUAGES)
    }


def size_release(root: Path, config: Path, target: int, publish_at: datetime) -> dict[str, int]:
    """Size each body (in whole paragraphs) so that its message is about ``target`` bytes."""
    settings = load_settings(config)
    small, large = 2_000, 8_000  # bytes of Markdown; the message grows linearly between
    write_release(root, dict.fromkeys(LANGUAGES, small), publish_at)
    at_small = {lang: len(m) for lang, m in sample_messages(settings).items()}
    write_release(root, dict.fromkeys(LANGUAGES, large), publish_at)
    at_large = {lang: len(m) for lang, m in sample_messages(settings).items()}
    lengths = {}
    for lang in LANGUAGES:
        per_byte = (at_large[lang] - at_small[lang]) / (large - small)
        lengths[lang] = max(1, small + round((target - at_small[lang]) / per_byte))
    write_release(root, lengths, publish_at)
    return {lang: len(m) for lang, m in sample_messages(settings).items()}


def write_subscribers(root: Path, count: int) -> None:
    """One list, written row by row: journalist i reads LANGUAGES[i % 3] only."""
    folder = root / "subscribers"
    folder.mkdir(exist_ok=True)
    with (folder / "journalists.csv").open("w", encoding="utf-8", newline="") as out:
        out.write("email,name,outlet,languages,regions,topics,embargo\n")
        for i in range(count):
            lang = LANGUAGES[i % len(LANGUAGES)]
            name = NAMES[lang].format(i=i)
            out.write(f"{address(i)},{name},Outlet {i % 500},{lang},,,no\n")


@contextlib.contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A fresh database on the server ``server_url`` points at, dropped afterwards."""
    name = f"pressdispatch_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the phases --------------------------------------------------------------------------


class Measuring:
    """The configured transport, unchanged, plus the bytes handed to it."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.messages = 0
        self.bytes = 0

    async def send(self, envelope: Envelope, *, ready: Ready | None = None) -> Outcome:
        self.messages += 1
        self.bytes += len(envelope.message)
        return await self.inner.send(envelope, ready=ready)

    async def close(self) -> None:
        await self.inner.close()


async def engine_phase(config: Path, *, plan_only: bool = False) -> dict[str, Any]:
    settings = load_settings(config)
    start = time.perf_counter()
    transport = Measuring(make_transport(settings, Credentials.read(settings)))
    rt = await open_runtime(settings, transport=transport)
    opened = time.perf_counter()
    try:
        if plan_only:
            report = await pipeline.tick(rt, datetime.now(UTC))
            planned = time.perf_counter()
            rss_plan = peak_rss_mib()
            _problems(report)
            again = await scan_again(rt, config)
            return {
                "phase": "engine",
                "plan_s": planned - opened,
                "again_s": again,
                "open_s": opened - start,
                "queued": sum(c for _, c in report.started),
                "rss_plan_mib": rss_plan,
            }
        # As `run --once` does (service.scan_and_send): sending starts with the plan's
        # first chunk, while the rest is planned.
        engine = rt.engine(kind="once")
        marks: dict[str, float] = {}

        async def scanned(report: pipeline.TickReport) -> None:
            marks["planned"] = time.perf_counter()
            marks["rss_plan"] = peak_rss_mib()
            _problems(report)

        cpu_start = time.process_time()
        report, stats = await scan_and_send(rt, engine, datetime.now(UTC), asyncio.Event(), scanned)
        sent, cpu = time.perf_counter(), time.process_time() - cpu_start
        again = await scan_again(rt, config)
    finally:
        await rt.close()
    return {
        "phase": "engine",
        "queued": sum(count for _, count in report.started),
        "outcomes": {status.value: n for status, n in stats.outcomes.items()},
        "messages": transport.messages,
        "mean_size": transport.bytes / max(transport.messages, 1),
        "open_s": opened - start,
        "plan_s": marks["planned"] - opened,
        "again_s": again,
        "total_s": sent - opened,
        "cpu_s": cpu,
        "rss_plan_mib": marks["rss_plan"],
        "rss_mib": peak_rss_mib(),
    }


def _problems(report: pipeline.TickReport) -> None:
    for problem in report.problems:
        print(f"  problem: {problem}", file=sys.stderr)


async def scan_again(rt: Runtime, config: Path) -> float:
    """The lists written again with the same bytes (a nightly export), and a second scan."""
    lists = config.parent / "subscribers" / "journalists.csv"
    lists.write_bytes(lists.read_bytes())
    began = time.perf_counter()
    await pipeline.tick(rt, datetime.now(UTC))
    return time.perf_counter() - began


async def raw_phase(config: Path, count: int, concurrency: int) -> dict[str, Any]:
    settings = load_settings(config)
    by_language = sample_messages(settings)
    prebuilt = [by_language[lang] for lang in LANGUAGES]  # message i is in LANGUAGES[i % 3]
    todo = iter(range(count))  # shared by the tasks: each takes the next index
    refused = 0

    async def connection(local_hostname: str) -> int:
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp.host,
            port=settings.smtp.port,
            local_hostname=local_hostname,
            start_tls=False,
            timeout=settings.smtp.timeout.total_seconds(),
        )
        await smtp.connect()
        done = 0
        try:
            for i in todo:
                errors, _ = await smtp.sendmail(SENDER, [address(i)], prebuilt[i % len(prebuilt)])
                done += 1
                if errors:
                    nonlocal refused
                    refused += 1
        finally:
            await smtp.quit()
        return done

    start, cpu_start = time.perf_counter(), time.process_time()
    local_hostname = await asyncio.to_thread(socket.getfqdn)  # as SmtpTransport does, once
    done = await asyncio.gather(*(connection(local_hostname) for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "phase": "raw",
        "messages": sum(done),
        "refused": refused,
        "mean_size": sum(len(prebuilt[i % len(prebuilt)]) for i in range(count)) / max(count, 1),
        "send_s": elapsed,
        "send_cpu_s": cpu,
        "rss_mib": peak_rss_mib(),
    }


def run_phase(phase: str, config: Path, args: argparse.Namespace) -> dict[str, Any]:
    if phase == "engine":
        return asyncio.run(engine_phase(config, plan_only=args.plan_only))
    return asyncio.run(raw_phase(config, args.recipients, args.concurrency))


def run_child(
    phase: str, root: Path, args: argparse.Namespace, *, concurrency: int | None = None
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--workdir",
        str(root),
        "--recipients",
        str(args.recipients),
        "--concurrency",
        str(concurrency or args.concurrency),
        *(["--plan-only"] if args.plan_only else []),
    ]
    child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in child.stdout.splitlines() if line.startswith(RESULT)]
    if child.returncode != 0 or not lines:
        sys.stdout.write(child.stdout)
        raise SystemExit(f"the {phase} phase failed (exit status {child.returncode})")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT))
    return result


# --- under pushback (--fault) ------------------------------------------------------------

RETRY_INITIAL = 2.0  # seconds


class FaultServer:
    """bench/faultserver.py in its own process, on a free port of 127.0.0.1."""

    def __init__(self, folder: Path, fault: str) -> None:
        self.port = free_port()
        self._report = folder / f"faultserver-{fault}.json"
        script = Path(__file__).resolve().parent / "faultserver.py"
        command = [sys.executable, str(script), str(self.port), str(self._report)]
        self._process = subprocess.Popen(
            [*command, "--fault", fault], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "listening":
            raise SystemExit("bench/faultserver.py did not start")

    def stop(self) -> dict[str, int]:
        self._process.terminate()
        self._process.wait(timeout=10)
        report: dict[str, int] = json.loads(self._report.read_text(encoding="utf-8"))
        return report


async def until_done_phase(config: Path) -> dict[str, Any]:
    """The service's engine (retries included) from start until nothing is left to send."""
    settings = load_settings(config)
    rt = await open_runtime(settings)
    try:
        await pipeline.tick(rt, datetime.now(UTC))
        engine = rt.engine()
        stop = asyncio.Event()
        start = time.perf_counter()
        running = asyncio.create_task(engine.run(stop))
        try:
            while not running.done():
                counts = await rt.ledger.counts()
                if not any(n for group, n in counts.items() if group.status in UNFINISHED):
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
        finally:
            stop.set()
            await running
        counts = await rt.ledger.counts()
    finally:
        await rt.close()
    ledger: dict[str, int] = {}
    for group, n in counts.items():
        ledger[group.status.value] = ledger.get(group.status.value, 0) + n
    outcomes = {status.value: n for status, n in engine.stats.outcomes.items()}
    return {"seconds": elapsed, "ledger": ledger, "outcomes": outcomes}


def fault_bench(args: argparse.Namespace) -> None:
    results: dict[str, dict[str, Any]] = {}
    for fault in ("none", args.fault):
        with contextlib.ExitStack() as stack:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pd-bench-")))
            server = FaultServer(root, fault)
            if args.database:
                database_url = stack.enter_context(throwaway_postgres(args.database))
            else:
                database_url = "sqlite:///var/pressdispatch.db"
            config = write_config(
                root,
                port=server.port,
                concurrency=args.concurrency,
                database_url=database_url,
                scheduler=f'retry_initial = "{RETRY_INITIAL:g}s"',
            )
            publish_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
            size_release(root, config, args.message_size, publish_at)
            write_subscribers(root, args.recipients)
            try:
                result = asyncio.run(until_done_phase(config))
            finally:
                result_server = server.stop()
            results[fault] = {**result, **result_server}
    print(
        f"{args.recipients:,} recipients; concurrency {args.concurrency}; "
        f"database: {'PostgreSQL' if args.database else 'SQLite'}; "
        f"retry_initial {RETRY_INITIAL:g} s; server: bench/faultserver.py (aiosmtpd); "
        f"{os.cpu_count()} CPUs"
    )
    for fault, r in results.items():
        label = "no fault" if fault == "none" else "451 to every first attempt"
        print(
            f"{label}: finished in {r['seconds']:.1f} s; ledger {r['ledger']}; server accepted "
            f"{r['accepted']:,} copies for {r['recipients']:,} recipients "
            f"({r['duplicates']} duplicates), refused {r['refused']:,}"
        )
    base, faulted = results["none"], results[args.fault]
    bound = 3 * base["seconds"] + 2 * RETRY_INITIAL
    duplicates = base["duplicates"] + faulted["duplicates"]
    met = duplicates == 0 and faulted["seconds"] <= bound
    print(
        f"target: 0 duplicates and at most 3 x {base['seconds']:.1f} + 2 x {RETRY_INITIAL:g} = "
        f"{bound:.1f} s: {'met' if met else 'NOT met'} ({faulted['seconds']:.1f} s, "
        f"{duplicates} duplicates)"
    )


# --- several workers (--workers) ---------------------------------------------------------

STARTED_AT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*worker started", re.M)
STOPPED = re.compile(r"stopped: (\{.*\})")


async def plan_only(config: Path) -> int:
    """Sync the files and plan every delivery, as the leading `run` process would."""
    settings = load_settings(config)
    rt = await open_runtime(settings)
    try:
        report = await pipeline.tick(rt, datetime.now(UTC))
    finally:
        await rt.close()
    for problem in report.problems:
        print(f"  problem: {problem}", file=sys.stderr)
    return sum(count for _, count in report.started)


async def ledger_counts(config: Path) -> dict[str, int]:
    rt = await open_runtime(load_settings(config))
    try:
        counts = await rt.ledger.counts()
    finally:
        await rt.close()
    totals: dict[str, int] = {}
    for group, n in counts.items():
        totals[group.status.value] = totals.get(group.status.value, 0) + n
    return totals


def logged_at(line_start: str) -> float:
    """A log line's time (the service logs local time, to the millisecond)."""
    return datetime.strptime(line_start, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def workers_bench(args: argparse.Namespace, sink: Sink, root: Path, config: Path) -> None:
    queued = asyncio.run(plan_only(config))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = [root / f"worker-{n}.log" for n in range(1, args.workers + 1)]
    procs = []
    for path in logs:
        with path.open("wb") as log:
            command = [sys.executable, "-m", "pressdispatch", "--config", str(config), "worker"]
            procs.append(subprocess.Popen(command, stderr=log, stdout=log, cwd=root, env=env))
    try:
        while True:  # a cheap check of the sink first, the ledger once it has everything
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited early: see its log\n" + logs[0].read_text())
            if sink.messages() >= queued:
                counts = asyncio.run(ledger_counts(config))
                if not any(counts.get(s.value, 0) for s in UNFINISHED):
                    break
            time.sleep(0.05)
        done = time.time()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    time.sleep(0.2)  # the sink prints its counters as sessions end
    texts = [path.read_text(errors="replace") for path in logs]
    started = [logged_at(m.group(1)) for t in texts if (m := STARTED_AT.search(t))]
    shares = []
    for text in texts:
        found = STOPPED.findall(text)
        outcomes = json.loads(found[-1].replace("'", '"')) if found else {}
        shares.append(int(outcomes.get("sent", 0)))
    first = min(started)
    elapsed = done - first
    sent = counts.get("sent", 0)
    received = sink.messages()

    raw = run_child("raw", root, args, concurrency=args.workers * args.concurrency)
    print(
        f"{args.workers} workers x {args.concurrency} connections: {queued:,} queued; "
        f"ledger {counts}; sink received {received:,}"
    )
    print(f"  workers started within {max(started) - first:.2f} s of each other")
    for n, (share, start) in enumerate(zip(shares, started, strict=True), start=1):
        print(
            f"  worker {n}: {share:,} sent ({100 * share / max(sum(shares), 1):.0f}%), "
            f"{share / (done - start):,.0f} messages/s from its start"
        )
    print(
        f"  total: {sent:,} in {elapsed:.2f} s from the first worker's start: "
        f"{sent / elapsed:,.0f} messages/s"
    )
    duplicates = received - sent
    print(f"  duplicates: {duplicates} (the sink's count less the ledger's sent; must be 0)")
    rate = raw["messages"] / raw["send_s"]
    print(
        f"raw aiosmtplib, one process, {args.workers * args.concurrency} connections: "
        f"{rate:,.0f} messages/s; ratio workers/raw {sent / elapsed / rate:.2f}"
    )
    if duplicates or sum(shares) != sent:
        raise SystemExit(f"duplicates or a miscount: {shares} against {sent} sent")


# --- the report --------------------------------------------------------------------------


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    engine, raw = results.get("engine"), results.get("raw")
    if engine is not None and args.plan_only:
        print(
            f"engine: {engine['queued']:,} queued; migrate+connect {engine['open_s']:.2f} s, "
            f"sync+plan {engine['plan_s']:.2f} s, again with the lists unchanged "
            f"{engine['again_s']:.2f} s; peak RSS {engine['rss_plan_mib']:.0f} MiB"
        )
        return
    if engine is not None:
        n = engine["messages"]
        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(engine["outcomes"].items()))
        print(
            f"engine: {engine['queued']:,} queued, {n:,} sent to the transport ({outcomes}); "
            f"sink received {engine['sink']:,}"
        )
        print(
            f"  migrate+connect {engine['open_s']:.2f} s; sync, plan and send "
            f"{engine['total_s']:.2f} s, sending from the plan's first chunk (the plan was "
            f"done at {engine['plan_s']:.2f} s; again, lists unchanged: {engine['again_s']:.2f} s)"
        )
        print(
            f"  sync+plan+send: {n / engine['total_s']:,.0f} messages/s "
            f"(CPU {1000 * engine['cpu_s'] / max(n, 1):.2f} ms/message, all threads)"
        )
        print(
            f"  mean message {engine['mean_size']:,.0f} bytes "
            f"({engine['mean_size'] / 1024:.1f} KiB); peak RSS {engine['rss_mib']:.0f} MiB "
            f"(after sync+plan: {engine['rss_plan_mib']:.0f} MiB)"
        )
    if raw is not None:
        n = raw["messages"]
        print(
            f"raw aiosmtplib: {n:,} sent ({raw['refused']:,} refused); "
            f"sink received {raw['sink']:,}"
        )
        print(
            f"  send {raw['send_s']:.2f} s: {n / raw['send_s']:,.0f} messages/s "
            f"(CPU {1000 * raw['send_cpu_s'] / max(n, 1):.2f} ms/message)"
        )
        print(f"  mean message {raw['mean_size']:,.0f} bytes; peak RSS {raw['rss_mib']:.0f} MiB")
    if engine is not None and raw is not None:
        ratio = (engine["messages"] / engine["total_s"]) / (raw["messages"] / raw["send_s"])
        print(
            f"ratio engine/raw, end to end (sync, plan and send against send): {ratio:.2f} "
            "(target: at least 0.8)"
        )
    print(
        f"this process: peak RSS {peak_rss_mib():.0f} MiB "
        f"({'each phase in its own child process' if args.phase == 'both' else 'set-up included'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=4, help="SMTP connections")
    parser.add_argument("--phase", choices=("both", "engine", "raw"), default="both")
    parser.add_argument("--database", help="postgresql://user@host:port/db (default: SQLite)")
    parser.add_argument("--message-size", type=int, default=20_000, help="bytes, approximately")
    parser.add_argument("--sink-user", default="nobody", help="smtp-sink's user when run as root")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="the engine phase stops after sync+plan and a second scan: no sending, no raw phase",
    )
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)  # child: one phase only
    parser.add_argument(
        "--fault",
        choices=("tempfail",),
        help="measure delivery under pushback (default recipients: 2,000)",
    )
    parser.add_argument(
        "--workers", type=int, help="N `pressdispatch worker` processes share the sending"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    if args.fault is not None:
        if "--recipients" not in sys.argv:
            args.recipients = 2_000
        fault_bench(args)
        return

    if args.workdir is not None:
        result = run_phase(args.phase, args.workdir / "config.toml", args)
        print(RESULT + json.dumps(result))
        return

    binary = find_smtp_sink()
    if binary is None:
        raise SystemExit(
            "smtp-sink was not found on PATH (nor in /usr/sbin). It comes with Postfix: "
            "install the 'postfix' package, e.g. "
            "`sudo DEBIAN_FRONTEND=noninteractive apt-get install -y postfix` on Debian/Ubuntu. "
            "Only the smtp-sink binary is used; the Postfix daemon need not run."
        )
    phases = ["engine", "raw"] if args.phase == "both" else [args.phase]
    if args.plan_only:
        phases = ["engine"]
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pd-bench-")))
        sink = Sink(binary, root, args.sink_user)
        stack.callback(sink.stop)
        if args.database:
            database_url = stack.enter_context(throwaway_postgres(args.database))
            shown = make_url(database_url).render_as_string(hide_password=True)
        else:
            database_url = "sqlite:///var/pressdispatch.db"
            shown = "SQLite (WAL) in the temporary folder"
        config = write_config(
            root, port=sink.port, concurrency=args.concurrency, database_url=database_url
        )
        started = time.perf_counter()
        publish_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        sizes = size_release(root, config, args.message_size, publish_at)
        write_subscribers(root, args.recipients)
        print(
            f"{args.recipients:,} recipients over {', '.join(LANGUAGES)}; "
            f"concurrency {args.concurrency}; database: {shown}; "
            f"smtp-sink on 127.0.0.1:{sink.port}; {os.cpu_count()} CPUs"
        )
        print(
            "message size by language: "
            + ", ".join(f"{lang} {size:,} bytes" for lang, size in sizes.items())
            + f" (set-up {time.perf_counter() - started:.1f} s)"
        )
        if args.workers:
            workers_bench(args, sink, root, config)
            return
        results: dict[str, dict[str, Any]] = {}
        for phase in phases:
            before = sink.messages()
            if args.phase == "both":
                result = run_child(phase, root, args)
            else:
                result = run_phase(phase, config, args)
            time.sleep(0.2)  # the sink prints its counters as sessions end
            result["sink"] = sink.messages() - before
            results[phase] = result
        report(results, args)


if __name__ == "__main__":
    main()
