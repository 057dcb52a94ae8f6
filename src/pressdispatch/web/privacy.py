"""The privacy statement of the subscription form and the preferences page, and its version.

The press office writes it in ``templates/web/privacy.<lang>.md``, one file per
language (Markdown, rendered and sanitised as a release body is: raw HTML is cleaned,
never trusted). Without a file for the page's language, a default text in that
language says what is kept: the address, name and outlet, the choices, and when
the journalist agreed.

Its *version* is ``sha256:`` and the first 16 hex digits of the SHA-256 of the text
as written (the file's bytes, or the default text in that language): any change to
what is shown is a new version, with nothing to keep up to date by hand. The form
sends back the version it showed; the store records it with the time of consent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from pressdispatch.render import i18n
from pressdispatch.render.markdown import render_markdown
from pressdispatch.web.deps import WebState

__all__ = ["FIELD", "Statement", "agreed", "current_statement", "privacy_statement"]

#: The form field that carries the version of the statement the form showed.
FIELD = "privacy"
DEFAULT = (
    "%(newsroom)s keeps your email address, the name and outlet you give, the languages, "
    "regions and topics you choose, and when you agreed to this statement. They are used "
    "only to send you the press releases you asked for. You can change your choices or "
    "unsubscribe at any time with the links in every email; after you unsubscribe, your "
    "address is kept only so that nothing more is sent to it."
)
CHANGED = (
    "The privacy statement changed while you were filling in the form. "
    "Please read it again, then send the form."
)
_LANGUAGE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True, slots=True)
class Statement:
    html: Markup  # safe to put in a page as it is
    version: str  # "sha256:0123456789abcdef"


def privacy_statement(templates: Path, lang: str, newsroom: str) -> Statement:
    """The statement for a page in ``lang``; ``templates`` is the newsroom's folder."""
    text = _written(templates, lang)
    if text is None:
        text = i18n.gettext(lang, DEFAULT, newsroom=newsroom)
        html = Markup("<p>%s</p>") % escape(text)
    else:
        html = Markup(render_markdown(text)[0])  # noqa: S704 - sanitised by render_markdown
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Statement(html, f"sha256:{digest[:16]}")


def current_statement(state: WebState, lang: str) -> Statement:
    """The newsroom's statement for a page in ``lang``."""
    settings = state.settings
    return privacy_statement(settings.paths.templates, lang, settings.newsroom.name)


def agreed(state: WebState, fields: Sequence[tuple[str, str]], lang: str) -> tuple[str, str]:
    """What a form sent says of the statement: (the version agreed to, an error).

    The version is the current one when the form showed it, else "" (a form without
    the field: nothing agreed); the error, localised, when it showed an older one.
    """
    shown = next((value for name, value in fields if name == FIELD), None)
    current = current_statement(state, lang).version
    if shown is None:
        return "", ""
    if shown != current:
        return "", i18n.gettext(lang, CHANGED)
    return current, ""


def _written(templates: Path, lang: str) -> str | None:
    """The press office's own statement in ``lang``, if there is one."""
    if not _LANGUAGE.fullmatch(lang):  # never a path of its own
        return None
    try:
        return (templates / "web" / f"privacy.{lang}.md").read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None
