"""Releases and subscribers to and from the store's columns. Pure."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pressdispatch.model import Contact, Media, Release, ReleaseStatus, Subscriber, Translation

_EMPTY: frozenset[str] = frozenset()
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether ``text`` can be a value in the database at all.

    PostgreSQL refuses NUL in text, and no UTF-8 database takes a lone surrogate.
    The loaders and the API keep both out of what is stored, so a lookup by such a
    value (an address or an id typed into a URL) finds nothing, without asking.
    """
    return _UNSTORABLE.search(text) is None


def release_to_json(release: Release) -> str:
    """A canonical JSON snapshot: equal releases give equal text (and hash)."""
    document: dict[str, Any] = {
        "id": release.id,
        "publish_at": release.publish_at.isoformat(),
        "embargo_send_at": release.embargo_send_at.isoformat() if release.embargo_send_at else None,
        "status": release.status.value,
        "original_language": release.original_language,
        "regions": list(release.regions),
        "topics": list(release.topics),
        "contacts": [[c.name, c.role, c.phone, c.email] for c in release.contacts],
        "translations": [
            [t.language, t.title, t.summary, t.dateline, t.body_markdown, t.body_html]
            for t in release.translations.values()
        ],
    }
    if release.media:  # only then: the hash of a release without media stays as it was
        document["media"] = [_media_to_json(item) for item in release.media]
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def release_from_json(text: str) -> Release:
    data: dict[str, Any] = json.loads(text)
    translations = {row[0]: Translation(*row) for row in data["translations"]}
    return Release(
        id=data["id"],
        publish_at=datetime.fromisoformat(data["publish_at"]),
        embargo_send_at=(
            datetime.fromisoformat(data["embargo_send_at"]) if data["embargo_send_at"] else None
        ),
        status=ReleaseStatus(data["status"]),
        original_language=data["original_language"],
        translations=translations,
        regions=tuple(data["regions"]),
        topics=tuple(data["topics"]),
        contacts=tuple(Contact(*row) for row in data["contacts"]),
        media=tuple(_media_from_json(item) for item in data.get("media", ())),
    )


def _media_to_json(item: Media) -> dict[str, Any]:
    return {
        "name": item.name,
        "mime": item.mime,
        "size": item.size,
        "sha256": item.sha256,
        "width": item.width,
        "height": item.height,
        "alt": dict(item.alt),
        "caption": dict(item.caption),
        "credit": item.credit,
        "license": item.license,
        "hero": item.hero,
    }


def _media_from_json(data: dict[str, Any]) -> Media:
    return Media(**data)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def subscriber_columns(subscriber: Subscriber) -> dict[str, Any]:
    """The columns a subscriber list sets (never ``status``: an unsubscribe outlives a CSV)."""
    columns: dict[str, Any] = {
        "email": subscriber.key,
        "address": subscriber.email,
        "name": subscriber.name,
        "outlet": subscriber.outlet,
        "languages": " ".join(subscriber.languages),
        "regions": " ".join(sorted(subscriber.regions)),
        "topics": " ".join(sorted(subscriber.topics)),
        "embargo": subscriber.embargo,
        "lists": " ".join(subscriber.lists),
    }
    columns["row_hash"] = columns_hash(columns)
    return columns


def columns_hash(columns: Mapping[str, Any]) -> str:
    """The ``row_hash`` of a journalist's list columns (``subscriber_columns`` without it)."""
    return digest(json.dumps(columns, sort_keys=True, ensure_ascii=False))


def subscriber_from_row(row: Mapping[str, Any]) -> Subscriber:
    return Subscriber(
        email=row["address"],
        name=row["name"],
        outlet=row["outlet"],
        languages=tuple(row["languages"].split()),
        regions=frozenset(row["regions"].split()) if row["regions"] else _EMPTY,
        topics=frozenset(row["topics"].split()) if row["topics"] else _EMPTY,
        embargo=bool(row["embargo"]),
        lists=tuple(row["lists"].split()),
    )
