"""The newsroom's page templates (templates/web/, templates/admin/) in a language, and the
XSL stylesheet of the feeds, which is one of them.

The web app renders its pages with these; `pressdispatch feeds --out` writes the
stylesheet beside the feeds, without loading the web app.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jinja2

from pressdispatch.config import Settings
from pressdispatch.render import i18n, snippets

__all__ = ["page_environment", "stylesheet"]


@functools.cache
def page_environment(folder: Path, lang: str) -> jinja2.Environment:
    """Page templates in ``lang``: ``web/<lang>/`` overrides first, then ``web/``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([folder / lang, folder]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.jinja_install(env, lang)
    env.filters["marked"] = snippets.marked
    return env


def stylesheet(settings: Settings, lang: str) -> bytes:
    """The XSL of the feeds whose text is in ``lang`` (templates/web/feed.xsl.j2), named by
    each feed (render/feeds.py ``stylesheet_href``): opened in a browser, a feed reads as
    a page that says to copy its address into a feed reader."""
    env = page_environment(settings.paths.templates / "web", lang)
    path = urlsplit(settings.newsroom.base_url).path.rstrip("/")
    values = {
        "lang": lang,
        "dir": i18n.text_direction(lang),
        "feeds_page": f"{path}/feeds?{urlencode({'lang': lang})}",
    }
    return env.get_template("feed.xsl.j2").render(values).encode() + b"\n"
