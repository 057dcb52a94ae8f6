"""Feed serving: requests per second for a full feed, a 304, and a static file of the same size.

Usage: python bench/feeds.py [--connections 32] [--threads 1] [--duration 10]
                             [--warmup 2] [--runs 3] [--releases 200]
                             [--scan-interval 15s] [--gzip] [--pin] [--keep]
                             [--max-other 0.25] [--retries 3] [--verbose]
                             [--export-only]

What it builds, in a temporary folder: a newsroom of ``--releases`` releases
(200), each in six languages (en fr ru ar es zh) with Markdown bodies of about
2-4 KB (headings, a list, a quote, a link), a dateline, regions and topics,
all published in the past (one every six hours back from now); a config with
SQLite in the same folder, ``[web] port`` set to a free port and the shipped
templates.

What it starts, each as its own single-process subprocess on 127.0.0.1:

- the real server: ``python -m pressdispatch --config CFG serve``, as an
  operator runs it (it syncs the release files at start). The script waits for
  ``/healthz`` and until ``/feeds/all/all.atom`` carries its entries.
- a comparison server: the app has no static route, so the "static file" is
  served by a minimal Starlette app (``StaticFiles`` over one folder) run with
  the same uvicorn settings as ``serve`` (``uvicorn.Config(app, host, port,
  lifespan="on", proxy_headers=False, access_log=False, log_config=None)``, one
  process, the same event loop and HTTP implementation uvicorn picks for
  ``serve``). The file it serves is the byte-for-byte body of (a).

What it measures, with ``wrk`` (a C load generator; Python clients would be
the bottleneck) on loopback, bounded by ``--duration`` per run:

- (a) full: ``GET /feeds/fr/all.atom`` without validators: 200, the identity
  body (wrk sends no ``Accept-Encoding``), 50 entries.
- (b) 304: the same request with ``If-None-Match: "<etag of (a)>"``.
- (c) static: ``GET /all.atom`` from the comparison server, the same bytes as (a).
- (d) with ``--gzip`` only: (a) with ``Accept-Encoding: gzip``, as feed readers
  ask (the app keeps the gzipped bytes beside the plain ones).
- (e) 304, every feed: each Atom feed of ``/feeds.opml`` in turn, each with its
  own ``If-None-Match``, as a reader that imported the OPML polls. Far more
  feeds than the 64 MB cache of built feeds holds: the ETag index answers. The
  server's ``pressdispatch_feed_builds_total`` must not move during the run.
- (f) static 304: ``GET /all.atom`` from the comparison server with its own
  ``If-None-Match``: the 304 of a static file, from the same uvicorn set-up.
  The target is (b) and (e) at 0.9 of (f) or more.

Before the servers start, ``pressdispatch feeds --out`` runs twice over the
same newsroom (a fresh folder, then nothing changed), as an operator's cron
does; the wall time of each command is shown, with the interpreter's start
(importing the command line and the `feeds` command, as the script does) measured apart.
``--export-only`` stops there.

Each scenario is checked once before it is measured (status, size, body), then
warmed up for ``--warmup`` seconds, then run ``--runs`` times, the scenarios
interleaved (a b c a b c ...). After each feed run the server's own counters
(``/metrics``: feed requests and 304s) must account for every request wrk
completed, so a run that measured the wrong response is refused. The table
gives the run with the median requests/s and the range over all runs; latency
percentiles come from wrk's own histogram of that run. The CPU the server
process used during the run is shown beside it, in cores (1.00 = one core
busy the whole run), with wrk's.

The real server keeps its background work going during the runs: a file scan
every ``scheduler.scan_interval`` (15 s by default, ``--scan-interval`` to change
it) and a refresh of the public view every 5 s. Both run on the event loop and
show in the tail latency: a 10 s run may or may not contain a scan, which is
why p99 and max differ so much between runs. CPU use of everything else on the machine is shown
too ("other"): a run during which it exceeds ``--max-other`` cores (0.25) is
repeated, up to ``--retries`` times (3), and a warning is printed if the
figures still come from a busy machine.

``--pin`` puts each server on CPU 0 and wrk on CPU 1 (``taskset``), so the two
never share a core.

Requirements: ``wrk`` (Debian: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LANGUAGES = ("en", "fr", "ru", "ar", "es", "zh")
FEED_PATH = "/feeds/fr/all.atom"
STATIC_NAME = "all.atom"
SAMPLE_RELEASES = ROOT / "releases"
WRK_HINT = "wrk is not installed. On Debian or Ubuntu: sudo apt-get install wrk"

# --------------------------------------------------------------------------- #
# The newsroom
# --------------------------------------------------------------------------- #

#: Words for languages the sample newsroom has no text in (the others come from its files).
ZH_TEXT = (
    "北风救援署 今天 宣布 在 该 地区 启动 一项 新的 紧急 援助 计划 为 受 洪水 影响 的 家庭 "
    "提供 饮用水 食品 和 医疗 服务 项目 将 持续 六个月 覆盖 超过 三万 名 儿童 与 当地 卫生 "
    "部门 合作 志愿者 学校 社区 农民 牧民 干旱 气候 变化 粮食 安全 疫苗 接种 诊所 妇女 难民 "
    "营地 重建 道路 桥梁 资金 捐助者 报告 显示 需求 持续 增加 我们 呼吁 国际 社会 支持"
)
LATIN_FALLBACK = "the agency announced today a new programme of support for families"
DATELINES = ("Geneva", "Minsk", "Niamey", "Lima", "Almaty", "Dakar", "Nairobi", "Bangkok")
REGIONS = (
    "world", "europe", "eastern-europe", "BY", "UA", "western-africa", "TD", "NE", "ML",
    "south-america", "PE", "BO", "central-asia", "KZ", "UZ", "eastern-asia", "CN",
    "south-eastern-asia", "TH", "northern-africa", "EG", "western-asia", "JO",
)  # fmt: skip
TOPICS = ("health", "food", "climate", "water", "education", "refugees", "funding")
HEADINGS = {
    "en": ("Background", "What happens next", "About the agency"),
    "fr": ("Contexte", "Prochaines étapes", "À propos de l'Agence"),
    "ru": ("Контекст", "Что дальше", "Об агентстве"),  # noqa: RUF001
    "ar": ("خلفية", "الخطوات التالية", "عن الوكالة"),
    "es": ("Antecedentes", "Próximos pasos", "Acerca de la Agencia"),
    "zh": ("背景", "下一步", "关于本署"),
}


def _vocabulary() -> dict[str, list[str]]:
    """Words per language, taken from the sample releases' bodies where they exist."""
    words: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
    for path in sorted(SAMPLE_RELEASES.glob("*/*.md")):
        lang = path.stem
        if lang not in words:
            continue
        body = path.read_text(encoding="utf-8").split("+++", 2)[-1]
        words[lang] += re.findall(r"[^\W\d_]{2,}", body)
    words["zh"] += ZH_TEXT.split()
    for lang in LANGUAGES:
        if len(words[lang]) < 50:  # the sample folder has no text in this language
            words[lang] += LATIN_FALLBACK.split() * 5
    return words


def _sentence(rng: random.Random, words: list[str], lang: str, count: int) -> str:
    chosen = [rng.choice(words) for _ in range(count)]
    if lang == "zh":
        return "".join(chosen) + "。"
    text = " ".join(chosen)
    return text[:1].upper() + text[1:] + "."


def _paragraph(rng: random.Random, words: list[str], lang: str) -> str:
    return " ".join(
        _sentence(rng, words, lang, rng.randint(8, 18) if lang != "zh" else rng.randint(12, 24))
        for _ in range(rng.randint(3, 5))
    )


def markdown_body(rng: random.Random, words: list[str], lang: str, target: int) -> str:
    """A release body of about ``target`` UTF-8 bytes: paragraphs, headings, a list, a quote."""
    heads = HEADINGS[lang]
    parts: list[str] = [_paragraph(rng, words, lang), _paragraph(rng, words, lang)]
    opening, closing = ("« ", " »") if lang == "fr" else ('"', '"')
    parts.append(f"> {opening}{_sentence(rng, words, lang, 16)}{closing}")
    parts.append(f"## {heads[0]}")
    parts.append(
        "\n".join(f"- {_sentence(rng, words, lang, rng.randint(6, 12))}" for _ in range(4))
    )
    parts.append(_paragraph(rng, words, lang) + " [example.org/press](https://example.org/press)")
    parts.append(f"## {heads[1]}")
    size = len("\n\n".join(parts).encode())
    while size < target - 200:
        more = _paragraph(rng, words, lang)
        if size + len(more.encode()) > target + 100:
            more = _sentence(rng, words, lang, 10)
        parts.append(more)
        size += len(more.encode()) + 2
    parts.append(f"## {heads[2]}")
    parts.append(_sentence(rng, words, lang, 20))
    return "\n\n".join(parts) + "\n"


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_newsroom(
    root: Path, releases: int, port: int, scan_interval: str = "15s", seed: int = 2026
) -> Path:
    """The release files and config.toml under ``root``; returns the config's path."""
    rng = random.Random(seed)
    words = _vocabulary()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    (root / "subscribers").mkdir(parents=True, exist_ok=True)
    for n in range(releases):
        release_id = f"bench-release-{n:04d}"
        folder = root / "releases" / release_id
        folder.mkdir(parents=True)
        publish_at = now - timedelta(hours=1 + 6 * n)
        regions = rng.sample(REGIONS, rng.randint(1, 3))
        topics = rng.sample(TOPICS, rng.randint(0, 2))
        meta = textwrap.dedent(f"""\
            publish_at = {publish_at.isoformat()}
            status = "ready"
            original_language = "{rng.choice(LANGUAGES)}"
            regions = {json.dumps(regions)}
            topics = {json.dumps(topics)}

            [[contacts]]
            name = "Press Officer {n}"
            role = "Media Relations, Geneva"
            phone = "+41 22 000 {n:04d}"
            email = "press{n}@example.org"
            """)
        (folder / "release.toml").write_text(meta, encoding="utf-8")
        for lang in LANGUAGES:
            vocab = words[lang]
            title = _sentence(rng, vocab, lang, 9).rstrip(".。")
            summary = _sentence(rng, vocab, lang, 22)
            body = markdown_body(rng, vocab, lang, rng.randint(1900, 3500))
            text = (
                "+++\n"
                f"title = {_toml_string(title)}\n"
                f"summary = {_toml_string(summary)}\n"
                f"dateline = {_toml_string(rng.choice(DATELINES))}\n"
                "+++\n\n" + body
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
            url = "sqlite:///{root / "var" / "pressdispatch.db"}"

            [web]
            host = "{HOST}"
            port = {port}

            [scheduler]
            scan_interval = "{scan_interval}"
            """),
        encoding="utf-8",
    )
    return config


def markdown_sizes(root: Path) -> list[int]:
    return [len(p.read_bytes().split(b"+++", 2)[-1]) for p in root.glob("releases/*/*.md")]


# --------------------------------------------------------------------------- #
# Servers
# --------------------------------------------------------------------------- #


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def wait_for(
    what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what}: the server exited with status {proc.returncode}")
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.2)
    raise SystemExit(f"{what}: not ready after {timeout:.0f}s")


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


@contextlib.contextmanager
def running(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every core spent not idle so far, from /proc/stat (Linux)."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def static_server(folder: str, port: int) -> None:
    """The comparison server: StaticFiles over ``folder``, uvicorn configured as ``serve`` does."""
    import uvicorn  # noqa: PLC0415 - only in the child process
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.routing import Mount  # noqa: PLC0415
    from starlette.staticfiles import StaticFiles  # noqa: PLC0415

    app = Starlette(routes=[Mount("/", StaticFiles(directory=folder))])
    # The same Config as pressdispatch.web.server.serve_web.
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        lifespan="on",
        proxy_headers=False,
        access_log=False,
        log_config=None,
    )
    asyncio.run(uvicorn.Server(config).serve())


# --------------------------------------------------------------------------- #
# wrk
# --------------------------------------------------------------------------- #

LUA_REPORT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p99.9":%d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


@dataclass
class Scenario:
    key: str
    label: str
    url: str
    headers: dict[str, str]
    server: str  # "app" or "static"
    script: Path | None = None  # a wrk script of its own (it must report as LUA_REPORT does)


LUA_ROTATE = """\
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["If-None-Match"] = etags[i]})
end
"""


def rotating_script(folder: Path, pairs: list[tuple[str, str]]) -> Path:
    """A wrk script that asks for each path in turn with its ETag, then reports."""
    paths = ", ".join(json.dumps(path) for path, _ in pairs)
    etags = ", ".join(json.dumps(etag) for _, etag in pairs)
    script = folder / "rotate.lua"
    script.write_text(
        f"paths = {{{paths}}}\netags = {{{etags}}}\n" + LUA_ROTATE + LUA_REPORT, encoding="utf-8"
    )
    return script


@dataclass
class Run:
    requests: int
    seconds: float
    rps: float
    latency_us: dict[str, float]
    errors: dict[str, int]
    server_cpu: float  # cores the server used (1.0 = one core busy)
    wrk_cpu: float  # cores wrk used
    other_cpu: float  # cores everything else on the machine used: should be near 0
    transfer: float  # bytes per second, as wrk read them (headers included)


def wrk_command(args: argparse.Namespace, scenario: Scenario, seconds: int, lua: Path) -> list[str]:
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        f"--timeout={args.timeout:g}s",
        "-s",
        str(scenario.script or lua),
    ]
    for name, value in scenario.headers.items():
        argv += ["-H", f"{name}: {value}"]
    return [*argv, scenario.url]


def shown(argv: list[str]) -> str:
    """The wrk command as a person would type it (the temporary Lua file left out)."""
    out: list[str] = []
    skip = False
    for part in argv:
        if skip:
            skip = False
            continue
        if part == "-s":
            skip = True
            continue
        out.append(f"'{part}'" if " " in part or '"' in part else part)
    return " ".join(out)


def run_wrk(argv: list[str], server_pid: int, idle_pid: int, wrk_cpu: int | None) -> Run:
    """One wrk run against ``server_pid``; ``idle_pid`` is the other server (its CPU is
    not counted as "other")."""
    before = cpu_seconds(server_pid)
    idle_before = cpu_seconds(idle_pid)
    machine = machine_busy_seconds()
    children = children_cpu_seconds()
    wall = time.monotonic()
    done = subprocess.run(
        pinned(argv, wrk_cpu), check=False, capture_output=True, text=True, timeout=600
    )
    wall = time.monotonic() - wall
    used = cpu_seconds(server_pid) - before
    client = children_cpu_seconds() - children
    idle = cpu_seconds(idle_pid) - idle_before
    other = machine_busy_seconds() - machine - used - client - idle
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no report:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    return Run(
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds,
        latency_us=data["latency_us"],
        errors=data["errors"],
        server_cpu=used / wall,
        wrk_cpu=client / wall,
        other_cpu=max(other, 0.0) / wall,
        transfer=data["bytes"] / seconds,
    )


def feed_counters(base: str) -> tuple[int, int]:
    """(atom feed responses, atom 304s) from the server's /metrics."""
    _, _, body = http_get(f"{base}/metrics")
    text = body.decode()

    def value(name: str) -> int:
        match = re.search(rf'^{name}{{format="atom"}} (\d+)$', text, re.MULTILINE)
        if match is None:
            raise SystemExit(f"/metrics has no {name} for atom")
        return int(match.group(1))

    return value("pressdispatch_feed_requests_total"), value(
        "pressdispatch_feed_not_modified_total"
    )


def feed_builds(base: str) -> int:
    """Atom feeds the server has built so far, from its /metrics."""
    _, _, body = http_get(f"{base}/metrics")
    match = re.search(
        r'^pressdispatch_feed_builds_total{format="atom"} (\d+)$', body.decode(), re.M
    )
    if match is None:
        raise SystemExit("/metrics has no pressdispatch_feed_builds_total for atom")
    return int(match.group(1))


def export_twice(config: Path, tmp: Path, env: dict[str, str]) -> None:
    """``feeds --out`` into a fresh folder, then again with nothing changed."""
    out = tmp / "export"
    argv = [sys.executable, "-m", "pressdispatch", "--config", str(config), "feeds", "--out"]
    # Wall time and CPU time (user + system) of each command: on a busy machine the
    # CPU time is the steadier figure.
    started, cpu = time.monotonic(), children_cpu_seconds()
    # What the command loads, as the script loads it: the collector off (__main__.py).
    imports = "import gc; gc.disable(); import pressdispatch.cli.feeds"
    subprocess.run([sys.executable, "-c", imports], check=True, env=env)
    startup, startup_cpu = time.monotonic() - started, children_cpu_seconds() - cpu
    print(
        "interpreter start and `import pressdispatch.cli.feeds` (the command's imports): "
        f"{startup:.2f}s (CPU {startup_cpu:.2f}s)"
    )
    for attempt in ("first (empty folder)", "second (nothing changed)"):
        started, cpu = time.monotonic(), children_cpu_seconds()
        done = subprocess.run([*argv, str(out)], check=True, env=env, capture_output=True)
        took, used = time.monotonic() - started, children_cpu_seconds() - cpu
        line = done.stdout.decode().strip().splitlines()[-1]
        print(
            f"`pressdispatch feeds --out DIR`, {attempt}: {took:.2f}s (CPU {used:.2f}s; "
            f"{used - startup_cpu:.2f}s after the start) ({line})"
        )
    files = [p for p in out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"  {len(files)} files, {size / 1e6:.1f} MB (the manifest included)")


# --------------------------------------------------------------------------- #
# Main
# --------------------------------------------------------------------------- #


def ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--connections", "-c", type=int, default=32)
    parser.add_argument("--threads", "-t", type=int, default=1, help="wrk threads (2 cores here)")
    parser.add_argument("--duration", "-d", type=int, default=10, help="seconds per run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=5, help="wrk's per-request timeout")
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, wrk on CPU 1")
    parser.add_argument(
        "--scan-interval",
        default="15s",
        help="the server's scheduler.scan_interval (default 15s, the shipped default)",
    )
    parser.add_argument(
        "--gzip",
        action="store_true",
        help="also measure (d): the full feed with Accept-Encoding: gzip, as feed readers ask",
    )
    parser.add_argument(
        "--max-other",
        type=float,
        default=0.25,
        help="cores other processes may use during a run before it is repeated (0.25)",
    )
    parser.add_argument(
        "--retries", type=int, default=3, help="repeats of a run disturbed by others (3)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every run")
    parser.add_argument(
        "--export-only", action="store_true", help="time `feeds --out` twice, serve nothing"
    )
    parser.add_argument("--static-server", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.static_server:
        static_server(args.static_server[0], int(args.static_server[1]))
        return
    if shutil.which("wrk") is None and not args.export_only:
        print(WRK_HINT, file=sys.stderr)
        raise SystemExit(2)
    if args.pin and shutil.which("taskset") is None:
        raise SystemExit("--pin needs taskset (Debian: apt-get install util-linux)")
    bounded = (
        1 <= args.duration <= 120
        and 0 <= args.warmup <= 60
        and 1 <= args.runs <= 10
        and 0 <= args.retries <= 5
    )
    if not bounded:
        raise SystemExit(
            "keep it bounded: --duration 1-120 s, --warmup 0-60 s, --runs 1-10, --retries 0-5"
        )
    server_cpu, wrk_cpu = (0, 1) if args.pin else (None, None)

    tmp = Path(tempfile.mkdtemp(prefix="pressdispatch-bench-feeds-"))
    try:
        bench(args, tmp, server_cpu, wrk_cpu)
    finally:
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def bench(args: argparse.Namespace, tmp: Path, server_cpu: int | None, wrk_cpu: int | None) -> None:
    app_port, static_port = free_port(), free_port()
    while static_port == app_port:
        static_port = free_port()
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"note: the machine's 1-minute load average is {load:.2f} before starting")
    started = time.monotonic()
    config = write_newsroom(tmp, args.releases, app_port, args.scan_interval)
    sizes = markdown_sizes(tmp)
    print(
        f"newsroom: {args.releases} releases x {len(LANGUAGES)} languages "
        f"({' '.join(LANGUAGES)}), {len(sizes)} Markdown bodies of "
        f"{min(sizes)}-{max(sizes)} bytes (mean {statistics.mean(sizes):.0f}), "
        f"written in {time.monotonic() - started:.1f}s"
    )
    lua = tmp / "report.lua"
    lua.write_text(LUA_REPORT, encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("PRESSDISPATCH_SIGNING_KEY", "bench-" + "x" * 40)
    app_base = f"http://{HOST}:{app_port}"
    static_base = f"http://{HOST}:{static_port}"
    serve_argv = [sys.executable, "-m", "pressdispatch", "--config", str(config), "serve"]
    static_dir = tmp / "static"
    static_dir.mkdir()
    export_twice(config, tmp, env)
    if args.export_only:
        return

    with running(pinned(serve_argv, server_cpu), tmp / "serve.log", env) as app_proc:
        started = time.monotonic()
        wait_for("/healthz", lambda: http_get(f"{app_base}/healthz")[0] == 200, app_proc, 120)
        expected = min(args.releases, 50)

        def all_feed_ready() -> bool:
            status, _, body = http_get(f"{app_base}/feeds/all/all.atom")
            return status == 200 and body.count(b"<entry") >= expected

        wait_for("/feeds/all/all.atom", all_feed_ready, app_proc, 300)
        print(f"server: `{' '.join(serve_argv[1:])}` ready in {time.monotonic() - started:.1f}s")

        # (a): the body, its size and its validator.
        status, headers, body = http_get(f"{app_base}{FEED_PATH}")
        if status != 200 or "content-encoding" in headers:
            raise SystemExit(f"{FEED_PATH}: {status} {headers}")
        entries = body.count(b"<entry")
        etag = headers["etag"]
        (static_dir / STATIC_NAME).write_bytes(body)
        status, _, empty = http_get(f"{app_base}{FEED_PATH}", {"If-None-Match": etag})
        if status != 304 or empty:
            raise SystemExit(f"{FEED_PATH} with If-None-Match {etag}: {status}, {len(empty)} bytes")

        static_argv = [
            sys.executable,
            __file__,
            "--static-server",
            str(static_dir),
            str(static_port),
        ]
        with running(pinned(static_argv, server_cpu), tmp / "static.log", env) as static_proc:
            wait_for(
                "static server",
                lambda: http_get(f"{static_base}/{STATIC_NAME}")[0] == 200,
                static_proc,
                60,
            )
            status, _, same = http_get(f"{static_base}/{STATIC_NAME}")
            if status != 200 or same != body:
                raise SystemExit("the static server does not serve the feed's bytes")
            print(
                f"feed {FEED_PATH}: {len(body):,} bytes, {entries} entries, ETag {etag}; "
                f"static copy: {static_base}/{STATIC_NAME} (Starlette StaticFiles, "
                "same uvicorn settings, separate process)"
            )
            scenarios = [
                Scenario(
                    "a", f"full    GET {FEED_PATH} -> 200", f"{app_base}{FEED_PATH}", {}, "app"
                ),
                Scenario(
                    "b",
                    f"304     GET {FEED_PATH} -> 304",
                    f"{app_base}{FEED_PATH}",
                    {"If-None-Match": etag},
                    "app",
                ),
                Scenario(
                    "c",
                    f"static  GET /{STATIC_NAME} -> 200",
                    f"{static_base}/{STATIC_NAME}",
                    {},
                    "static",
                ),
            ]
            # (e): every Atom feed of the OPML, each with its ETag.
            _, _, opml = http_get(f"{app_base}/feeds.opml")
            atom_paths = [
                url.removeprefix(app_base)
                for url in re.findall(r'xmlUrl="([^"]+\.atom)"', opml.decode())
            ]
            pairs = []
            for path in atom_paths:
                status, headers, _ = http_get(f"{app_base}{path}")
                if status != 200:
                    raise SystemExit(f"{path}: {status}")
                pairs.append((path, headers["etag"]))
            status, _, _ = http_get(f"{app_base}{pairs[-1][0]}", {"If-None-Match": pairs[-1][1]})
            if status != 304:
                raise SystemExit(f"{pairs[-1][0]} with its ETag: {status}")
            print(f"(e) rotates over {len(pairs)} Atom feeds of /feeds.opml, each with its ETag")
            scenarios.append(
                Scenario(
                    "e",
                    f"304     {len(pairs)} feeds in turn -> 304",
                    f"{app_base}{pairs[0][0]}",
                    {},
                    "app",
                    rotating_script(tmp, pairs),
                )
            )
            # (f): the static file's own 304.
            _, static_headers, _ = http_get(f"{static_base}/{STATIC_NAME}")
            static_etag = static_headers["etag"]
            status, _, _ = http_get(f"{static_base}/{STATIC_NAME}", {"If-None-Match": static_etag})
            if status != 304:
                raise SystemExit(f"static server with If-None-Match {static_etag}: {status}")
            scenarios.append(
                Scenario(
                    "f",
                    f"static  GET /{STATIC_NAME} -> 304",
                    f"{static_base}/{STATIC_NAME}",
                    {"If-None-Match": static_etag},
                    "static",
                )
            )
            if args.gzip:
                gz_headers = {"Accept-Encoding": "gzip"}
                status, headers, zipped = http_get(f"{app_base}{FEED_PATH}", gz_headers)
                if status != 200 or headers.get("content-encoding") != "gzip":
                    raise SystemExit(f"{FEED_PATH} with gzip: {status} {headers}")
                print(f"gzipped feed: {len(zipped):,} bytes")
                scenarios.append(
                    Scenario(
                        "d",
                        f"gzip    GET {FEED_PATH} -> 200",
                        f"{app_base}{FEED_PATH}",
                        gz_headers,
                        "app",
                    )
                )
            pids = {"app": app_proc.pid, "static": static_proc.pid}
            measure(args, scenarios, pids, lua, app_base, wrk_cpu, len(body))


def server_pids(pids: dict[str, int], scenario: Scenario) -> tuple[int, int]:
    """(the server under load, the other one)."""
    other = "static" if scenario.server == "app" else "app"
    return pids[scenario.server], pids[other]


def measure(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    pids: dict[str, int],
    lua: Path,
    app_base: str,
    wrk_cpu: int | None,
    size: int,
) -> None:
    if args.warmup > 0:
        for scenario in scenarios:
            argv = wrk_command(args, scenario, args.warmup, lua)
            run_wrk(argv, *server_pids(pids, scenario), wrk_cpu)
    runs: dict[str, list[Run]] = {s.key: [] for s in scenarios}
    redone = 0
    commands: dict[str, str] = {}
    for _ in range(args.runs):
        for scenario in scenarios:
            argv = wrk_command(args, scenario, args.duration, lua)
            commands[scenario.key] = shown(argv)
            counted = feed_counters(app_base) if scenario.server == "app" else None
            builds = feed_builds(app_base)
            run = run_wrk(argv, *server_pids(pids, scenario), wrk_cpu)
            for _retry in range(args.retries):
                if run.other_cpu <= args.max_other:
                    break
                print(
                    f"  ({scenario.key}) other processes used {run.other_cpu:.2f} cores: run again",
                    flush=True,
                )
                redone += 1
                counted = feed_counters(app_base) if scenario.server == "app" else None
                builds = feed_builds(app_base)
                run = run_wrk(argv, *server_pids(pids, scenario), wrk_cpu)
            if args.verbose:
                print(
                    f"  ({scenario.key}) {run.rps:8,.0f} req/s, max {ms(run.latency_us['max'])} ms,"
                    f" CPU server {run.server_cpu:.2f} wrk {run.wrk_cpu:.2f}"
                    f" other {run.other_cpu:.2f}",
                    flush=True,
                )
            if sum(run.errors.values()):
                raise SystemExit(f"({scenario.key}) wrk reported errors: {run.errors}")
            if counted is not None:
                # Every request wrk completed is in the server's counters (the two
                # /metrics requests are not feed requests), and of the right kind.
                total, not_modified = feed_counters(app_base)
                total -= counted[0]
                not_modified -= counted[1]
                want_304 = total if scenario.key in ("b", "e") else 0
                if total < run.requests or not_modified != want_304:
                    raise SystemExit(
                        f"({scenario.key}) server counted {total} feed responses, "
                        f"{not_modified} of them 304, for {run.requests} wrk requests"
                    )
            if scenario.key in ("b", "e") and feed_builds(app_base) != builds:
                raise SystemExit(f"({scenario.key}) the server built feeds to answer 304s")
            runs[scenario.key].append(run)

    print()
    print(
        f"wrk {args.threads} thread(s), {args.connections} connections, keep-alive, "
        f"{args.duration}s per run, {args.runs} run(s) per scenario after {args.warmup}s "
        f"warm-up; {os.cpu_count()} cores, "
        + ("servers pinned to CPU 0, wrk to CPU 1" if args.pin else "no CPU pinning")
        + f"; server scan_interval {args.scan_interval}"
    )
    print(
        f"{'':38} {'req/s':>8} {'range':>15} {'p50 ms':>7} {'p90':>7} {'p99':>7} "
        f"{'p99.9':>7} {'max':>7} {'MB/s':>6}  {'CPU: srv':>8} {'wrk':>4} {'other':>5}"
    )
    medians: dict[str, Run] = {}
    for scenario in scenarios:
        done = sorted(runs[scenario.key], key=lambda r: r.rps)
        mid = done[len(done) // 2]
        medians[scenario.key] = mid
        lat = mid.latency_us
        print(
            f"({scenario.key}) {scenario.label:34} {mid.rps:8,.0f} "
            f"{done[0].rps:7,.0f}-{done[-1].rps:<7,.0f} {ms(lat['p50']):>7} {ms(lat['p90']):>7} "
            f"{ms(lat['p99']):>7} {ms(lat['p99.9']):>7} {ms(lat['max']):>7} "
            f"{mid.transfer / 1e6:6.1f}  {mid.server_cpu:8.2f} {mid.wrk_cpu:4.2f} "
            f"{mid.other_cpu:5.2f}"
        )
    a, b, c = medians["a"], medians["b"], medians["c"]
    print(
        "req/s: the median run, then the range over all runs; latency: wrk's histogram of "
        "that run; CPU: cores used during the run by the server, by wrk and by everything else"
    )
    noisy = max(run.other_cpu for done in runs.values() for run in done)
    if redone:
        print(f"{redone} run(s) were repeated because other processes were busy")
    if noisy > args.max_other:
        print(
            f"WARNING: other processes used up to {noisy:.2f} cores during a run: "
            "the figures are low; run again on a quiet machine"
        )
    print()
    print(
        f"full feed / static file of the same size ({size:,} bytes): {a.rps / c.rps:.2f}x; "
        f"304 / full feed: {b.rps / a.rps:.2f}x"
    )
    e, f = medians["e"], medians["f"]
    print(
        f"304 from the ETag index / static 304 from the same uvicorn set-up: one feed (b/f) "
        f"{b.rps / f.rps:.2f}x, every feed in turn (e/f) {e.rps / f.rps:.2f}x (target 0.9)"
    )

    def per_cpu(run: Run) -> float:  # requests per second of server CPU: steadier when busy
        return run.rps / run.server_cpu if run.server_cpu else 0.0

    print(
        f"the same per second of server CPU: b/f {per_cpu(b) / per_cpu(f):.2f}x, "
        f"e/f {per_cpu(e) / per_cpu(f):.2f}x ({per_cpu(b):,.0f}, {per_cpu(e):,.0f} and "
        f"{per_cpu(f):,.0f} requests per CPU-second)"
    )
    print("commands (each run; the Lua script only prints the report; (e)'s also picks the path):")
    for scenario in scenarios:
        print(f"  ({scenario.key}) {commands[scenario.key]}")


if __name__ == "__main__":
    main()
