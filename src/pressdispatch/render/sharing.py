"""What a release page tells the sites it is shared on and the search engines. Pure.

- ``<meta name="description">``: the version's summary, else the start of its text.
- OpenGraph (``og:*``, ``article:published_time``) and Twitter card tags, for the
  preview social networks and chat apps show of a link.
- JSON-LD, a schema.org ``NewsArticle`` whose publisher is the press office as an
  ``Organization``, with the release's media contacts as its ``ContactPoint``\\ s.

JSON-LD sits inside ``<script>``, where HTML escaping does not apply and ``</script>``
in a title would end the element: :func:`json_ld` writes ``<``, ``>`` and ``&`` as
JSON escapes (``\\u003c``…), which every JSON parser reads back as the same text.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import nh3

from pressdispatch.config import NewsroomSection
from pressdispatch.model import Release, Translation
from pressdispatch.render import i18n
from pressdispatch.render.gallery import WEB_WIDTHS, derivative_url, public_base

__all__ = ["DESCRIPTION_LENGTH", "description", "hero_image", "json_ld", "sharing_parts"]

#: The longest description, in characters; previews cut longer ones anyway.
DESCRIPTION_LENGTH = 200

_SPACES = re.compile(r"\s+")
_UNSAFE_IN_SCRIPT = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def hero_image(release: Release, base_url: str) -> str | None:
    """The absolute URL of the release's hero picture (its 1200 px JPEG copy), for
    ``og:image``, the Twitter card's large image and the JSON-LD ``image``; None without
    one. Only public pages call it: before ``publish_at`` the address answers 404."""
    hero = release.hero
    if hero is None:
        return None
    return derivative_url(public_base(base_url, release.id), hero, WEB_WIDTHS[0])


def description(t: Translation) -> str:
    """The summary, else the body's text cut at a word under :data:`DESCRIPTION_LENGTH`."""
    if t.summary:
        return t.summary
    text = _SPACES.sub(" ", html.unescape(nh3.clean(t.body_html, tags=set()))).strip()
    if len(text) <= DESCRIPTION_LENGTH:
        return text or t.title
    cut = text[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def sharing_parts(
    release: Release,
    lang: str,
    newsroom: NewsroomSection,
    canonical: str,
    image: str | None = None,
) -> dict[str, Any]:
    """``description``, ``meta`` (``(attribute, key, content)`` in page order) and
    ``json_ld`` of ``release``'s page in ``lang`` at ``canonical``."""
    t = release.translations[lang]
    summary = description(t)
    published = release.publish_at.isoformat()
    meta: list[tuple[str, str, str]] = [
        ("property", "og:type", "article"),
        ("property", "og:site_name", newsroom.name),
        ("property", "og:title", t.title),
        ("property", "og:description", summary),
        ("property", "og:url", canonical),
        ("property", "og:locale", i18n.og_locale(lang)),
        *(
            ("property", "og:locale:alternate", i18n.og_locale(other))
            for other in release.translations
            if other != lang
        ),
    ]
    if image:
        meta.append(("property", "og:image", image))
    meta += [
        ("property", "article:published_time", published),
        ("name", "twitter:card", "summary_large_image" if image else "summary"),
        ("name", "twitter:title", t.title),
        ("name", "twitter:description", summary),
    ]
    if image:
        meta.append(("name", "twitter:image", image))
    return {
        "description": summary,
        "meta": meta,
        "json_ld": json_ld(_news_article(release, t, newsroom, canonical, summary, image)),
    }


def _news_article(
    release: Release,
    t: Translation,
    newsroom: NewsroomSection,
    canonical: str,
    summary: str,
    image: str | None,
) -> dict[str, Any]:
    press_office = {"@type": "Organization", "name": newsroom.name, "url": f"{newsroom.base_url}/"}
    contacts = [
        {
            key: value
            for key, value in (
                ("@type", "ContactPoint"),
                ("name", contact.name),
                ("contactType", contact.role or "media relations"),
                ("telephone", contact.phone),
                ("email", contact.email),
            )
            if value
        }
        for contact in release.contacts
    ]
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": t.title,
        "description": summary,
        "inLanguage": t.language,
        "datePublished": release.publish_at.isoformat(),
        "url": canonical,
        "mainEntityOfPage": canonical,
        "author": press_office,
        "publisher": press_office | ({"contactPoint": contacts} if contacts else {}),
    }
    if t.dateline:
        article["dateline"] = t.dateline
    if image:
        article["image"] = [image]
    return article


def json_ld(data: object) -> str:
    """``data`` as JSON that can sit inside ``<script type="application/ld+json">`` as is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_UNSAFE_IN_SCRIPT)
