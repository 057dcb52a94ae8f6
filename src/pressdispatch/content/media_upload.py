"""Adding a picture or document to a release from the web (the API and the console).

Both go through :func:`add_media`: the file and its ``[[media]]`` entry are staged
beside the release (its other files hard-linked, not copied) and checked by the loader
`pressdispatch check` runs, so an upload meets the very checks of a file put in the
folder by hand. Only when the new entry loads is the file moved into ``media/`` and the
entry appended to release.toml; otherwise nothing changes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pressdispatch.content import writer
from pressdispatch.content.media import FOLDER
from pressdispatch.errors import Problem
from pressdispatch.model import Media
from pressdispatch.textfiles import FILE, read_text

__all__ = ["add_media", "safe_name"]

# Letters of any script, digits, spaces, dots, hyphens and underscores; not hidden.
_NAME = re.compile(r"^[^\W][\w .-]{0,199}$")


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
