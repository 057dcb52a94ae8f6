"""A release as software edits it: values in, files out; files in, values out; and the
loader's problems named by the field they are about.

The JSON API and the console's editor both write releases through :func:`draft_files`
and both name problems with :func:`locate`, so a release written either way is the
same files, and a wrong value is reported on the same field
(``translations.fr.title``, ``contacts.0.email``, ``publish_at``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pressdispatch.config import Settings
from pressdispatch.content import writer
from pressdispatch.content.releases import load_release, split_front_matter
from pressdispatch.errors import ContentError, Problem
from pressdispatch.regions import RegionTree
from pressdispatch.textfiles import FILE, parse_toml, read_text

__all__ = [
    "LANGUAGE_KEY",
    "Draft",
    "Located",
    "Version",
    "draft_files",
    "loader",
    "locate",
    "read_draft",
]

LANGUAGE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,16}$")  # safe as a file name; the loader judges it
_FRONT = ("title", "summary", "dateline")
_CONTACT = ("name", "role", "phone", "email")
_COMMENT = re.compile(r"^\s*#\s?(.*)$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_TABLE = re.compile(r"^\s*\[")


@dataclass(frozen=True, slots=True)
class Version:
    """One ``<lang>.md``: None leaves a front matter key out (the loader then says so)."""

    title: str | None = None
    summary: str | None = None
    dateline: str | None = None
    body_markdown: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    """``release.toml`` and its language files as values; None leaves a key out."""

    publish_at: datetime | None = None
    embargo_send_at: datetime | None = None
    status: str | None = None
    original_language: str | None = None
    regions: Sequence[str] | None = None
    topics: Sequence[str] | None = None
    contacts: Sequence[Mapping[str, str]] = ()
    translations: Mapping[str, Version] = field(default_factory=dict)
    source: Mapping[str, writer.TomlValue] | None = None  # an imported release's [source]
    comments: Mapping[str, Sequence[str]] = field(default_factory=dict)  # key → lines above it
    media: Sequence[Mapping[str, writer.TomlValue]] = ()  # the [[media]] entries, as written


@dataclass(frozen=True, slots=True)
class Located:
    """A loader problem, named as the API's JSON fields are."""

    file: str | None
    line: int | None
    field: str
    message: str


def draft_files(draft: Draft) -> dict[str, str]:
    """release.toml and each ``<lang>.md``, as a press officer would write them.

    A language whose key cannot be a file name is left out: the caller refuses it.
    """
    meta: dict[str, writer.TomlValue | None] = {
        "publish_at": draft.publish_at,
        "embargo_send_at": draft.embargo_send_at,
        "status": draft.status,
        "original_language": draft.original_language,
        "regions": draft.regions,
        "topics": draft.topics,
    }
    toml = writer.release_toml(
        meta,
        draft.contacts,
        source=draft.source,
        comments=draft.comments or None,
        media=draft.media,
    )
    files = {"release.toml": toml}
    for key, version in draft.translations.items():
        if LANGUAGE_KEY.match(key):
            front = {name: getattr(version, name) for name in _FRONT}
            files[f"{key}.md"] = writer.language_file(front, version.body_markdown)
    return files


def loader(settings: Settings, regions: RegionTree) -> writer.Load:
    """``load_release`` with the newsroom's settings, as `pressdispatch check` runs it."""
    newsroom = settings.newsroom
    return functools.partial(
        load_release,
        regions=regions,
        languages=newsroom.languages,
        default_language=newsroom.default_language,
        max_body_size=settings.content.max_body_size,
        max_media_size=settings.content.max_media_size,
    )


def locate(problem: Problem) -> Located:
    """The field a loader problem is about: ``publish_at``, ``contacts.0.name``,
    ``translations.fr.body_markdown``, ``translations.fr`` (the file as a whole),
    ``translations`` (no language at all) or ``id``."""
    path = Path(problem.path)
    if path.name == "release.toml":
        name = problem.field if problem.field not in ("", FILE) else "release.toml"
        return Located(path.name, problem.line, name, problem.message)
    if path.suffix == ".md":
        base = f"translations.{path.stem}"
        renamed = {"": "", FILE: "", "language": "", "body": "body_markdown"}
        name = renamed.get(problem.field, problem.field)
        return Located(path.name, problem.line, f"{base}.{name}" if name else base, problem.message)
    return Located(None, None, problem.field or "translations", problem.message)


def read_draft(folder: Path) -> tuple[Draft, list[Problem]]:
    """The values in a release folder, as they are written, even when the release does
    not load (so that it can be corrected); what cannot be read is a problem."""
    problems: list[Problem] = []
    meta: dict[str, Any] = {}
    text = ""
    path = folder / "release.toml"
    try:
        text = read_text(path)
        meta = parse_toml(text, path)
    except ContentError as exc:
        problems.append(exc.problem)
    translations: dict[str, Version] = {}
    for md in sorted(folder.glob("*.md")):
        try:
            front_text, body, _ = split_front_matter(read_text(md), md)
            front = parse_toml(front_text, md, first_line=2)
        except ContentError as exc:
            problems.append(exc.problem)
            continue
        title, summary, dateline = (_text(front.get(name)) for name in _FRONT)
        translations[md.stem] = Version(title, summary, dateline, body)
    source = meta.get("source")
    contacts = meta.get("contacts")
    media = meta.get("media")
    draft = Draft(
        publish_at=_moment(meta.get("publish_at")),
        embargo_send_at=_moment(meta.get("embargo_send_at")),
        status=_text(meta.get("status")),
        original_language=_text(meta.get("original_language")),
        regions=_texts(meta.get("regions")),
        topics=_texts(meta.get("topics")),
        contacts=[
            {key: str(c[key]) for key in _CONTACT if c.get(key) is not None}
            for c in (contacts if isinstance(contacts, list) else [])
            if isinstance(c, dict)
        ],
        translations=translations,
        source=dict(source) if isinstance(source, dict) else None,
        comments=_comments(text),
        media=[dict(m) for m in (media if isinstance(media, list) else []) if isinstance(m, dict)],
    )
    return draft, problems


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _texts(value: object) -> list[str] | None:
    return [str(item) for item in value] if isinstance(value, list) else None


def _moment(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _comments(text: str) -> dict[str, list[str]]:
    """The comment lines right above each top-level key (the importer's evidence)."""
    found: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in text.splitlines():
        if _TABLE.match(line):
            break
        if comment := _COMMENT.match(line):
            pending.append(comment.group(1))
        elif key := _KEY.match(line):
            if pending:
                found[key.group(1)] = pending
            pending = []
        else:
            pending = []
    return found
