"""What a page's markup says about its article: title, description, language, date, versions.

Only what the head and a few well-known elements state; the article text itself is
trafilatura's work (see :mod:`pressdispatch.intake.page`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import etree, html
from lxml.html import HtmlElement

from pressdispatch.intake.language import language_of_tag
from pressdispatch.intake.prose import date_line_value

__all__ = [
    "alternates",
    "description",
    "heading",
    "instant_of",
    "language_clues",
    "load",
    "meta",
    "published",
    "title",
    "written_day",
]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Between a headline and the site's name in a <title> or og:title.
_SITE_SEPARATOR = re.compile(r"\s+(?:\||-|\u2013|—|·|•|::|»)\s+|\s*\|\s*")  # \u2013: en dash
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "dcterms.issued",
    "dc.date.issued",
    "pubdate",
)


def load(markup: str, url: str | None = None) -> HtmlElement | None:
    """The parsed page with its links made absolute against ``url``; None if it has no markup.

    Control characters (which lxml refuses) and an XML declaration (which it refuses
    in a str) are dropped first, so odd input gives a page or None, never an error.
    """
    text = _XML_DECLARATION.sub("", _CONTROL.sub("", markup))
    if not text.strip():
        return None
    try:
        doc = html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None
    if url:
        with contextlib.suppress(ValueError):  # a base URL lxml cannot join: links stay as written
            doc.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    return doc


def meta(doc: HtmlElement, *names: str) -> str:
    """The first non-empty ``<meta property|name|itemprop=…>`` content among ``names``."""
    wanted = {n.lower() for n in names}
    for element in doc.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        content = " ".join((element.get("content") or "").split())
        if key.strip().lower() in wanted and content:
            return content
    return ""


def heading(doc: HtmlElement) -> str:
    """The article's ``<h1>``: the first inside ``<article>`` or ``<main>``, else the first."""
    for path in ("//article//h1", "//main//h1", "//h1"):
        for element in doc.xpath(path):
            text = _text(element)
            if text:
                return text
    return ""


def title(doc: HtmlElement) -> str:
    """og:title, else the ``<h1>``, else ``<title>``, without the site's name around it."""
    h1 = heading(doc)
    page_title = next((_text(e) for e in doc.iter("title")), "")
    sites = {s.casefold() for s in (meta(doc, "og:site_name"), meta(doc, "application-name")) if s}
    for candidate in (meta(doc, "og:title", "twitter:title"), h1, page_title):
        if candidate:
            return _without_site(candidate, sites, h1)
    return ""


def _without_site(text: str, sites: set[str], h1: str) -> str:
    pieces = _SITE_SEPARATOR.split(text)
    if len(pieces) == 1:
        return text
    if h1 and _fold(h1) in {_fold(p) for p in pieces}:
        return h1
    separators = list(_SITE_SEPARATOR.finditer(text))
    start, end = 0, len(text)
    while separators and text[separators[-1].end() : end].casefold() in sites:
        end = separators.pop().start()
    while separators and text[start : separators[0].start()].casefold() in sites:
        start = separators.pop(0).end()
    return text[start:end]


def description(doc: HtmlElement) -> str:
    """og:description (the page's own summary; ``<meta name=description>`` is often the site's)."""
    return meta(doc, "og:description", "twitter:description")


def language_clues(doc: HtmlElement, url: str | None) -> list[tuple[str, str]]:
    """Each language the page declares, with how: ``[("fr", "<html lang=fr-FR>"), …]``."""
    clues: list[tuple[str, str]] = []

    def add(tag: str, evidence: str) -> None:
        code = language_of_tag(tag)
        if code is not None:
            clues.append((code, evidence))

    for attribute in ("lang", "{http://www.w3.org/XML/1998/namespace}lang", "xml:lang"):
        value = doc.get(attribute)
        if value:
            add(value, f"<html lang={value.strip()}>")
            break
    for name, shown in (("og:locale", "og:locale"), ("content-language", "Content-Language")):
        value = meta(doc, name) or _http_equiv(doc, name)
        if value:
            add(value.split(",")[0], f"{shown}={value}")
    if url:
        for tag, href in _hreflang_links(doc):
            if _same_url(href, url):
                add(tag, f"hreflang={tag} of this URL")
                break
        parts = urlsplit(url)
        for segment in [s for s in parts.path.split("/") if s][:2]:
            if re.fullmatch(r"[a-z]{2}(?:[-_][a-zA-Z]{2,4})?", segment):
                add(segment, f"URL path /{segment}/")
                break
        for key, values in parse_qs(parts.query).items():
            if key.lower() in {"lang", "hl", "language", "locale"} and values:
                add(values[0], f"URL ?{key}={values[0]}")
    return clues


def alternates(doc: HtmlElement, url: str | None, own: str | None) -> dict[str, str]:
    """Other language versions, ISO 639-1 code → absolute URL; not ``x-default``, not ``own``."""
    found: dict[str, str] = {}
    for tag, href in _hreflang_links(doc):
        code = language_of_tag(tag)
        target = urljoin(url, href) if url else href
        if code is None or code == own or code in found or not _absolute(target):
            continue
        if url and _same_url(target, url):
            continue
        found[code] = target
    return found


def published(doc: HtmlElement) -> datetime | None:
    """When the article was published, in UTC: its meta tags, JSON-LD, or a ``<time>`` in it."""
    for value in (meta(doc, *_PUBLISHED_META), *_json_ld_dates(doc), *_time_values(doc)):
        instant = instant_of(value)
        if instant is not None:
            return instant
    return None


def written_day(doc: HtmlElement) -> date | None:
    """A date written near the top of the article ("Publié le 5 mars 2026"), before its text."""
    scope = next(iter(doc.xpath("//article | //main")), None)
    for element in (scope if scope is not None else doc).iter("p", "time", "span", "div", "small"):
        if element.xpath("ancestor::aside or ancestor::nav or ancestor::footer"):
            continue
        text = _text(element)
        if element.tag == "p" and len(text) > 120:
            return None  # the article has begun: a date further on is about something else
        if len(text) <= 60 and (day := date_line_value(text)) is not None:
            return day
    return None


def instant_of(value: str) -> datetime | None:
    """An ISO 8601 or RFC 2822 time, in UTC; a time without a zone is taken to be in UTC."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _json_ld_dates(doc: HtmlElement) -> Iterator[str]:
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        yield from _walk_dates(data)


def _walk_dates(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        value = node.get("datePublished")
        if isinstance(value, str):
            yield value
        for child in node.values():
            yield from _walk_dates(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk_dates(child)


def _time_values(doc: HtmlElement) -> Iterator[str]:
    outside = "not(ancestor::aside or ancestor::nav or ancestor::footer)"
    for path in (
        f"//*[@itemprop='datePublished'][{outside}]",
        f"//article//time[@datetime][{outside}]",
        f"//main//time[@datetime][{outside}]",
        f"//time[@datetime][{outside}]",
    ):
        for element in doc.xpath(path):
            yield element.get("datetime") or element.get("content") or ""


def _hreflang_links(doc: HtmlElement) -> Iterator[tuple[str, str]]:
    for element in doc.xpath("//link[@hreflang][@href] | //a[@hreflang][@href]"):
        if element.tag == "link" and "alternate" not in (element.get("rel") or "").lower().split():
            continue
        yield element.get("hreflang", ""), element.get("href", "").strip()


def _http_equiv(doc: HtmlElement, name: str) -> str:
    for element in doc.iter("meta"):
        if (element.get("http-equiv") or "").lower() == name:
            return (element.get("content") or "").strip()
    return ""


def _absolute(href: str) -> bool:
    parts = urlsplit(href)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _same_url(a: str, b: str) -> bool:
    def key(u: str) -> tuple[str, str, str]:
        p = urlsplit(u)
        return p.netloc.lower(), p.path.rstrip("/"), p.query

    return key(a) == key(b)


def _text(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())
