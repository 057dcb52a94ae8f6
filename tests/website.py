# ruff: noqa: RUF001 - the en dash of a dateline is meant
"""A press office's website for the importer's tests: http.server on 127.0.0.1, serving
pages the tests build, with the site's chrome around each article."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Resource:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str = ""  # for a redirect
    etag: str = ""


@dataclass
class Site:
    base: str
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, html: str, **extra: object) -> str:
        self.resources[path] = Resource(html.encode(), **extra)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@contextmanager
def website() -> Iterator[Site]:
    site = Site("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((self.path, dict(self.headers.items())))
            found = site.resources.get(self.path)
            if found is None:
                self.send_error(404, "Not Found")
                return
            if found.etag and self.headers.get("If-None-Match") == found.etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(found.status)
            if found.location:
                self.send_header("Location", found.location)
            self.send_header("Content-Type", found.content_type)
            self.send_header("Content-Length", str(len(found.body)))
            if found.etag:
                self.send_header("ETag", found.etag)
            self.end_headers()
            self.wfile.write(found.body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def cms_page(
    *,
    lang: str,
    title: str,
    paragraphs: list[str],
    dateline: str = "",
    alternates: dict[str, str] | None = None,
    contact_html: str = "",
    published: str = "2026-11-20T09:00:00+01:00",
    site_name: str = "Northwind Relief Agency",
) -> str:
    """An article page as a CMS renders it: menus, search, breadcrumb, related news,
    footer and cookie banner around the article."""
    links = "".join(
        f'<link rel="alternate" hreflang="{code}" href="{href}">'
        for code, href in (alternates or {}).items()
    )
    first, *rest = paragraphs
    lead = f"{dateline} – {first}" if dateline else first
    body = "".join(f"<p>{p}</p>" for p in rest)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title} | {site_name}</title>
<meta property="og:title" content="{title} | {site_name}">
<meta property="og:site_name" content="{site_name}">
<meta property="article:published_time" content="{published}">
{links}
</head>
<body>
<div class="cookie">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<header><nav><ul>
<li><a href="/">Home page of the agency</a></li>
<li><a href="/about">Who we are and what we do</a></li>
<li><a href="/news">Newsroom and media centre</a></li>
<li><a href="/jobs">Careers with us</a></li>
</ul></nav>
<form action="/search"><input name="q" placeholder="Search the website">
<button>Search</button></form>
</header>
<nav class="breadcrumb"><a href="/">Home</a> &gt; <a href="/news">News</a></nav>
<main><article>
<h1>{title}</h1>
<time datetime="{published}">20.11.2026</time>
<p>{lead}</p>
{body}
{contact_html}
</article>
<aside><h2>Related news</h2><ul>
<li><a href="/news/1">Another unrelated story about funding rounds in the region</a></li>
<li><a href="/news/2">Annual report of the agency published for stakeholders</a></li>
</ul></aside></main>
<footer><p>Copyright 2026 Northwind Relief Agency. All rights reserved. Privacy policy.
Terms of use. Follow us on social networks.</p></footer>
</body></html>
"""
