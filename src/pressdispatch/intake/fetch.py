"""Fetching one page of the press office's website, with the limits a scheduled job needs.

A timeout, a size cap (5 MB by default, counted as the body streams in, whatever
Content-Length says), redirects followed only within the same site, and one clear
error per failure: the name does not resolve, the server cannot be reached or is
too slow, it answers 404, it is not a web page, it is too big. The text is decoded
by the charset the server or the page declares.
"""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import httpx

from pressdispatch.errors import PressDispatchError

__all__ = ["MAX_BYTES", "FetchError", "Fetched", "client", "fetch", "same_site"]

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = 20.0
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_USER_AGENT = "pressdispatch (press-release importer; +https://pressdispatch.example/)"


class FetchError(PressDispatchError):
    """A page could not be fetched; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    text: str
    raw: bytes
    content_type: str
    fetched_at: datetime
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False  # 304: the caller's copy is still current

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on the same site: the same host, ``www.`` or not."""
    host_a, host_b = (urlsplit(u).hostname or "" for u in (a, b))
    return bool(host_a) and host_a.removeprefix("www.") == host_b.removeprefix("www.")


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    now: datetime,
    *,
    max_bytes: int = MAX_BYTES,
    feed: bool = False,
    etag: str = "",
    last_modified: str = "",
) -> Fetched:
    """The page at ``url`` (or, with ``feed``, a feed or sitemap); FetchError otherwise."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http:// and https:// addresses can be fetched")
    accepted = _PAGE_TYPES + (_FEED_TYPES if feed else ())
    headers = {"If-None-Match": etag} if etag else {}
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with client.stream("GET", current, headers=headers) as response:
                if response.has_redirect_location:  # not a 304
                    target = urljoin(current, response.headers.get("location", ""))
                    if not same_site(url, target):
                        raise FetchError(f"{url}: redirected to another site ({target})")
                    current = target
                    continue
                if response.status_code == 304:
                    return Fetched(current, "", b"", "", now, etag, last_modified, True)
                if response.status_code >= 400:
                    raise FetchError(f"{current}: the server answered {_status(response)}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if content_type.lower() not in accepted:
                    what = "a web page" if not feed else "a feed, a sitemap or a web page"
                    shown = content_type or "no Content-Type"
                    raise FetchError(f"{current}: not {what} ({shown})")
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    limit = _size(max_bytes)
                    raise FetchError(f"{current}: too big ({_size(declared)}, at most {limit})")
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw.extend(chunk)
                    if len(raw) > max_bytes:
                        raise FetchError(f"{current}: too big (over {_size(max_bytes)})")
                body = bytes(raw)
                return Fetched(
                    current,
                    _decode(body, response.charset_encoding),
                    body,
                    content_type,
                    now,
                    response.headers.get("etag", ""),
                    response.headers.get("last-modified", ""),
                )
        except httpx.TimeoutException:
            raise FetchError(f"{current}: no answer within {TIMEOUT:.0f} s") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"{current}: {_unreachable(exc)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{current}: {exc or type(exc).__name__}") from None
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def client() -> httpx.AsyncClient:
    """The HTTP client the importer and the poller share: redirects are followed here."""
    return httpx.AsyncClient(
        timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": _USER_AGENT}
    )


def _decode(body: bytes, declared: str | None) -> str:
    """The page's text: by the charset the server declares, else the page's own <meta>."""
    for charset in (declared, _meta_charset(body), "utf-8"):
        if not charset:
            continue
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", "replace")


def _meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii") if found else None


def _status(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}".strip()


def _unreachable(exc: httpx.ConnectError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "the name does not resolve (DNS)"
        cause = cause.__cause__ or cause.__context__
    return f"cannot connect ({exc})"


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
