"""pressdispatch feeds --out DIR: the feeds and the OPML as static files.

For any web server or CDN: ``DIR/feeds/<language>/<region>.atom|.rss``,
``DIR/feeds.opml`` and the stylesheets the feeds name (``DIR/feeds/<language>.xsl``,
which a browser opening a feed applies), byte-identical to what the web app serves at the same
moment (the same public view, the same builder, no wall clock in the bytes).

Which files: every feed the OPML lists (:func:`listed_specs`), and every feed
file already in ``DIR`` that the app still serves, kept up to date: a reader may
be subscribed to a country's feed after its only release was withdrawn, and a
stale copy would be worse than an empty one. Files this command wrote for a
feed the app no longer has (a language taken out of the newsroom) are deleted;
nothing else is.

Only what changed is written. ``DIR/.pressdispatch-feeds.json`` records each
file's ETag (:class:`FeedIndex`, computed without building) with the size and
mtime it was written with; a file whose ETag, size and mtime all match is not
built again. Anything else is built and compared byte for byte first.

The manifest also records the release files (a hash of their bytes) and the
store's releases as the last export left them: when neither changed, loading
the files again would change nothing, so their Markdown is not rendered again
and the problems found last time are reported again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from pressdispatch import pipeline
from pressdispatch.cli import State, app, fail, out
from pressdispatch.clock import utc_now
from pressdispatch.config import Settings
from pressdispatch.errors import PressDispatchError, Problem, Severity
from pressdispatch.render.feeds import KINDS, OPML_PATH, FeedIndex, FeedSite, FeedSpec
from pressdispatch.render.pages import stylesheet
from pressdispatch.runtime import database_error
from pressdispatch.service import Service
from pressdispatch.web.public import PublicView

__all__ = ["MANIFEST", "Exported", "export", "feeds"]

MANIFEST = ".pressdispatch-feeds.json"
_MANIFEST_FORMAT = 1
# Every release that is or will be public, whatever its time: the store's side of "unchanged".
_EVER = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass
class _Manifest:
    files: dict[str, list[object]] = field(default_factory=dict)  # path → [etag, size, mtime_ns]
    synced: list[str] = field(default_factory=list)  # [release files, store] after the sync
    problems: list[Problem] = field(default_factory=list)  # found by that sync


@dataclass
class Exported:
    """What one export did: files written, left as they were, deleted; problems in the files."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    problems: list[Problem] = field(default_factory=list)


@app.command()
def feeds(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write feeds/ and feeds.opml into.")
    ],
) -> None:
    """Write the Atom and RSS feeds and feeds.opml as static files (only what changed)."""
    state: State = ctx.obj
    settings = state.settings()
    try:
        done = asyncio.run(export(settings, out_dir, utc_now))
    except OSError as exc:
        fail(f"{out_dir}: cannot write: {exc}")
    except (PressDispatchError, SQLAlchemyError) as exc:
        fail(database_error(settings, exc))
    for problem in done.problems:
        out.print(problem.labelled(), markup=False)
    removed = f", {done.removed} removed" if done.removed else ""
    out.print(
        f"{done.written} files written, {done.unchanged} unchanged{removed}, under {out_dir}",
        markup=False,
    )


async def export(
    settings: Settings, out_dir: Path, clock: Callable[[], datetime] = utc_now
) -> Exported:
    """Sync the files into the store, then write what the web app would serve now.

    A file whose bytes are already right is left alone (its mtime, which a web
    server sends as ``Last-Modified``, stays).
    """
    before = _read_manifest(out_dir)
    service = await Service.open(settings, clock=clock)
    try:
        rt = service.rt
        files = _files_stamp(settings.paths.releases)
        problems = before.problems
        if before.synced != [files, await rt.catalog.public_version(_EVER)]:
            report = pipeline.TickReport()
            await pipeline.sync_files(rt, clock(), report, lists=False)
            problems = report.problems
        synced = [files, await rt.catalog.public_version(_EVER)]
        snapshot = await PublicView(rt.catalog, clock).current()
        site = FeedSite.of(settings, rt.regions, rt.topics)
    finally:
        await service.close()
    index = FeedIndex(site, snapshot.releases)
    done = Exported(problems=problems)
    after = _Manifest(synced=synced, problems=problems)
    wanted = {spec.path.lstrip("/"): spec for spec in index.listed()}
    for relative, spec in _existing(out_dir, site):
        wanted.setdefault(relative, spec)
    jobs: list[tuple[str, str, Callable[[], bytes]]] = [
        (relative, index.etag(spec), _builder(index, spec)) for relative, spec in wanted.items()
    ]
    jobs.append((OPML_PATH, index.opml_etag(), index.opml))
    for language in settings.newsroom.languages:  # what a feed opened in a browser shows
        xsl = stylesheet(settings, language)
        jobs.append((f"feeds/{language}.xsl", hashlib.sha256(xsl).hexdigest()[:32], _bytes(xsl)))
    for relative, etag, build in jobs:
        path = out_dir / relative
        if _unchanged(path, before.files.get(relative), etag):
            done.unchanged += 1
        elif _write(path, build()):
            done.written += 1
        else:
            done.unchanged += 1
        stat = path.stat()
        after.files[relative] = [etag, stat.st_size, stat.st_mtime_ns]
    for relative in before.files.keys() - after.files.keys():
        # Ours (in the manifest) and no longer a feed the app serves: the app says 404.
        if (out_dir / relative).is_file():
            (out_dir / relative).unlink()
            done.removed += 1
    data = _manifest_bytes(after)
    if data != _manifest_bytes(before):
        _write(out_dir / MANIFEST, data)
    return done


def _files_stamp(folder: Path) -> str:
    """Changes whenever a file under the releases folder is added, removed or edited."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        try:
            if path.is_file():
                data = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
                digest.update(f"{path.relative_to(folder)}\0{data}\n".encode())
        except OSError:  # unreadable: the loader reports it, so always load
            digest.update(os.urandom(16))
    return digest.hexdigest()


def _builder(index: FeedIndex, spec: FeedSpec) -> Callable[[], bytes]:
    return lambda: index.build(spec)


def _bytes(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _existing(out_dir: Path, site: FeedSite) -> Iterator[tuple[str, FeedSpec]]:
    """Feed files already under ``out_dir`` that the app still serves."""
    for kind in KINDS:
        for path in sorted(out_dir.glob(f"feeds/*/*.{kind}")):
            language, region = path.parent.name, path.stem
            if site.knows(language, region):
                spec = FeedSpec(language, region, kind)
                yield spec.path.lstrip("/"), spec


def _unchanged(path: Path, recorded: list[object] | None, etag: str) -> bool:
    """True if ``path`` is as this command last wrote it, for this ETag."""
    if recorded is None or recorded[0] != etag:
        return False
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    return [stat.st_size, stat.st_mtime_ns] == recorded[1:]


def _read_manifest(out_dir: Path) -> _Manifest:
    """The previous export's records; none if missing or unreadable (then bytes decide)."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        if data["format"] != _MANIFEST_FORMAT:
            return _Manifest()
        files = {
            str(name): list(record)
            for name, record in data["files"].items()
            if isinstance(record, list) and len(record) == 3
        }
        problems = [
            Problem(Path(path), line, name, message, Severity(severity))
            for path, line, name, message, severity in data["problems"]
        ]
        return _Manifest(files, [str(part) for part in data["synced"]], problems)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return _Manifest()


def _manifest_bytes(manifest: _Manifest) -> bytes:
    data = {
        "format": _MANIFEST_FORMAT,
        "synced": manifest.synced,
        "problems": [
            [str(p.path), p.line, p.field, p.message, p.severity.value] for p in manifest.problems
        ],
        "files": dict(sorted(manifest.files.items())),
    }
    return (json.dumps(data, indent=1) + "\n").encode()


def _write(path: Path, data: bytes) -> bool:
    """Replace ``path`` whole (a web server never serves half a feed); False if already right."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True
