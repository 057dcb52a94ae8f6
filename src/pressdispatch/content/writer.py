"""Release files written by software (the JSON API), checked by the loader as hand-written ones.

Text first, then files:

- :func:`release_toml` and :func:`language_file` turn values into the text of
  ``release.toml`` and ``<lang>.md``;
- :func:`with_times` and :func:`with_status` rewrite only their keys of an existing
  ``release.toml``, keeping every other line (comments included) as it was;
- :func:`create_release`, :func:`replace_release_file` and :func:`rewrite_release`
  write into a hidden staging folder beside the releases (``.api-*``, skipped by every
  scan), run the loader on it, and only when the release loads put the result in
  place. A release that does not load leaves nothing behind.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pressdispatch.content.media import FOLDER as MEDIA
from pressdispatch.content.releases import Loaded
from pressdispatch.errors import PressDispatchError

__all__ = [
    "KEEP",
    "Keep",
    "Load",
    "ReleaseExists",
    "TomlValue",
    "create_release",
    "language_file",
    "release_toml",
    "replace_release_file",
    "rewrite_release",
    "stage_media",
    "toml_value",
    "with_status",
    "with_times",
    "write_atomically",
]

TomlValue = str | bool | int | datetime | Sequence[str] | Mapping[str, str]
Load = Callable[[Path], Loaded]  # ``load_release`` with the newsroom's settings

Keep = Literal["keep"]
#: ``with_times(embargo_send_at=KEEP)``: leave the embargo line as it is.
KEEP: Keep = "keep"

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')
_TABLE = re.compile(r"^\s*\[")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_STAGING = ".api-"  # folders starting with a dot are never read as releases


class ReleaseExists(PressDispatchError):
    """A release folder with this id is already there."""

    def __init__(self, release_id: str) -> None:
        super().__init__(f"a release {release_id!r} already exists")
        self.release_id = release_id


# --------------------------------------------------------------------------- #
# Text
# --------------------------------------------------------------------------- #


def toml_value(value: TomlValue) -> str:
    """One TOML value: a basic string, a boolean, an integer, a date-time or a list of strings.

    A datetime without ``tzinfo`` is written as a TOML local date-time, so the loader
    reports the missing offset exactly as it does for a hand-written file.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'
    if isinstance(value, Mapping):  # an inline table: alt = { fr = "…", en = "…" }
        pairs = (f"{_key(key)} = {toml_value(item)}" for key, item in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_value(key)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04X}"


def release_toml(
    meta: Mapping[str, TomlValue | None],
    contacts: Iterable[Mapping[str, str]] = (),
    *,
    source: Mapping[str, TomlValue] | None = None,
    comments: Mapping[str, Sequence[str]] | None = None,
    media: Iterable[Mapping[str, TomlValue]] = (),
) -> str:
    """``release.toml``: the keys in the order given (None: left out), then ``[[contacts]]``,
    ``[source]`` and ``[[media]]``. ``comments`` go, one ``#`` line each, above their key."""
    lines: list[str] = []
    for key, value in meta.items():
        if value is None:
            continue
        lines.extend(f"# {_comment(line)}" for line in (comments or {}).get(key, ()))
        lines.append(f"{key} = {toml_value(value)}")
    for contact in contacts:
        lines.extend(["", "[[contacts]]"])
        lines.extend(f"{key} = {toml_value(value)}" for key, value in contact.items())
    if source is not None:
        lines.extend(["", "[source]"])
        lines.extend(f"{key} = {toml_value(value)}" for key, value in source.items())
    for entry in media:
        lines.extend(["", "[[media]]"])
        lines.extend(f"{key} = {toml_value(value)}" for key, value in entry.items())
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """One line of a TOML comment: control characters (a line break would end it) gone."""
    return "".join(" " if ch < " " or ch == "\x7f" else ch for ch in text)


def language_file(front: Mapping[str, str | None], body: str) -> str:
    """``<lang>.md``: TOML front matter between ``+++`` lines (None: left out), then the body."""
    lines = [f"{key} = {toml_value(value)}" for key, value in front.items() if value is not None]
    return "+++\n" + "".join(line + "\n" for line in lines) + "+++\n" + body


def with_times(
    text: str, publish_at: datetime, embargo_send_at: datetime | Keep | None = KEEP
) -> str:
    """``release.toml`` with new times; every other line is kept byte for byte.

    ``embargo_send_at``: a time to set, ``None`` to remove the key, or :data:`KEEP`.
    A trailing comment on a rewritten line stays. A key that is missing is added
    (``embargo_send_at`` after ``publish_at``, ``publish_at`` at the top).
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    top = next((n for n, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    found: dict[str, int] = {}
    out: list[str] = []
    for n, original in enumerate(lines):
        key = _top_level_key(original) if n < top else None
        line = original
        if key == "publish_at":
            line = _set_value(original, publish_at)
        elif key == "embargo_send_at" and embargo_send_at != KEEP:
            if embargo_send_at is None:
                continue
            assert isinstance(embargo_send_at, datetime)
            line = _set_value(original, embargo_send_at)
        if key is not None:
            found.setdefault(key, len(out))
        out.append(line)
    if "publish_at" not in found:
        out.insert(0, f"publish_at = {toml_value(publish_at)}{newline}")
        found = {key: at + 1 for key, at in found.items()} | {"publish_at": 0}
    if isinstance(embargo_send_at, datetime) and "embargo_send_at" not in found:
        at = found["publish_at"]
        if not out[at].endswith(("\n", "\r")):
            out[at] += newline
        out.insert(at + 1, f"embargo_send_at = {toml_value(embargo_send_at)}{newline}")
    return "".join(out)


def with_status(text: str, status: str) -> str:
    """``release.toml`` with ``status = "<status>"``; every other line is kept byte for byte.

    A missing key is added after ``publish_at`` (at the top without one).
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    top = next((n for n, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    keys = [_top_level_key(line) if n < top else None for n, line in enumerate(lines)]
    if "status" in keys:
        at = keys.index("status")
        match = _KEY_LINE.match(lines[at])
        assert match is not None
        rest = match.group("rest") if "#" in match.group("rest") else ""
        lines[at] = match.group("key") + toml_value(status) + rest + match.group("end")
        return "".join(lines)
    at = keys.index("publish_at") + 1 if "publish_at" in keys else 0
    if at and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += newline
    lines.insert(at, f"status = {toml_value(status)}{newline}")
    return "".join(lines)


_KEY_LINE = re.compile(
    r"""^(?P<key>\s*(?P<name>[A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^#\r\n]*?)"""
    r"""(?P<rest>[ \t]*(?:#[^\r\n]*)?)(?P<end>\r?\n?)$"""
)


def _top_level_key(line: str) -> str | None:
    match = _KEY_LINE.match(line)
    if match is None:
        return None
    return match.group("name").strip("\"'")


def _set_value(line: str, value: datetime) -> str:
    match = _KEY_LINE.match(line)
    assert match is not None
    rest = match.group("rest") if "#" in match.group("rest") else ""
    return match.group("key") + toml_value(value) + rest + match.group("end")


# --------------------------------------------------------------------------- #
# Files
# --------------------------------------------------------------------------- #


def create_release(
    root: Path, release_id: str, files: Mapping[str, str], load: Load, *, install: bool = True
) -> Loaded:
    """Write ``files`` as the release folder ``root/<release_id>`` if ``load`` accepts them.

    ``load`` gets the staged folder (already named ``release_id``). When it returns a
    release and ``install`` is true, the folder is renamed into place, so a scan sees
    all of it or nothing. Raises :class:`ReleaseExists` when ``root/<release_id>`` is
    there, even if it appeared while the files were checked.
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=root))
    try:
        folder = staging / release_id
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        stage_media(root / release_id, folder)  # a rewrite keeps the release's media
        release, problems = load(folder)
        if release is not None and install:
            target = root / release_id
            if target.exists():
                raise ReleaseExists(release_id)
            try:
                folder.rename(target)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise ReleaseExists(release_id) from None
                raise
        return release, problems
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_release_file(folder: Path, name: str, text: str, load: Load) -> Loaded:
    """Replace one file of an existing release if the release, so changed, still loads.

    The release's ``release.toml`` and language files are copied into a staging folder
    with the new text, and checked there; the real file is then replaced atomically.
    """
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=folder.parent))
    try:
        copy = staging / folder.name
        copy.mkdir()
        for path in [folder / "release.toml", *folder.glob("*.md")]:
            if path.is_file() and path.name != name:
                shutil.copyfile(path, copy / path.name)
        (copy / name).write_text(text, encoding="utf-8")
        stage_media(folder, copy)
        release, problems = load(copy)
        if release is not None:
            write_atomically(folder / name, text)
        return release, problems
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stage_media(folder: Path, copy: Path) -> None:
    """The files of ``folder/media`` in ``copy/media``, hard-linked (copied where links
    cannot be made), so the loader checks a staged release with its media."""
    media = folder / MEDIA
    if not media.is_dir():
        return
    (copy / MEDIA).mkdir(exist_ok=True)
    for path in media.iterdir():
        if path.is_file():
            try:
                os.link(path, copy / MEDIA / path.name)
            except OSError:  # another filesystem, or links refused
                shutil.copyfile(path, copy / MEDIA / path.name)


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a hidden file beside it and a rename: never half-written."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def rewrite_release(folder: Path, files: Mapping[str, str], load: Load) -> Loaded:
    """Make an existing release folder hold exactly ``files`` (its other ``.md`` files go)
    if the release they make loads; otherwise nothing changes.

    Each file is replaced atomically; a scan between two of them may see the release
    half rewritten, and the next scan sees all of it.
    """
    release, problems = create_release(folder.parent, folder.name, files, load, install=False)
    if release is None:
        return release, problems
    for name, text in files.items():
        write_atomically(folder / name, text)
    for old in folder.glob("*.md"):
        if old.name not in files:
            old.unlink(missing_ok=True)
    return release, problems
