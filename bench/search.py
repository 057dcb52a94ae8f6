"""Search latency: ``GET /search`` against ``pressdispatch serve``, on SQLite or PostgreSQL.

Usage: python bench/search.py [--releases 10000] [--requests 1000] [--warmup 100]
                              [--database postgresql://postgres@127.0.0.1:5432/postgres]
                              [--seed 2027] [--keep]

What it builds, in a temporary folder: a newsroom of ``--releases`` releases (10,000),
each written in one of six languages (en fr ru ar es zh, in turn) and translated into
the next one, so 20,000 language versions, with Markdown bodies of about 1.5-2.5 KB
(the words of the sample releases, as bench/feeds.py builds them), a summary, a
dateline, a contact, regions and topics; all published in the past, one a minute. The
store is SQLite in that folder, or with ``--database`` a throwaway database on that
PostgreSQL server, dropped afterwards.

What it starts: ``python -m pressdispatch --config CFG serve``, as an operator runs it,
one process on 127.0.0.1. Its start syncs the release files into the store, and with
them builds the search index: the time until the first search answers is shown
("index built in"). Its scan of the files runs every ``--scan-interval`` (1h, so not
during the measure: with 10,000 releases a scan holds the server for a second or more,
search or no search; ``--scan-interval 15s`` shows it in the tail).

What it measures: the latency of one request at a time (one client, a kept-alive HTTP
connection, the full answer read), for ``--requests`` requests per scenario after
``--warmup`` unmeasured ones, the scenarios interleaved request by request:

- ``one word, in a language``: ``/search?q=WORD&lang=L``, what the header's search box
  sends; L in turn, WORD any distinct word of L's vocabulary of four letters or more
  (two characters in Chinese), some in most of L's versions, some in a few. The
  target: p99 under 50 ms on SQLite.
- ``one word, every language``: the same words without ``lang``.
- ``two words, in a language``: two such words, both required.
- ``the commonest word``: each language's most frequent word, in its language: the
  query that matches the most versions (every one in its language), the worst case.

Each answer must be 200; the table shows p50, p90, p99, the worst and the mean, the server's CPU
time per request (its user and system time from /proc around each request, summed: the
figure a busy machine distorts least), how many answers had a full page of 20 results
(``<h2><a href="/releases/``) and how many had none (PostgreSQL finds nothing for a
stop word of its configuration, such as "after" or "the").
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from feeds import (
    DATELINES,
    HOST,
    LANGUAGES,
    REGIONS,
    ROOT,
    TOPICS,
    _sentence,
    _toml_string,
    _vocabulary,
    cpu_seconds,
    free_port,
    markdown_body,
    running,
    wait_for,
)
from sqlalchemy.engine import make_url

RESULT = re.compile(rb'<h2><a href="/releases/')


def write_newsroom(
    root: Path, releases: int, port: int, database: str, seed: int, scan_interval: str = "1h"
) -> Path:
    """The release files and config.toml under ``root``; returns the config's path."""
    rng = random.Random(seed)
    words = _vocabulary()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    (root / "subscribers").mkdir(parents=True, exist_ok=True)
    for n in range(releases):
        folder = root / "releases" / f"search-{n:05d}"
        folder.mkdir(parents=True)
        original = LANGUAGES[n % len(LANGUAGES)]
        meta = textwrap.dedent(f"""\
            publish_at = {(now - timedelta(minutes=1 + n)).isoformat()}
            status = "ready"
            original_language = "{original}"
            regions = {json.dumps(rng.sample(REGIONS, rng.randint(1, 3)))}
            topics = {json.dumps(rng.sample(TOPICS, rng.randint(0, 2)))}

            [[contacts]]
            name = "Press Officer {n}"
            role = "Media Relations, Geneva"
            email = "press{n}@example.org"
            """)
        (folder / "release.toml").write_text(meta, encoding="utf-8")
        for lang in (original, LANGUAGES[(n + 1) % len(LANGUAGES)]):
            vocab = words[lang]
            text = (
                "+++\n"
                f"title = {_toml_string(_sentence(rng, vocab, lang, 9).rstrip('.。'))}\n"
                f"summary = {_toml_string(_sentence(rng, vocab, lang, 22))}\n"
                f"dateline = {_toml_string(rng.choice(DATELINES))}\n"
                "+++\n\n" + markdown_body(rng, vocab, lang, rng.randint(1500, 2500))
            )
            (folder / f"{lang}.md").write_text(text, encoding="utf-8")
    config = root / "config.toml"
    config.write_text(
        textwrap.dedent(f"""\
            [newsroom]
            name = "Benchmark Press Office"
            base_url = "http://{HOST}:{port}"
            default_language = "en"
            timezone = "Europe/Zurich"
            from = "Benchmark Press Office <press@example.org>"
            reply_to = "media@example.org"
            languages = {json.dumps(list(LANGUAGES))}

            [paths]
            releases = "releases"
            subscribers = "subscribers"
            templates = {_toml_string(str(ROOT / "templates"))}
            data = "var"

            [database]
            url = {_toml_string(database)}

            [web]
            host = "{HOST}"
            port = {port}

            [scheduler]
            scan_interval = "{scan_interval}"
            """),
        encoding="utf-8",
    )
    return config


def query_words(seed: int) -> dict[str, list[str]]:
    """Words to search for, per language: each distinct word of the corpus of four letters
    or more (two characters in Chinese), as a journalist looks for a subject, not for
    "the"; some are in most versions, some in a few."""
    found = {}
    for lang, vocab in _vocabulary().items():
        usable = sorted({w.casefold() for w in vocab if len(w) >= (2 if lang == "zh" else 4)})
        random.Random(seed).shuffle(usable)
        found[lang] = usable
    return found


@contextlib.contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    name = f"pressdispatch_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Client:
    """One kept-alive connection; ``get`` returns (status, body, seconds)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - start


def search_path(words: list[str], lang: str | None) -> str:
    params = {"q": " ".join(words)} | ({"lang": lang} if lang else {})
    return "/search?" + urllib.parse.urlencode(params)


def scenarios(words: dict[str, list[str]], rng: random.Random) -> dict[str, Iterator[str]]:
    def one(lang_filter: bool, count: int) -> Iterator[str]:
        while True:
            for lang in LANGUAGES:
                chosen = [rng.choice(words[lang]) for _ in range(count)]
                yield search_path(chosen, lang if lang_filter else None)

    commonest = {
        lang: collections.Counter(w.casefold() for w in vocab).most_common(1)[0][0]
        for lang, vocab in _vocabulary().items()
    }

    def worst() -> Iterator[str]:
        while True:
            for lang in LANGUAGES:
                yield search_path([commonest[lang]], lang)

    return {
        "one word, in a language": one(True, 1),
        "one word, every language": one(False, 1),
        "two words, in a language": one(True, 2),
        "the commonest word, in its language": worst(),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--database", help="a PostgreSQL server's URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--scan-interval", default="1h", help="the server's file scan (1h)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pressdispatch-search-"))
    try:
        with contextlib.ExitStack() as stack:
            if args.database:
                database = stack.enter_context(throwaway_postgres(args.database))
            else:
                database = f"sqlite:///{folder / 'var' / 'pressdispatch.db'}"
            run(args, folder, database)
    finally:
        if args.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path, database: str) -> None:
    port = free_port()
    started = time.perf_counter()
    config = write_newsroom(folder, args.releases, port, database, args.seed, args.scan_interval)
    print(f"{args.releases:,} releases written in {time.perf_counter() - started:.1f} s")
    kind = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    argv = [sys.executable, "-m", "pressdispatch", "--config", str(config), "serve"]
    words = query_words(args.seed)
    probe = search_path([words["en"][0]], "en")
    with running(argv, folder / "serve.log") as proc:
        started = time.perf_counter()

        def answers() -> bool:
            status, body, _ = Client(port).get(probe)
            return status == 200 and RESULT.search(body) is not None

        wait_for("the first search", answers, proc, timeout=1800)
        built = time.perf_counter() - started
        print(f"{kind}: started, files synced and index built in {built:.1f} s")
        measure(args, Client(port), words, proc.pid)


def measure(
    args: argparse.Namespace, client: Client, words: dict[str, list[str]], server: int
) -> None:
    rng = random.Random(args.seed)
    paths = scenarios(words, rng)
    times: dict[str, list[float]] = {name: [] for name in paths}
    full: dict[str, int] = dict.fromkeys(paths, 0)
    cpu: dict[str, float] = dict.fromkeys(paths, 0.0)
    empty: dict[str, int] = dict.fromkeys(paths, 0)
    for n in range(args.warmup + args.requests):
        for name, source in paths.items():
            path = next(source)
            before = cpu_seconds(server)
            status, body, seconds = client.get(path)
            if n >= args.warmup:
                cpu[name] += cpu_seconds(server) - before
            results = len(RESULT.findall(body))
            if status != 200:
                raise SystemExit(f"{path}: {status}")
            if n >= args.warmup:
                times[name].append(seconds)
                full[name] += results == 20
                empty[name] += results == 0
    print(f"\n{args.requests} requests per scenario, one at a time (ms):\n")
    print(
        f"{'scenario':38} {'p50':>7} {'p90':>7} {'p99':>7} {'worst':>7} {'mean':>7}"
        f" {'CPU':>7}  full pages, none found"
    )
    for name, values in times.items():
        ms = [v * 1000 for v in values]
        print(
            f"{name:38} {percentile(ms, 50):7.1f} {percentile(ms, 90):7.1f} "
            f"{percentile(ms, 99):7.1f} {max(ms):7.1f} {statistics.fmean(ms):7.1f}"
            f" {cpu[name] * 1000 / len(ms):7.1f}  {full[name]}/{len(ms)}, {empty[name]}"
        )


if __name__ == "__main__":
    main()
