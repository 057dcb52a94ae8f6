"""The editor's "Photos and documents": the release's media as its files say, and the
upload form as it was sent back (with its problems beside its fields).

What each file is comes from its bytes (content/media.py ``sniff``: the header only, so
listing is cheap); whether an entry is published is the loader's to say, and its
problems are shown above the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pressdispatch.content import writer
from pressdispatch.content.media import FOLDER, PDF, NotMedia, sniff
from pressdispatch.errors import Problem
from pressdispatch.render.gallery import EMAIL_WIDTH
from pressdispatch.sizes import format_size
from pressdispatch.web.mediaupload import DESCRIBED, SINGLE

__all__ = ["THUMB_WIDTH", "UploadForm", "is_about_media", "rows", "upload_errors"]

THUMB_WIDTH = EMAIL_WIDTH  # a copy the newsroom makes anyway
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", PDF: "PDF"}
_FIELDS = {"file", "alt", "caption", "credit", "license", "hero"}

Errors = dict[str, list[str]]


@dataclass
class UploadForm:
    """The upload form as typed (the file itself cannot be shown again), and its problems
    under ``file``, ``alt``, ``caption``, ``credit``, ``license``, ``hero`` or ``form``."""

    values: dict[str, str] = field(default_factory=dict)
    errors: Errors = field(default_factory=dict)

    @classmethod
    def typed(cls, form: Iterable[tuple[str, Any]], languages: Sequence[str]) -> UploadForm:
        names = {f"{key}.{lang}" for key in DESCRIBED for lang in languages} | {*SINGLE, "hero"}
        return cls({key: value for key, value in form if key in names and isinstance(value, str)})


def is_about_media(problem: Problem) -> bool:
    return problem.field == FOLDER or problem.field.startswith(f"{FOLDER}.")


def upload_errors(problems: Iterable[Problem]) -> Errors:
    """The errors of an upload, under the upload form's field each is about."""
    errors: Errors = {}
    for problem in problems:
        if not problem.is_error:
            continue
        name = problem.field.removeprefix(f"{FOLDER}.")
        key = name if name in _FIELDS else "form"
        if problem.message not in errors.get(key, []):
            errors.setdefault(key, []).append(problem.message)
    return errors


def rows(
    folder: Path, release_id: str, entries: Sequence[Mapping[str, writer.TomlValue]]
) -> list[dict[str, Any]]:
    """Each ``[[media]]`` entry as the editor lists it, then each file of ``media/`` that
    no entry describes (never published). Blocks: run it in a thread."""
    media = folder / FOLDER
    base = f"/admin/releases/{release_id}/media"
    found: list[dict[str, Any]] = []
    described: set[str] = set()
    for entry in entries:
        file = str(entry.get("file", ""))
        name = file.removeprefix(f"{FOLDER}/")
        described.add(name)
        found.append(_row(media / name, name, base, entry) | {"described": True})
    if media.is_dir():
        for path in sorted(media.iterdir()):
            if path.name not in described and not path.name.startswith("."):
                found.append(_row(path, path.name, base, {}) | {"described": False})
    return found


def _row(path: Path, name: str, base: str, entry: Mapping[str, writer.TomlValue]) -> dict[str, Any]:
    link = f"{base}/{quote(name, safe='')}"
    row: dict[str, Any] = {
        "name": name,
        "alt": _texts(entry.get("alt")),
        "caption": _texts(entry.get("caption")),
        "credit": str(entry.get("credit", "")),
        "license": str(entry.get("license", "")),
        "hero": entry.get("hero") is True,
        "remove": f"{link}/remove",
        "url": "",
        "thumb": "",
        "type": "",
        "size": "",
        "dimensions": "",
    }
    inside = path.parent.name == FOLDER and "/" not in name and name not in ("", ".", "..")
    if not inside or not path.is_file():
        return row | {"type": "missing: no such file in media/"}
    try:
        sniffed = sniff(path)
        size = path.stat().st_size
    except (NotMedia, OSError) as exc:
        return row | {"type": str(exc) or "cannot be read", "url": link}
    row |= {"type": _FORMATS.get(sniffed.mime, sniffed.mime), "size": format_size(size)}
    row["url"] = link
    if sniffed.mime != PDF:
        dimensions = f"{sniffed.width} \u00d7 {sniffed.height}"
        row |= {"thumb": f"{link}/{THUMB_WIDTH}.jpg", "dimensions": dimensions}
    return row


def _texts(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
