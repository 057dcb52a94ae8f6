"""Where a release's media are on the web, and what pages and emails show of them. Pure.

Every address hangs under a ``base``: the release's public address
(``/releases/<id>``) or a cleared journalist's own link (``/embargoed/<token>``), so an
embargoed copy's media are as private as its text:

- ``<base>/media/<file>``: the original, as the press office gave it;
- ``<base>/media/<file>/<width>.<jpg|webp>``: a copy at most ``width`` pixels wide
  (600 for emails, 1200 and 2400 for pages), made by render/images.py;
- ``<base>/media/all.zip``: every original, and a CREDITS.txt.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pressdispatch.content.media import PDF
from pressdispatch.model import Media, Release
from pressdispatch.sizes import format_size

__all__ = [
    "EMAIL_WIDTH",
    "FORMATS",
    "WEB_WIDTHS",
    "WIDTHS",
    "ZIP",
    "copy_width",
    "credits_text",
    "derivative_url",
    "gallery",
    "media_url",
    "public_base",
    "zip_url",
]

EMAIL_WIDTH = 600
WEB_WIDTHS = (1200, 2400)
WIDTHS = (EMAIL_WIDTH, *WEB_WIDTHS)
FORMATS = {"jpg": "image/jpeg", "webp": "image/webp"}  # extension → type of a copy
ZIP = "all.zip"  # never a media file's name: a zip is not a type we publish
_FORMAT_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", PDF: "PDF"}


def public_base(base_url: str, release_id: str) -> str:
    return f"{base_url}/releases/{release_id}"


def media_url(base: str, item: Media) -> str:
    return f"{base}/media/{quote(item.name, safe='')}"


def derivative_url(base: str, item: Media, width: int, ext: str = "jpg") -> str:
    return f"{media_url(base, item)}/{width}.{ext}"


def zip_url(base: str) -> str:
    return f"{base}/media/{ZIP}"


def copy_width(item: Media, width: int) -> int:
    """How wide the copy asked for at ``width`` is: never wider than the original."""
    return min(width, item.width) if item.width else width


def gallery(release: Release, lang: str, base: str) -> list[dict[str, Any]]:
    """Each medium of ``release`` as a page or an email shows it in ``lang``, hero first."""
    return [_entry(release, item, lang, base) for item in release.media]


def _entry(release: Release, item: Media, lang: str, base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": item.name,
        "url": media_url(base, item),
        "is_image": item.is_image,
        "hero": item.hero,
        "alt": item.alt.get(lang, ""),
        "caption": item.caption_in(lang, release.original_language),
        "credit": item.credit,
        "license": item.license,
        "format": _FORMAT_NAMES.get(item.mime, item.mime),
        "size": format_size(item.size),
        "dimensions": f"{item.width} \u00d7 {item.height}" if item.is_image else "",
    }
    if item.is_image:
        widths = sorted({copy_width(item, width): width for width in WEB_WIDTHS}.items())

        def srcset(ext: str) -> str:
            return ", ".join(f"{derivative_url(base, item, w, ext)} {real}w" for real, w in widths)

        shown = copy_width(item, WEB_WIDTHS[0])
        email = copy_width(item, EMAIL_WIDTH)
        entry |= {
            "src": derivative_url(base, item, WEB_WIDTHS[0]),
            "srcset": srcset("jpg"),
            "srcset_webp": srcset("webp"),
            "width": shown,
            "height": round(item.height * shown / item.width) if item.width else 0,
            "email_src": derivative_url(base, item, EMAIL_WIDTH),
            "email_width": email,
            "email_height": round(item.height * email / item.width) if item.width else 0,
        }
    return entry


def credits_text(release: Release) -> str:
    """CREDITS.txt of the zip: each file, its caption (original language), credit, licence."""
    lines = [release.translations[release.original_language].title, ""]
    for item in release.media:
        lines.append(item.name)
        caption = item.caption_in(release.original_language, release.original_language)
        lines.extend(f"  {text}" for text in (caption, item.credit, item.license) if text)
        lines.append("")
    return "\n".join(lines)
