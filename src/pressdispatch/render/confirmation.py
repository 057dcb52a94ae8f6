"""The email that asks a journalist to confirm a subscription made on the newsroom's site.

One message, text and HTML, in one language, rendered from
``templates/email/confirm.txt.j2`` and ``confirm.html.j2`` (a press office may
override them per language in ``templates/email/<lang>/``, as for releases).
The HTML template is autoescaped: what the visitor typed as name or outlet is
shown, never interpreted. Every header goes through ``render/headers.py``, which
refuses line breaks. Pure: no socket, no database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from pressdispatch.config import NewsroomSection
from pressdispatch.model import Subscriber, TopicNames
from pressdispatch.regions import RegionTree
from pressdispatch.render import headers, i18n
from pressdispatch.render.email import alternative, base64_lines, email_environment, render_template

__all__ = ["Confirmation", "newsroom_mail", "render_confirmation"]

TEMPLATES = ("confirm.txt.j2", "confirm.html.j2")


@dataclass(frozen=True, slots=True)
class Confirmation:
    message_id: str  # "<...@domain>", as in the Message-ID header
    subject: str
    message: bytes  # complete RFC 5322 message, CRLF line endings


def render_confirmation(
    newsroom: NewsroomSection,
    templates: Path,
    regions: RegionTree,
    signup: Subscriber,
    *,
    lang: str,
    url: str,
    date: datetime,
    topics: TopicNames | None = None,
) -> Confirmation:
    """The confirmation email for ``signup``, in ``lang``, with the link ``url``.

    ``topics`` names the chosen topics (without it, they are shown as slugs).
    """
    names = topics if topics is not None else TopicNames(default_language=lang)
    name = " ".join(signup.name.split())
    subject = i18n.gettext(
        lang, "Confirm your subscription to %(newsroom)s", newsroom=newsroom.name
    )
    greeting = (
        i18n.gettext(lang, "Dear %(name)s,", name=name)
        if name
        else i18n.gettext(lang, "Dear colleague,")
    )
    context: dict[str, Any] = {
        "newsroom": newsroom,
        "lang": lang,
        "dir": i18n.text_direction(lang),
        "colon": i18n.colon(lang),
        "comma": i18n.comma(lang),
        "subject": subject,
        "greeting": greeting,
        "email": signup.email,
        "name": name,
        "outlet": signup.outlet,
        "confirm_url": url,
        "languages": [i18n.language_name(code) for code in signup.languages],
        "regions": sorted(i18n.region_name(regions, slug, lang) for slug in signup.regions),
        "topics": [name for _, name in names.named(signup.topics, lang)],
    }
    env = email_environment(templates / "email", lang)
    text, html = (render_template(env, template, context) for template in TEMPLATES)

    to = headers.address("To", name, signup.email)
    message_id, message = newsroom_mail(
        newsroom, "confirm", to, subject, lang, date, text, html, reply_to=True
    )
    return Confirmation(message_id, subject, message)


def newsroom_mail(
    newsroom: NewsroomSection,
    kind: str,
    to: str,
    subject: str,
    lang: str,
    date: datetime,
    text: str,
    html: str,
    *,
    reply_to: bool = False,
) -> tuple[str, bytes]:
    """An automatic email from the newsroom to one person (a confirmation, a distribution
    report): its Message-ID (``<kind.random@domain>``) and its bytes, text and HTML.
    ``to`` is the To header line, already made; ``reply_to``: add the newsroom's."""
    message_id = f"<{kind}.{secrets.token_hex(16)}@{newsroom.domain}>"
    boundary = "=_pd_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]
    lines = [headers.mailbox("From", newsroom.from_)]
    if reply_to and newsroom.reply_to:
        lines.append(headers.mailbox("Reply-To", newsroom.reply_to))
    lines += [
        to,
        headers.encode("Subject", subject),
        headers.encode("Date", format_datetime(date.astimezone(newsroom.zone))),
        headers.encode("Message-ID", message_id),
        headers.encode("MIME-Version", "1.0"),
        headers.encode("Content-Language", lang),
        headers.encode("Auto-Submitted", "auto-generated"),
        headers.encode("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = headers.LINESEP.join(lines).encode("utf-8")
    return message_id, head + alternative(boundary, _base64(text), _base64(html))


def _base64(text: str) -> bytes:
    """``text`` as UTF-8 with CRLF line ends, in base64 lines of 76 characters."""
    return base64_lines(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))
