"""A large list upload against a running newsroom: how long the import takes, and how the
pages, the feeds and /healthz answer meanwhile.

Usage: python bench/imports.py [--rows 450000] [--releases 20] [--scan-interval 5s]
                               [--pause 0.05] [--keep] [--verbose]

What it builds, in a temporary folder: the newsroom of bench/feeds.py with
``--releases`` releases (20) in six languages, a small list ``subscribers/press.csv``
(50 journalists), a config with SQLite in the same folder, and the list to upload:
``--rows`` journalists (450,000) with every column of docs/subscribers.md, about
47 bytes a row (21 MB for 450,000): realistic names, outlets, one to three languages,
regions (countries and M49 regions, or empty: every region), topics, embargo. One row
in 10,000 is wrong (a bad address, an unknown language), so the check has a report.

What it starts: ``python -m pressdispatch --config CFG serve`` on 127.0.0.1 with
``PRESSDISPATCH_API_TOKEN`` set, as an operator runs it. It scans the files every
``--scan-interval`` (5 s), so scans run, and find the lists taken, during the import.

What it measures:

1. The upload: ``PUT /api/v1/lists/wire`` with the file as a ``text/csv`` body,
   streamed from disk. The time until the 202 answer.
2. The import: from the upload until ``GET /api/v1/imports/{id}`` says done (polled
   every second; the progress is printed with ``--verbose``).
3. Meanwhile, three clients in a loop, each waiting ``--pause`` (50 ms) between two
   requests: ``/healthz``, ``/feeds/en/all.atom`` and the home page ``/``. Each
   answer's status and latency is recorded: their count, median, p99 and worst, and
   every answer that was not 200.
4. The server's log: lines with a traceback, ``ERROR`` or "database is locked".

It prints the figures and exits 1 if any answer was not 200, /healthz ever took 1 s or
more, the log has an error, or the import did not end ``done``. It asserts nothing
else and is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from feeds import HOST, free_port, running, wait_for, write_newsroom

TOKEN = "bench-imports-token"
NO_STORE = "/api/v1/openapi.json"  # reads nothing from the store: shows the event loop alone
HEADER = "email,name,outlet,languages,regions,topics,embargo"
FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jon",
    "Kim",
    "Lea",
    "Mia",
    "Noor",
    "Omar",
    "Pia",
    "Raj",
    "Sara",
    "Tom",
    "Uma",
]
LAST = [
    "Lima",
    "Ode",
    "Wei",
    "Roe",
    "Stone",
    "Diaz",
    "Kahn",
    "Sato",
    "Novak",
    "Berg",
    "Haas",
    "Ivanova",
    "Mbeki",
    "Rossi",
    "Silva",
]
OUTLETS = ["AFP", "Reuters", "Le Monde", "El País", "BBC", "Xinhua", "", "", ""]
LANGUAGES = ["en", "fr", "es", "ru", "ar", "zh", "fr en", "es en", "ru en", "ar fr en"]
REGIONS = ["", "", "", "", "europe", "africa", "FR", "BY", "western-africa", "asia"]
TOPICS = ["", "", "", "", "", "health", "climate", "water food", "health climate"]


def write_list(path: Path, rows: int, seed: int = 450) -> int:
    """The list to upload, row by row; its size in bytes."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for n in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first[0]}{last}{n}@{rng.choice('abcdefgh')}.org".lower()
            language = rng.choice(LANGUAGES)
            if n % 10_000 == 5_000:
                email = f"{first}.{last}.at.example.org"  # no @: reported, skipped
            elif n % 10_000 == 7_500:
                language = "xx"  # not ISO 639-1
            embargo = "yes" if rng.random() < 0.2 else "no"
            out.write(
                f"{email},{first} {last},{rng.choice(OUTLETS)},{language},"
                f"{rng.choice(REGIONS)},{rng.choice(TOPICS)},{embargo}\n"
            )
    return path.stat().st_size


def write_press(path: Path) -> None:
    rows = [f"press{n}@example.org,Press {n},Wire,en,,,no" for n in range(50)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


@dataclass
class Probe:
    url: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    slow: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds) over 0.3 s

    def line(self) -> str:
        values = sorted(self.latencies)
        if not values:
            return f"{self.url:<22} no answer"
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        median = statistics.median(values)
        return (
            f"{self.url:<22} {len(values):6d} answers  median {median * 1000:7.1f} ms"
            f"  p99 {p99 * 1000:7.1f} ms  worst {values[-1] * 1000:7.1f} ms"
            f"  not 200: {len(self.failures)}"
        )


async def probe(
    client: httpx.AsyncClient, target: Probe, done: asyncio.Event, pause: float
) -> None:
    while not done.is_set():
        began = time.perf_counter()
        try:
            response = await client.get(target.url)
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        target.latencies.append(time.perf_counter() - began)
        if target.latencies[-1] > 0.3:
            target.slow.append((began, target.latencies[-1]))
        if status != "200":
            target.failures.append(
                f"{target.url}: {status} after {time.perf_counter() - began:.2f} s"
            )
        await asyncio.sleep(pause)


async def upload_and_watch(
    base: str, path: Path, args: argparse.Namespace
) -> tuple[dict, list[Probe], float, float]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    probes = [Probe("/healthz"), Probe("/feeds/en/all.atom"), Probe("/"), Probe(NO_STORE)]
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        start = time.perf_counter()
        tasks = [asyncio.create_task(probe(client, p, done, args.pause)) for p in probes]
        await asyncio.sleep(2)  # a baseline before the upload

        async def body():  # streamed from disk, as a browser or curl would send it
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 16):
                    yield chunk

        began = time.perf_counter()
        response = await client.put(
            "/api/v1/lists/wire",
            content=body(),
            headers={**auth, "Content-Type": "text/csv"},
        )
        answered = time.perf_counter() - began
        if response.status_code != 202:
            raise SystemExit(f"upload refused: {response.status_code} {response.text}")
        location = response.headers["location"]
        job = response.json()
        while job["state"] not in ("done", "failed"):
            await asyncio.sleep(1)
            job = (
                await client.get(f"/api/v1{location.removeprefix('/api/v1')}", headers=auth)
            ).json()
            if args.verbose:
                elapsed = time.perf_counter() - start
                print(
                    f"  {elapsed:6.1f} s  {job['state']:<8} read {job['rows_read']:>7}"
                    f"  problems {job['problem_count']:>3}"
                    f"  merged {job['rows_merged']:>7} of {job['rows_total']:>7}",
                    flush=True,
                )
        finished = time.perf_counter() - began
        await asyncio.sleep(2)  # and after it
        done.set()
        await asyncio.gather(*tasks)
    if args.verbose:
        for target in probes:
            for when, seconds in target.slow:
                print(f"  slow: {target.url} at {when - start:6.1f} s took {seconds:.2f} s")
    return job, probes, answered, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=450_000)
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--scan-interval", default="5s")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between two probes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    try:
        sys.exit(bench(args, tmp))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil  # noqa: PLC0415

            shutil.rmtree(tmp, ignore_errors=True)


def bench(args: argparse.Namespace, tmp: Path) -> int:
    port = free_port()
    config = write_newsroom(tmp, args.releases, port, args.scan_interval)
    write_press(tmp / "subscribers" / "press.csv")
    upload = tmp / "wire.csv"
    size = write_list(upload, args.rows)
    print(
        f"list: {args.rows:,} rows, {size / 1e6:.1f} MB "
        f"({size / max(args.rows, 1):.0f} bytes a row)"
    )
    env = {**os.environ, "PRESSDISPATCH_API_TOKEN": TOKEN}
    argv = [sys.executable, "-m", "pressdispatch", "--config", str(config), "serve"]
    log = tmp / "serve.log"
    base = f"http://{HOST}:{port}"
    with running(argv, log, env) as proc:

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/feeds/en/all.atom", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("serve", ready, proc, 120)
        job, probes, answered, finished = asyncio.run(upload_and_watch(base, upload, args))
    text = log.read_text(encoding="utf-8", errors="replace")
    errors = [
        line for line in text.splitlines() if re.search(r"Traceback|ERROR|database is locked", line)
    ]
    print(f"upload answered 202 in {answered:.2f} s")
    print(
        f"import {job['state']} in {finished:.1f} s: {job['rows_read']:,} valid rows, "
        f"{job['problem_count']} problems, {job['rows_merged']:,} list rows merged, "
        f"{job['changed']:,} journalists added or changed"
    )
    for target in probes:
        print(target.line())
    failures = [f for target in probes for f in target.failures]
    for failure in failures[:20]:
        print(f"  {failure}")
    busy = text.count("being merged elsewhere")
    print(
        f"scans that found the lists taken meanwhile: {busy}; error lines in the log: {len(errors)}"
    )
    for line in errors[:10]:
        print(f"  {line}")
    healthz = max(probes[0].latencies, default=0.0)
    bad = failures or errors or job["state"] != "done" or healthz >= 1.0
    return 1 if bad else 0


if __name__ == "__main__":
    main()
