"""Public releases → sitemaps (sitemaps.org 0.9) for search engines. Pure.

One ``<url>`` per language version of a release: its page, ``lastmod`` (the
publication time: the text a release is published with is frozen when its dispatch
starts, so it is never edited after) and an ``xhtml:link rel="alternate" hreflang``
for every version, itself included, as search engines ask for. The home page comes
first, so a newsroom with nothing public still has a valid sitemap.

The protocol allows 50,000 URLs and 50 MB (uncompressed) per file. Over either,
the URLs are split into parts, named by a sitemap index (:func:`build_index`).
``releases`` are the public ones only: what is under embargo is never given here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from pressdispatch.model import Release
from pressdispatch.render.email import release_url

__all__ = ["MAX_BYTES", "MAX_URLS", "SitemapPart", "build_index", "sitemap_parts"]

#: The most URLs in one sitemap file (sitemaps.org).
MAX_URLS = 50_000
#: The largest sitemap file, uncompressed (sitemaps.org: 50 MB).
MAX_BYTES = 50 * 1024 * 1024

_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_XHTML = "http://www.w3.org/1999/xhtml"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_URLSET_OPEN = f'{_DECLARATION}<urlset xmlns="{_NS}" xmlns:xhtml="{_XHTML}">\n'.encode()
_URLSET_CLOSE = b"</urlset>\n"


@dataclass(frozen=True, slots=True)
class SitemapPart:
    """One sitemap file: its bytes and its newest ``lastmod`` (for the index)."""

    body: bytes
    lastmod: datetime | None


def _w3c(moment: datetime) -> str:
    """``2026-11-28T09:00:00+00:00``: W3C Datetime, in UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _url(loc: str, lastmod: datetime | None, alternates: Sequence[tuple[str, str]]) -> bytes:
    parts = [f"<url><loc>{escape(loc)}</loc>"]
    if lastmod is not None:
        parts.append(f"<lastmod>{_w3c(lastmod)}</lastmod>")
    parts.extend(
        f'<xhtml:link rel="alternate" hreflang={quoteattr(lang)} href={quoteattr(href)}/>'
        for lang, href in alternates
    )
    parts.append("</url>\n")
    return "".join(parts).encode()


def _urls(releases: Sequence[Release], base_url: str) -> list[tuple[bytes, datetime | None]]:
    """Every ``<url>`` element, with its lastmod: the home page, then each version."""
    newest = max((release.publish_at for release in releases), default=None)
    urls = [(_url(f"{base_url}/", newest, ()), newest)]
    for release in releases:
        versions = [
            (lang, release_url(base_url, release.id, lang)) for lang in release.translations
        ]
        urls.extend(
            (_url(href, release.publish_at, versions), release.publish_at) for _, href in versions
        )
    return urls


def sitemap_parts(
    releases: Sequence[Release],
    base_url: str,
    *,
    max_urls: int = MAX_URLS,
    max_bytes: int = MAX_BYTES,
) -> list[SitemapPart]:
    """The sitemap of ``releases`` (the public ones) as one part, or as several when it
    holds more than ``max_urls`` URLs or ``max_bytes`` bytes."""
    frame = len(_URLSET_OPEN) + len(_URLSET_CLOSE)
    parts: list[SitemapPart] = []
    chunk: list[bytes] = []
    size = frame
    newest: datetime | None = None

    def close() -> None:
        parts.append(SitemapPart(b"".join([_URLSET_OPEN, *chunk, _URLSET_CLOSE]), newest))

    for element, lastmod in _urls(releases, base_url):
        if chunk and (len(chunk) >= max_urls or size + len(element) > max_bytes):
            close()
            chunk, size, newest = [], frame, None
        chunk.append(element)
        size += len(element)
        if lastmod is not None and (newest is None or lastmod > newest):
            newest = lastmod
    close()
    return parts


def build_index(locations: Sequence[str], parts: Sequence[SitemapPart]) -> bytes:
    """The sitemap index naming each part at ``locations[i]``."""
    lines = [_DECLARATION, f'<sitemapindex xmlns="{_NS}">\n']
    for loc, part in zip(locations, parts, strict=True):
        lastmod = f"<lastmod>{_w3c(part.lastmod)}</lastmod>" if part.lastmod else ""
        lines.append(f"<sitemap><loc>{escape(loc)}</loc>{lastmod}</sitemap>\n")
    lines.append("</sitemapindex>\n")
    return "".join(lines).encode()
