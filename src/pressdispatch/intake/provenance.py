"""What was imported before: the ``[source]`` tables of the release folders.

The importer reads them to find an earlier import of the same address, the poller
to skip a page imported by hand, and the console to list the drafts to review.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["ImportedDraft", "imported_drafts", "imported_urls"]


def imported_urls(root: Path) -> dict[str, str]:
    """The URL each imported release came from → its id (``[source] url``)."""
    found: dict[str, str] = {}
    for release_id, source, _ in _imported(root):
        url = source.get("url")
        if isinstance(url, str) and url:
            found.setdefault(url, release_id)
    return found


@dataclass(frozen=True, slots=True)
class ImportedDraft:
    """An imported release still a draft: what the press office has to review."""

    release_id: str
    source: str  # the URL or file it came from ("" for pasted text)
    fetched_at: datetime | None
    publish_at: datetime | None


def imported_drafts(root: Path) -> list[ImportedDraft]:
    """Every release with a ``[source]`` table and ``status = "draft"``, latest import first."""
    found = []
    for release_id, source, data in _imported(root):
        if data.get("status") != "draft":
            continue
        origin = source.get("url") or source.get("file") or ""
        fetched, publish = source.get("fetched_at"), data.get("publish_at")
        found.append(
            ImportedDraft(
                release_id,
                origin if isinstance(origin, str) else "",
                fetched if isinstance(fetched, datetime) and fetched.tzinfo else None,
                publish if isinstance(publish, datetime) and publish.tzinfo else None,
            )
        )
    undated = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda d: d.fetched_at or undated, reverse=True)


def _imported(root: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, its [source] table, all of release.toml) of each release with a [source]."""
    for path in sorted(root.glob("*/release.toml")):
        if path.parent.name.startswith("."):
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, tomllib.TOMLDecodeError):
            continue
        source = data.get("source")
        if isinstance(source, dict):
            yield path.parent.name, source, data
