"""Feeds over HTTP: ``/feeds/<language>/<region>.atom|.rss`` and ``/feeds.opml``.

Every request reads the one cached public view (:class:`PublicView`), so a
release appears at its ``publish_at`` and never before. The bytes come from
:func:`pressdispatch.render.feeds.build_feed`, the same builder the static
export uses, and are built once per feed and public version:

- ``ETag`` is a hash of the bytes (strong; ``"<hash>-gzip"`` for the gzipped
  representation), so it changes exactly when the document does.
  ``If-None-Match`` takes precedence over ``If-Modified-Since``; either can
  answer ``304 Not Modified`` with no body.
- ``Last-Modified`` is when this process first served these exact bytes. The
  feed's newest entry would not do: a release published with an earlier
  ``publish_at`` (a file added late) or withdrawn must still change it. After
  a restart it starts again from the restart, so a reader holding an older
  date gets the feed once more, never a wrong 304.
- ``Cache-Control: public, max-age=N`` never reaches past the next
  publication (``feeds.max_age`` is the ceiling).
- gzip when the client accepts it (``Vary: Accept-Encoding``); ``HEAD``.

Unknown languages and regions are 404. A topic is a free keyword: a topic no
release uses yet gives an empty feed (subscribe now, receive later); a topic
that is not a slug is 404.

``FEED_REQUESTS`` (200 and 304, not 404) and ``FEED_NOT_MODIFIED`` count
responses per kind (``atom``, ``rss``, ``opml``) for ``/metrics``.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import partial

from fastapi import APIRouter, HTTPException, Request, Response

from pressdispatch.render.feeds import (
    MEDIA_TYPES,
    FeedKind,
    FeedSite,
    FeedSpec,
    build_feed,
    build_opml,
)
from pressdispatch.vocabulary import normalize_topic
from pressdispatch.web.deps import WebState, web_state

__all__ = [
    "FEED_NOT_MODIFIED",
    "FEED_REQUESTS",
    "FEED_STATS",
    "FeedStats",
    "router",
]


router = APIRouter()

CACHE_BYTES = 64 * 1024 * 1024  # built feeds kept (identity + gzip), least recently used out
_OPML = "opml"  # the OPML's cache key


class FeedStats:
    """Responses per kind (``atom``, ``rss``, ``opml``): all of them (200 and 304), and the 304s."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()


FEED_STATS = FeedStats()
FEED_REQUESTS = FEED_STATS.requests
FEED_NOT_MODIFIED = FEED_STATS.not_modified


@dataclass(frozen=True, slots=True)
class _Built:
    """One feed's bytes for one public version, with its validators."""

    version: str
    body: bytes
    gzipped: bytes
    etag: str  # the hash of ``body``, unquoted
    last_modified: datetime

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped)


class _FeedCache:
    """Built feeds by spec, up to ``budget`` bytes, least recently used dropped first."""

    def __init__(self, site: FeedSite, budget: int = CACHE_BYTES) -> None:
        self.site = site
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[FeedSpec | str, _Built] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(
        self, key: FeedSpec | str, version: str, build: Callable[[], bytes], now: datetime
    ) -> _Built:
        """The cached bytes of ``key`` at ``version``, built now if they are not there."""
        built = self._items.get(key)
        if built is not None and built.version == version:
            self._items.move_to_end(key)
            return built
        body = build()  # synchronous: no other request runs until it is stored
        etag = hashlib.sha256(body).hexdigest()[:32]
        if built is not None and built.etag == etag:
            last_modified = built.last_modified  # a new public version, the same feed
        else:
            last_modified = now.astimezone(UTC).replace(microsecond=0)
            if built is not None and last_modified <= built.last_modified:
                # Changed within the second the old bytes were first served: a reader that
                # sends only If-Modified-Since must still see the change.
                last_modified = built.last_modified + timedelta(seconds=1)
        # mtime=0: the same bytes always give the same gzip stream.
        zipped = gzip.compress(body, compresslevel=6, mtime=0)
        fresh = _Built(version, body, zipped, etag, last_modified)
        if built is not None:
            self.used -= built.size
        self._items[key] = fresh
        self._items.move_to_end(key)
        self.used += fresh.size
        while self.used > self.budget and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self.used -= dropped.size
        return fresh


def _state(request: Request) -> tuple[WebState, _FeedCache]:
    web = web_state(request)
    cache: _FeedCache | None = getattr(request.app.state, "feed_cache", None)
    if cache is None:
        cache = _FeedCache(FeedSite.of(web.settings, web.runtime.regions, web.runtime.topics))
        request.app.state.feed_cache = cache
    return web, cache


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
    web, cache = _state(request)
    # The list of feeds depends on the settings only, never on the releases.
    built = cache.get(_OPML, "", partial(build_opml, cache.site), web.clock())
    max_age = int(web.settings.feeds.max_age.total_seconds())
    return _respond(request, built, "opml", max_age)


async def _feed(
    request: Request, language: str, region: str, kind: FeedKind, topic: str | None
) -> Response:
    web, cache = _state(request)
    if not cache.site.knows(language, region):
        raise HTTPException(status_code=404, detail="no such feed")
    try:
        wanted = normalize_topic(topic)
    except ValueError:
        raise HTTPException(status_code=404, detail="no such topic") from None
    spec = FeedSpec(language, region, kind, wanted)
    snapshot = await web.public.current()
    build = partial(build_feed, spec, snapshot.releases, cache.site)
    built = cache.get(spec, snapshot.version, build, web.clock())
    max_age = web.public.max_age(snapshot, web.settings.feeds.max_age)
    return _respond(request, built, kind, max_age)


def _respond(request: Request, built: _Built, kind: str, max_age: int) -> Response:
    FEED_REQUESTS[kind] += 1
    zipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    etag = f'"{built.etag}-gzip"' if zipped else f'"{built.etag}"'
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(built.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, built):
        FEED_NOT_MODIFIED[kind] += 1
        return Response(status_code=304, headers=headers)
    body = built.gzipped if zipped else built.body
    headers["Content-Type"] = MEDIA_TYPES[kind]
    headers["Content-Length"] = str(len(body))
    if zipped:
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        return Response(content=b"", headers=headers)
    return Response(content=body, headers=headers)


def _not_modified(request: Request, built: _Built) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        ours = {built.etag, f"{built.etag}-gzip"}
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
    return built.last_modified <= since


def _accepts_gzip(header: str) -> bool:
    """True if ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a q above zero)."""
    star: bool | None = None
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name in ("gzip", "x-gzip"):
            return quality > 0
        if name == "*":
            star = quality > 0
    return bool(star)


# --------------------------------------------------------------------------- #
# WebSub
# --------------------------------------------------------------------------- #
