"""A feed or a sitemap of the press office's website → the pages it lists.

RSS and Atom are read by feedparser; a sitemap (``<urlset>``) or a sitemap index
(``<sitemapindex>``, whose sitemaps the caller fetches) by defusedxml, which
refuses a DTD and so any entity: a sitemap has no use for one. Pure: bytes in,
entries out.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError
from xml.sax import SAXParseException

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pressdispatch.errors import PressDispatchError

__all__ = ["Entry", "Listing", "ListingError", "read_listing"]

_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")  # the first element: <?xml and <!-- start otherwise
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_SITEMAP_ROOTS = ("urlset", "sitemapindex")


class ListingError(PressDispatchError):
    """Neither a feed nor a sitemap could be read; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Entry:
    url: str  # the page to import
    guid: str = ""  # a feed entry's id (RSS guid, Atom id); empty in a sitemap
    dated: datetime | None = None  # published (a feed) or lastmod (a sitemap)


@dataclass(frozen=True, slots=True)
class Listing:
    kind: str  # feed or sitemap
    entries: tuple[Entry, ...] = ()
    sitemaps: tuple[str, ...] = ()  # a sitemap index's sitemaps


def read_listing(raw: bytes, url: str, content_type: str = "") -> Listing:
    """The pages a feed or sitemap at ``url`` lists; ListingError if it is neither."""
    found = _ROOT.search(_COMMENT.sub(b"", raw[:4096]))
    root = found.group(1).decode("ascii").rpartition(":")[2] if found else ""
    if root in _SITEMAP_ROOTS:
        return _sitemap(raw, url)
    if root.lower() == "html":
        raise ListingError(f"{url}: a web page, not a feed nor a sitemap")
    return _feed(raw, url, content_type)


def _feed(raw: bytes, url: str, content_type: str) -> Listing:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    import feedparser  # noqa: PLC0415 - here: only a poll needs it, every command would pay

    parsed: Any = feedparser.parse(io.BytesIO(raw), response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        exc = parsed.get("bozo_exception")
        if isinstance(exc, SAXParseException):
            raise ListingError(
                f"{url}: the feed does not parse ({exc.getMessage()}, line {exc.getLineNumber()})"
            )
        raise ListingError(f"{url}: not an RSS or Atom feed, nor a sitemap")
    entries = []
    for item in parsed.entries:
        link = _http(item.get("link") or "", url)
        if link:
            entries.append(Entry(link, str(item.get("id") or ""), _when(item)))
    if not entries and parsed.entries:
        raise ListingError(f"{url}: the feed's entries have no link to a page")
    return Listing("feed", tuple(entries))


def _when(item: Any) -> datetime | None:
    moment = item.get("published_parsed") or item.get("updated_parsed")
    if moment is None:
        return None
    year, month, day, hour, minute, second = moment[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)  # feedparser: UTC


def _sitemap(raw: bytes, url: str) -> Listing:
    try:
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise ListingError(f"{url}: a sitemap with a DTD or entities is not read") from None
    except ParseError as exc:
        raise ListingError(f"{url}: the sitemap does not parse ({exc})") from None
    if _local(root.tag) == "sitemapindex":
        sitemaps = (_http(_text(s, "loc"), url) for s in _children(root, "sitemap"))
        return Listing("sitemap", sitemaps=tuple(s for s in sitemaps if s))
    entries = []
    for item in _children(root, "url"):
        loc = _http(_text(item, "loc"), url)
        if loc:
            entries.append(Entry(loc, dated=_lastmod(_text(item, "lastmod"))))
    return Listing("sitemap", tuple(entries))


def _children(root: Element, name: str) -> Iterator[Element]:
    return (child for child in root if _local(child.tag) == name)


def _text(element: Element, name: str) -> str:
    found = next(_children(element, name), None)
    return (found.text or "").strip() if found is not None else ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _lastmod(text: str) -> datetime | None:
    """A W3C datetime: ``2026-11-20``, ``2026-11-20T09:00+01:00``, ``…Z``; no zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _http(link: str, base: str) -> str:
    """The link made absolute, if it is a web page's; "" otherwise (mailto:, javascript:)."""
    absolute = urljoin(base, link.strip())
    return absolute if link.strip() and urlsplit(absolute).scheme in ("http", "https") else ""
