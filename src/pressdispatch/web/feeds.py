"""Feeds over HTTP: ``/feeds/<language>/<region>.atom|.rss`` and ``/feeds.opml``.

Every request reads the one cached public view (:class:`PublicView`), so a
release appears at its ``publish_at`` and never before. The bytes come from
:func:`pressdispatch.render.feeds.build_feed`, the same builder the static
export uses, and are built once per feed and public version:

- ``ETag`` comes from :class:`FeedIndex`: a hash of what the feed is made of
  (strong; ``"<hash>-gzip"`` for the gzipped representation), so it changes
  exactly when the document does, and is known **without building the feed**.
  Every feed key's ETag is kept in an index (small: a key and a hash each), so a
  conditional request is answered from it even when the bytes left the cache.
  ``If-None-Match`` takes precedence over ``If-Modified-Since``; either can
  answer ``304 Not Modified`` with no body.
- ``Last-Modified`` is when this process first saw the feed's current ETag. The
  feed's newest entry would not do: a release published with an earlier
  ``publish_at`` (a file added late) or withdrawn must still change it. After
  a restart it starts again from the restart, so a reader holding an older
  date gets the feed once more, never a wrong 304.
- ``Cache-Control: public, max-age=N`` never reaches past the next
  publication (``feeds.max_age`` is the ceiling); the OPML too, as a
  publication can add a country to it.
- gzip when the client accepts it (``Vary: Accept-Encoding``); ``HEAD``.
- A browser (``Accept`` that prefers ``text/html`` to every XML type it names) gets
  the page the feed's stylesheet makes of it (:func:`feed_page`), under the ETag
  ``"<hash>-html"``; a feed reader gets the feed (``Vary: Accept`` on both).

Unknown languages and regions are 404. A topic is a free keyword: a topic no
release uses yet gives an empty feed (subscribe now, receive later); a topic
that is not a slug is 404.

``FEED_REQUESTS`` (200 and 304, not 404) and ``FEED_NOT_MODIFIED`` count
responses per kind (``atom``, ``rss``, ``opml``) for ``/metrics``;
``FEED_BUILDS`` counts the documents built.
"""

from __future__ import annotations

import gzip
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import APIRouter, HTTPException, Request, Response

from pressdispatch.render.feeds import (
    MEDIA_TYPES,
    FeedIndex,
    FeedKind,
    FeedSite,
    FeedSpec,
    feed_language,
    site_fingerprint,
)
from pressdispatch.vocabulary import normalize_topic
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.feedpages import feed_page
from pressdispatch.web.public import Snapshot

__all__ = [
    "FEED_BUILDS",
    "FEED_NOT_MODIFIED",
    "FEED_REQUESTS",
    "FEED_STATS",
    "FeedStats",
    "router",
]


router = APIRouter()

CACHE_BYTES = 64 * 1024 * 1024  # built feeds kept (identity + gzip), least recently used out
#: Feed keys whose ETag is kept: every feed of a newsroom many times over, as topics are
#: free keywords (about 200 bytes each, least recently used out).
INDEX_KEYS = 50_000
_OPML = "opml"  # the OPML's key


class FeedStats:
    """Responses per kind (``atom``, ``rss``, ``opml``): all of them (200 and 304), the 304s,
    and the documents built."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.built: Counter[str] = Counter()


FEED_STATS = FeedStats()
FEED_REQUESTS = FEED_STATS.requests
FEED_NOT_MODIFIED = FEED_STATS.not_modified
FEED_BUILDS = FEED_STATS.built


@dataclass(frozen=True, slots=True)
class _Validators:
    """One feed key's validators at one public version."""

    version: str
    etag: str  # unquoted
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class _Built:
    """One feed's bytes, for the ETag they were built under."""

    etag: str
    body: bytes
    gzipped: bytes

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped)


Key = FeedSpec | str | tuple[str, FeedSpec]
_PAGE = "page"  # with a spec: the page a browser gets for that feed
_HTML = "text/html; charset=utf-8"
_XML_TYPES = frozenset(
    {"application/atom+xml", "application/rss+xml", "application/xml", "text/xml"}
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class _FeedCache:
    """ETags of feed keys (up to ``keys``), and built feeds (up to ``budget`` bytes).

    Both drop the least recently used first. The ETag of a key is computed once
    per public version without building (``etag_of``); the bytes only for a 200.
    """

    def __init__(self, budget: int = CACHE_BYTES, keys: int = INDEX_KEYS) -> None:
        self.budget = budget
        self.keys = keys
        self.used = 0
        self._index: OrderedDict[Key, _Validators] = OrderedDict()
        self._bytes: OrderedDict[Key, _Built] = OrderedDict()

    def __len__(self) -> int:
        return len(self._bytes)

    def validators(
        self, key: Key, version: str, etag_of: Callable[[], str], now: datetime
    ) -> _Validators:
        """The ETag and Last-Modified of ``key`` at ``version``."""
        known = self._index.get(key)
        if known is not None and known.version == version:
            self._index.move_to_end(key)
            return known
        etag = etag_of()
        if known is not None and known.etag == etag:
            last_modified = known.last_modified  # a new public version, the same feed
        else:
            last_modified = now.astimezone(UTC).replace(microsecond=0)
            if known is not None and last_modified <= known.last_modified:
                # Changed within the second the old ETag was first served: a reader that
                # sends only If-Modified-Since must still see the change.
                last_modified = known.last_modified + timedelta(seconds=1)
        fresh = self._index[key] = _Validators(version, etag, last_modified)
        self._index.move_to_end(key)
        while len(self._index) > self.keys:
            self._index.popitem(last=False)
        return fresh

    def body(self, key: Key, etag: str, build: Callable[[], bytes]) -> _Built:
        """The bytes of ``key`` for ``etag``, built now if they are not there."""
        built = self._bytes.get(key)
        if built is not None and built.etag == etag:
            self._bytes.move_to_end(key)
            return built
        body = build()  # synchronous: no other request runs until it is stored
        # mtime=0: the same bytes always give the same gzip stream.
        fresh = _Built(etag, body, gzip.compress(body, compresslevel=6, mtime=0))
        if built is not None:
            self.used -= built.size
        self._bytes[key] = fresh
        self._bytes.move_to_end(key)
        self.used += fresh.size
        while self.used > self.budget and len(self._bytes) > 1:
            _, dropped = self._bytes.popitem(last=False)
            self.used -= dropped.size
        return fresh


class _Feeds:
    """The app's feed state: the site, its fingerprint, the index of the current version."""

    def __init__(self, site: FeedSite, fingerprint: str | None = None) -> None:
        self.site = site
        self.fingerprint = site_fingerprint(site) if fingerprint is None else fingerprint
        self.cache = _FeedCache()
        self._index: FeedIndex | None = None
        self._version = ""

    def index(self, snapshot: Snapshot) -> FeedIndex:
        if self._index is None or self._version != snapshot.version:
            self._index = FeedIndex(self.site, snapshot.releases, self.fingerprint)
            self._version = snapshot.version
        return self._index


def _state(request: Request) -> tuple[WebState, _Feeds]:
    web = web_state(request)
    feeds: _Feeds | None = getattr(request.app.state, "feeds", None)
    if feeds is None:
        feeds = _Feeds(FeedSite.of(web.settings, web.runtime.regions, web.runtime.topics))
        request.app.state.feeds = feeds
    return web, feeds


@router.api_route(
    "/feeds/{language}/{region}.atom", methods=["GET", "HEAD"], include_in_schema=False
)
async def atom_feed(
    request: Request, language: str, region: str, topic: str | None = None
) -> Response:
    return await _feed(request, language, region, "atom", topic)


@router.api_route(
    "/feeds/{language}/{region}.rss", methods=["GET", "HEAD"], include_in_schema=False
)
async def rss_feed(
    request: Request, language: str, region: str, topic: str | None = None
) -> Response:
    return await _feed(request, language, region, "rss", topic)


@router.api_route("/feeds.opml", methods=["GET", "HEAD"], include_in_schema=False)
async def opml(request: Request) -> Response:
    web, feeds = _state(request)
    snapshot = await web.public.current()
    index = feeds.index(snapshot)
    found = feeds.cache.validators(_OPML, snapshot.version, index.opml_etag, web.clock())
    max_age = web.public.max_age(snapshot, web.settings.feeds.max_age)
    return _respond(request, feeds.cache, _OPML, found, index.opml, "opml", max_age)


async def _feed(
    request: Request, language: str, region: str, kind: FeedKind, topic: str | None
) -> Response:
    web, feeds = _state(request)
    if not feeds.site.knows(language, region):
        raise HTTPException(status_code=404, detail="no such feed")
    try:
        wanted = normalize_topic(topic)
    except ValueError:
        raise HTTPException(status_code=404, detail="no such topic") from None
    spec = FeedSpec(language, region, kind, wanted)
    snapshot = await web.public.current()
    index = feeds.index(snapshot)
    found = feeds.cache.validators(spec, snapshot.version, lambda: index.etag(spec), web.clock())
    max_age = web.public.max_age(snapshot, web.settings.feeds.max_age)
    if _wants_page(request.headers.get("accept", "")):

        def page() -> bytes:
            text = feed_language(spec, feeds.site.newsroom)
            return feed_page(web.settings, text, index.build(spec))

        return _respond(request, feeds.cache, (_PAGE, spec), found, page, kind, max_age, page=True)
    return _respond(request, feeds.cache, spec, found, lambda: index.build(spec), kind, max_age)


def _respond(
    request: Request,
    cache: _FeedCache,
    key: Key,
    found: _Validators,
    build: Callable[[], bytes],
    kind: str,
    max_age: int,
    *,
    page: bool = False,
) -> Response:
    FEED_REQUESTS[kind] += 1
    zipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    tag = f"{found.etag}-html" if page else found.etag
    headers = {
        "ETag": f'"{tag}-gzip"' if zipped else f'"{tag}"',
        "Last-Modified": format_datetime(found.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding" if kind == _OPML else "Accept, Accept-Encoding",
    }
    if _not_modified(request, tag, found.last_modified):
        FEED_NOT_MODIFIED[kind] += 1
        return Response(status_code=304, headers=headers)

    def counted() -> bytes:
        FEED_BUILDS[kind] += 1
        return build()

    built = cache.body(key, found.etag, counted)
    body = built.gzipped if zipped else built.body
    headers["Content-Type"] = _HTML if page else MEDIA_TYPES[kind]
    headers["Content-Length"] = str(len(body))
    if zipped:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        return Response(content=b"", headers=headers)
    return Response(content=body, headers=headers)


def _not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        ours = {etag, f"{etag}-gzip"}
        for candidate in if_none_match.split(","):
            tag = candidate.strip()
            if tag == "*" or tag.removeprefix("W/").strip('"') in ours:  # weak comparison
                return True
        return False
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified <= since


def _wants_page(accept: str) -> bool:
    """A browser: ``Accept`` names ``text/html`` with a higher quality than any XML type.

    Browsers send ``text/html,…,application/xml;q=0.9``; feed readers name the feed
    types, or ``*/*``, or nothing; one that also names ``text/html`` as high as a
    feed type still gets the feed.
    """
    html = xml = 0.0
    for part in accept.split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if name not in _HTML_TYPES and name not in _XML_TYPES:
            continue
        quality = _quality(params)
        if name in _HTML_TYPES:
            html = max(html, quality)
        else:
            xml = max(xml, quality)
    return html > xml


def _quality(params: str) -> float:
    """The ``q`` of one media range's parameters (1 when absent, 0 when unreadable)."""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def _accepts_gzip(header: str) -> bool:
    """True if ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a q above zero)."""
    star: bool | None = None
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        quality = _quality(params)
        if name in ("gzip", "x-gzip"):
            return quality > 0
        if name == "*":
            star = quality > 0
    return bool(star)


# --------------------------------------------------------------------------- #
# WebSub
# --------------------------------------------------------------------------- #
