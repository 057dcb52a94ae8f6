"""Adding a picture or document to a release from the web (the API and the console),
and taking one out (the console).

Both surfaces go through :func:`add_media`: the file and its ``[[media]]`` entry are
staged beside the release (its other files hard-linked, not copied) and checked by the
loader `pressdispatch check` runs, so an upload meets the very checks of a file put in
the folder by hand. Only when the new entry loads is the file moved into ``media/`` and
the entry appended to release.toml; otherwise nothing changes.

:func:`remove_media` cuts the entry's lines out of release.toml, leaving every other
line as it was (comments included), then deletes the file.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pressdispatch.content import writer
from pressdispatch.content.media import FOLDER
from pressdispatch.errors import ContentError, Problem
from pressdispatch.model import Media
from pressdispatch.textfiles import FILE, parse_toml, read_text
from pressdispatch.textlines import key_line

__all__ = ["add_media", "remove_media", "safe_name"]

# Letters of any script, digits, spaces, dots, hyphens and underscores; not hidden.
_NAME = re.compile(r"^[^\W][\w .-]{0,199}$")
_MEDIA_HEADER = re.compile(r"^\s*\[\[\s*media\s*\]\]\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z0-9_.\-\"]+\s*\]\]?\s*(?:#.*)?$")


def safe_name(name: str) -> str | None:
    """``name`` (an upload's file name, without its folders) if it can be a media file's name."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base if _NAME.match(base) and ".." not in base else None


def add_media(
    folder: Path,
    name: str,
    data: bytes,
    entry: Mapping[str, writer.TomlValue],
    load: writer.Load,
) -> tuple[Media | None, list[Problem]]:
    """Add ``data`` as ``media/<name>`` described by ``entry`` (alt, caption, credit,
    license, hero) if the release still loads with it; else the problems of the entry."""
    meta = folder / "release.toml"
    media = folder / FOLDER
    if (media / name).exists():
        message = f"media/{name} is already there: remove it first, or choose another name"
        return None, [Problem(meta, None, "media.file", message)]
    before = read_text(meta)
    first_line = before.rstrip("\n").count("\n") + 2  # where the new entry starts
    fields: dict[str, writer.TomlValue] = {"file": f"{FOLDER}/{name}", **entry}
    after = before.rstrip("\n") + "\n" + writer.release_toml({}, media=[fields])
    staging = Path(tempfile.mkdtemp(prefix=".media-", dir=folder.parent))
    try:
        copy = staging / folder.name
        (copy / FOLDER).mkdir(parents=True)
        for path in folder.glob("*.md"):
            shutil.copyfile(path, copy / path.name)
        writer.stage_media(folder, copy)
        (copy / "release.toml").write_text(after, encoding="utf-8")
        (copy / FOLDER / name).write_bytes(data)
        release, problems = load(copy)
        added = next((m for m in release.media if m.name == name), None) if release else None
        own = [
            Problem(meta, p.line, p.field, p.message, p.severity)
            for p in problems
            if p.path.name == "release.toml" and (p.line or 0) >= first_line
        ]
        if added is None:
            if release is None:  # broken already, or by this entry: say what the loader says
                own += [_elsewhere(p, copy, folder) for p in problems if p.is_error]
            return None, own or [Problem(meta, None, FILE, "the medium was not added")]
        media.mkdir(exist_ok=True)
        (copy / FOLDER / name).replace(media / name)
        writer.write_atomically(meta, after)
        return added, own
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _elsewhere(problem: Problem, copy: Path, folder: Path) -> Problem:
    """A problem of the staged copy, named at the release's own file."""
    try:
        path = folder / problem.path.relative_to(copy)
    except ValueError:
        path = problem.path
    return Problem(path, problem.line, problem.field, problem.message, problem.severity)


def remove_media(folder: Path, name: str) -> Problem | None:
    """Take ``media/<name>`` out of the release: its ``[[media]]`` entry out of
    release.toml and the file out of ``media/``. None when done, else why not (and
    nothing changed). A file no entry describes is deleted; an entry whose file is
    missing is taken out."""
    meta = folder / "release.toml"
    try:
        text = read_text(meta)
        before = parse_toml(text, meta)
    except ContentError as exc:
        return exc.problem
    target = f"{FOLDER}/{name}"
    entries = before.get("media")
    entries = entries if isinstance(entries, list) else []
    index = next((i for i, e in enumerate(entries) if _names(e, target)), None)
    path = folder / FOLDER / name
    ours = safe_name(name) == name and path.is_file() and not path.is_symlink()
    if index is None and not ours:
        return Problem(meta, None, "media.file", f"{target}: no such file or entry")
    if index is not None:
        after = _without_entry(text, index)
        expected = {**before, "media": [e for i, e in enumerate(entries) if i != index]}
        if not expected["media"]:
            del expected["media"]
        if after is None or _parsed(after) != expected:
            # Its lines hold more than the entry (or less): a person edits this file.
            message = f"{target}: its entry cannot be taken out alone: edit release.toml by hand"
            return Problem(meta, key_line(text, ["media", str(index), "file"]), "media", message)
        writer.write_atomically(meta, after)
    if ours and not any(_names(e, target) for i, e in enumerate(entries) if i != index):
        path.unlink(missing_ok=True)
    return None


def _names(entry: object, target: str) -> bool:
    return isinstance(entry, dict) and entry.get("file") == target


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _without_entry(text: str, index: int) -> str | None:
    """``text`` without the lines of its ``index``-th ``[[media]]`` table (and the blank
    lines before its header; not the comments above the next table); None if there is
    no such table."""
    lines = text.split("\n")  # as TOML counts lines
    headers = [n for n, line in enumerate(lines) if _MEDIA_HEADER.match(line)]
    if index >= len(headers):
        return None
    start = headers[index]
    end = next((n for n in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[n])), len(lines))
    if end < len(lines):  # comments just above the next table are about that table
        while end - 1 > start and _blank_or_comment(lines[end - 1]):
            end -= 1
    while start > 0 and not lines[start - 1].strip():
        start -= 1
    kept = lines[:start] + lines[end:]
    return "\n".join(kept).rstrip("\n") + "\n"


def _blank_or_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")
