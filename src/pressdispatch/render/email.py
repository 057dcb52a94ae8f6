"""Release → RFC 5322 message bytes, rendered once per variant, personalised per recipient.

Rendering (Jinja2, Markdown, CSS inlining, translations) happens once per
(release, language, tier). What differs per recipient (To, Message-ID, the
greeting and the signed links) is spliced into the prepared text at marked
places and the parts are encoded: a string join and a quoted-printable pass.

In an embargoed copy the links to the release (``web_url``, ``alternates[].url``) are
slots too: each journalist gets their own signed ``/embargoed/<token>`` links, which
open the release before its public page exists (web/embargoed.py).
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parseaddr
from functools import cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import css_inline
import jinja2
from markupsafe import Markup

from pressdispatch.config import NewsroomSection
from pressdispatch.errors import NotFound, RenderError
from pressdispatch.model import Release, Subscriber, Tier, TopicNames, Variant
from pressdispatch.regions import RegionTree
from pressdispatch.render import gallery, headers, i18n
from pressdispatch.render.markdown import plain_text
from pressdispatch.render.testcopy import mark_as_test
from pressdispatch.tokens import EmbargoedLink, Signer, sign_embargoed

_SLOT = re.compile(r"@@pd-([a-z]+(?:-[a-z]+)?)@@")
SLOTS = ("greeting", "email", "unsubscribe", "preferences")  # and link-<lang> when embargoed
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"


def slot(name: str) -> Markup:
    """The marker a template receives in place of a per-recipient value."""
    return Markup(f"@@pd-{name}@@")  # noqa: S704 - our own constant; values are escaped on fill


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str = ""

    @classmethod
    def of(cls, subscriber: Subscriber) -> Recipient:
        return cls(subscriber.email, subscriber.name)


# Whom a preview or a sample message is addressed to, where no journalist is.
SAMPLE_RECIPIENT = Recipient("journalist@example.org", "Alex Example")


def release_url(base_url: str, release_id: str, language: str) -> str:
    return f"{base_url}/releases/{release_id}/{language}"


def embargoed_url(base_url: str, token: str) -> str:
    return f"{base_url}/embargoed/{token}"


def _link_slot(language: str) -> str:
    """The slot of one journalist's signed link to the ``language`` version."""
    return f"link-{language}"


class _Template:
    """A rendered text split at its slots, its long fixed runs base64-encoded ahead of time.

    Base64 turns each 3 bytes into 4 characters, so a run can be encoded on its
    own when the bytes before it come to a multiple of 3. What comes before
    depends on the recipient (a name in the greeting), so each long run is kept
    encoded three ways: starting at its byte 0, 1 or 2, the skipped bytes going
    with what precedes it. A recipient then costs the encoding of the short
    personal pieces only. MIME only asks for lines of at most 76 characters, so
    the joins may leave shorter lines; decoders read the same bytes.
    """

    __slots__ = ("parts", "runs")

    def __init__(self, text: str) -> None:
        self.parts = _SLOT.split(text.replace("\r\n", "\n"))
        self.runs = [_Run(part.encode("utf-8")) for part in self.parts[0::2]]

    def fill(self, values: Mapping[str, str]) -> str:
        parts = self.parts
        return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))

    def base64(self, values: Mapping[str, str]) -> bytes:
        """``fill(values)`` as UTF-8, base64-encoded in lines of at most 76 characters."""
        blocks: list[bytes] = []
        pending = b""  # bytes not yet encoded
        for i, part in enumerate(self.parts):
            if i % 2:
                pending += values[part].encode("utf-8")
                continue
            run = self.runs[i // 2]
            if run.encoded is None:
                pending += run.raw
                continue
            skip = -len(pending) % 3
            blocks.append(base64_lines(pending + run.raw[:skip]))
            blocks.append(run.encoded[skip])
            pending = run.tails[skip]
        blocks.append(base64_lines(pending))
        return b"\r\n".join(block for block in blocks if block)


class _Run:
    """A fixed run of a template, encoded from its byte 0, 1 and 2 when it is long."""

    __slots__ = ("encoded", "raw", "tails")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.encoded: list[bytes] | None = None
        self.tails: list[bytes] = []
        if len(raw) < _PRECODE_FROM:
            return
        self.encoded = []
        for skip in range(3):
            end = skip + (len(raw) - skip) // 3 * 3
            self.encoded.append(base64_lines(raw[skip:end]))
            self.tails.append(raw[end:])


_PRECODE_FROM = 240  # bytes; shorter runs are cheaper to encode with the personal pieces


def alternative(boundary: str, text: bytes, html: bytes) -> bytes:
    """The end of the header block and a multipart/alternative body of two base64 parts."""
    b = boundary.encode("ascii")
    return b"".join(
        (
            b"\r\n\r\n--",
            b,
            b'\r\nContent-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            text,
            b"\r\n--",
            b,
            b'\r\nContent-Type: text/html; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            html,
            b"\r\n--",
            b,
            b"--\r\n",
        )
    )


def base64_lines(data: bytes) -> bytes:
    """``data`` in base64, in CRLF-separated lines of 76 characters."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)])


class PreparedMessage:
    """One variant, ready to be personalised for each recipient."""

    def __init__(
        self,
        *,
        release: Release,
        variant: Variant,
        newsroom: NewsroomSection,
        subject: str,
        text: str,
        html: str,
        greeting: Callable[[str], str],
        signer: Signer,
    ) -> None:
        self.release_id = release.id
        self.variant = variant
        self.subject = subject
        self._newsroom = newsroom
        self._signer = signer
        self._greeting = greeting
        self._text = _Template(text)
        self._html = _Template(html)
        self._zone = newsroom.zone
        self._domain = newsroom.domain  # parsed from the From address: once, not per message
        self._last_date = (-1, "")
        self._default_date = release.send_at(variant.tier)
        self._publish_at = release.publish_at
        # An embargoed copy links to the release through each journalist's own links.
        embargoed = variant.tier is Tier.EMBARGOED
        self._linked = tuple(release.translations) if embargoed else ()
        boundary = hashlib.sha256(f"{release.id}/{variant.language}/{variant.tier}".encode())
        self._boundary = f"=_pd_{boundary.hexdigest()[:24]}"
        unsubscribe_to = newsroom.unsubscribe_email or newsroom.reply_to or newsroom.from_
        self._mailto = parseaddr(headers.safe("List-Unsubscribe", unsubscribe_to))[1]
        self._head = self._common_headers(release, variant, newsroom, subject)

    def _common_headers(
        self, release: Release, variant: Variant, newsroom: NewsroomSection, subject: str
    ) -> bytes:
        lines = [headers.mailbox("From", newsroom.from_)]
        if newsroom.reply_to:
            lines.append(headers.mailbox("Reply-To", newsroom.reply_to))
        lines += [
            headers.encode("Subject", subject),
            "MIME-Version: 1.0",
            f"Content-Language: {variant.language}",
            headers.encode("List-Id", f"{newsroom.name} <press.{newsroom.domain}>"),
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Precedence: bulk",
            "Auto-Submitted: auto-generated",
            f"X-PressDispatch-Release: {release.id}",
            f"X-PressDispatch-Variant: {variant.language}/{variant.tier.value}",
        ]
        return (headers.LINESEP.join(lines) + headers.LINESEP).encode("utf-8")

    def message_id(self, email: str) -> str:
        return headers.message_id(
            self.release_id, self.variant.language, email, self._domain, self._signer
        )

    def unsubscribe_url(self, email: str) -> str:
        token = self._signer.sign(UNSUBSCRIBE, email.lower())
        return f"{self._newsroom.base_url}/unsubscribe/{token}"

    def preferences_url(self, email: str) -> str:
        token = self._signer.sign(PREFERENCES, email.lower())
        return f"{self._newsroom.base_url}/preferences/{token}"

    def embargoed_url(self, email: str, language: str) -> str:
        link = EmbargoedLink(email.lower(), self.release_id, language)
        token = sign_embargoed(self._signer, link, self._publish_at)
        return embargoed_url(self._newsroom.base_url, token)

    def _date(self, moment: datetime) -> str:
        """The Date header's value; formatted once per second, not once per message."""
        second = int(moment.timestamp())
        if self._last_date[0] != second:
            self._last_date = (second, format_datetime(moment.astimezone(self._zone)))
        return self._last_date[1]

    def personalise(
        self,
        recipient: Recipient,
        *,
        date: datetime | None = None,
        message_id: str | None = None,
        delivery: str = "",
    ) -> bytes:
        """The complete message for one recipient, as CRLF-terminated bytes.

        ``message_id`` is the one the ledger holds for this delivery (set when it was
        planned); without it (a preview, a test copy) it is derived the same way.
        ``delivery``: its return-path token (verp.py), for reports that quote headers only.
        """
        email = headers.safe("To", recipient.email)
        name = " ".join(recipient.name.split())
        unsubscribe = self.unsubscribe_url(email)
        values = {
            "greeting": self._greeting(name),
            "email": email,
            "unsubscribe": unsubscribe,
            "preferences": self.preferences_url(email),
        }
        for language in self._linked:
            values[_link_slot(language)] = self.embargoed_url(email, language)
        html_values = {key: escape(value) for key, value in values.items()}
        mailto = f"mailto:{self._mailto}?subject={quote('unsubscribe ' + email)}"
        moment = date or self._default_date
        tracking = (
            [f"{headers.DELIVERY}: {headers.safe(headers.DELIVERY, delivery)}"] if delivery else []
        )
        head = headers.LINESEP.join(
            [
                headers.address("To", name, email),
                f"Date: {self._date(moment)}",
                f"Message-ID: {message_id or self.message_id(email)}",
                *tracking,
                f"List-Unsubscribe: <{unsubscribe}>,{headers.LINESEP} <{mailto}>",
                f'Content-Type: multipart/alternative; boundary="{self._boundary}"',
            ]
        ).encode("utf-8")
        body = alternative(
            self._boundary, self._text.base64(values), self._html.base64(html_values)
        )
        return b"".join((self._head, head, body))


class EmailRenderer:
    """Renders variants with the press office's templates; caches each variant once."""

    def __init__(
        self,
        newsroom: NewsroomSection,
        templates: Path,
        signer: Signer,
        regions: RegionTree,
        topics: TopicNames | None = None,
    ) -> None:
        self.newsroom = newsroom
        self.templates = templates / "email"
        self.signer = signer
        self.regions = regions
        self.topics = TopicNames(default_language=newsroom.default_language)
        if topics is not None:
            self.topics = topics
        self._prepared: dict[tuple[str, datetime, Variant], PreparedMessage] = {}
        self._withdrawals: dict[tuple[str, datetime, Variant], PreparedMessage] = {}

    def prepare(self, release: Release, variant: Variant) -> PreparedMessage:
        key = (release.id, release.publish_at, variant)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = self._render(release, variant)
        return prepared

    def prepare_test(self, release: Release, variant: Variant) -> PreparedMessage:
        """A test copy: "[Test]" before the subject and a banner atop both parts.

        Never cached, so a journalist's copy of the same variant cannot be a marked one.
        """
        return self._render(release, variant, test=True)

    def prepare_withdrawal(
        self, release: Release, variant: Variant, at: datetime, reason: str
    ) -> PreparedMessage:
        """The notice that ``release`` was withdrawn at ``at``, for those who got ``variant``:
        "Withdrawn: <title>", rendered from ``withdrawal.txt.j2`` and ``withdrawal.html.j2``
        with the headers of a release email (List-Unsubscribe and the others)."""
        key = (release.id, at, variant)
        prepared = self._withdrawals.get(key)
        if prepared is None:
            prepared = self._withdrawals[key] = self._render_withdrawal(
                release, variant, at, reason
            )
        return prepared

    def _render_withdrawal(
        self, release: Release, variant: Variant, at: datetime, reason: str
    ) -> PreparedMessage:
        lang = variant.language
        translation = release.translations.get(lang)
        if translation is None:
            raise NotFound(f"release {release.id!r} has no {lang!r} version")
        subject = i18n.gettext(lang, "Withdrawn: %(title)s", title=translation.title)
        context = {
            "newsroom": self.newsroom,
            "release": release,
            "t": translation,
            "lang": lang,
            "dir": i18n.text_direction(lang),
            "colon": i18n.colon(lang),
            "subject": subject,
            "withdrawn": i18n.format_datetime(at, lang, self.newsroom.zone),
            "reason": reason,
            "web_url": release_url(self.newsroom.base_url, release.id, lang),
            "greeting": slot("greeting"),
            "recipient_email": slot("email"),
            "unsubscribe_url": slot("unsubscribe"),
            "preferences_url": slot("preferences"),
        }
        env = email_environment(self.templates, lang)
        html = css_inline.inline(render_template(env, "withdrawal.html.j2", context))
        text = render_template(env, "withdrawal.txt.j2", context)
        return self._message(release, variant, subject, text, html)

    def render(
        self,
        release: Release,
        variant: Variant,
        recipient: Recipient,
        *,
        date: datetime | None = None,
    ) -> bytes:
        return self.prepare(release, variant).personalise(recipient, date=date)

    def _render(self, release: Release, variant: Variant, *, test: bool = False) -> PreparedMessage:
        lang = variant.language
        if lang not in release.translations:
            raise NotFound(f"release {release.id!r} has no {lang!r} version")
        context = self.context(release, variant)
        env = email_environment(self.templates, lang)
        html = css_inline.inline(render_template(env, "release.html.j2", context))
        text = render_template(env, "release.txt.j2", context)
        subject = context["subject"]
        if test:
            subject, text, html = mark_as_test(subject, text, html)
        return self._message(release, variant, subject, text, html)

    def _message(
        self, release: Release, variant: Variant, subject: str, text: str, html: str
    ) -> PreparedMessage:
        return PreparedMessage(
            release=release,
            variant=variant,
            newsroom=self.newsroom,
            subject=subject,
            text=text,
            html=html,
            greeting=_greeter(variant.language),
            signer=self.signer,
        )

    def context(self, release: Release, variant: Variant) -> dict[str, Any]:
        """Everything a template may use; documented in docs/templates.md."""
        lang = variant.language
        zone = self.newsroom.zone
        translation = release.translations[lang]
        embargoed = variant.tier is Tier.EMBARGOED
        publish = i18n.format_datetime(release.publish_at, lang, zone)
        notice = i18n.gettext(lang, "Embargoed until %(when)s", when=publish) if embargoed else ""
        subject = f"[{notice}] {translation.title}" if embargoed else translation.title
        base = self.newsroom.base_url

        def url(other: str) -> str:
            if embargoed:  # the journalist's own signed link, filled in per recipient
                return slot(_link_slot(other))
            return release_url(base, release.id, other)

        # Media by absolute address, never attached: the copy stays small. An embargoed
        # copy reaches them through the journalist's own link (web/media.py).
        media_base = str(url(lang)) if embargoed else gallery.public_base(base, release.id)
        media = gallery.gallery(release, lang, media_base)

        return {
            "newsroom": self.newsroom,
            "release": release,
            "t": translation,
            "body_html": Markup(translation.body_html),  # noqa: S704 - sanitised by nh3 on load
            "body_text": plain_text(translation.body_markdown),
            "lang": lang,
            "dir": i18n.text_direction(lang),
            "colon": i18n.colon(lang),
            "language_name": i18n.language_name(lang),
            "subject": subject,
            "embargoed": embargoed,
            "embargo_notice": notice,
            "embargo_until": publish if embargoed else "",
            "date": i18n.format_date(release.publish_at, lang, zone),
            "published": publish,
            "web_url": url(lang),
            "alternates": [
                {
                    "lang": other,
                    "name": i18n.language_name(other),
                    "url": url(other),
                }
                for other in release.translations
                if other != lang
            ],
            "regions": [i18n.region_name(self.regions, slug, lang) for slug in release.regions],
            "topics": [self.topics.name(slug, lang) for slug in release.topics],
            "contacts": list(release.contacts),
            "media": media,
            "hero": media[0] if media and media[0].get("hero") else None,
            "media_zip": gallery.zip_url(media_base),
            "greeting": slot("greeting"),
            "recipient_email": slot("email"),
            "unsubscribe_url": slot("unsubscribe"),
            "preferences_url": slot("preferences"),
        }


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """``name`` rendered; any template error as a RenderError naming the template and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{name}: {exc}") from None


@cache
def email_environment(folder: Path, lang: str) -> jinja2.Environment:
    """``<folder>/<lang>/`` overrides first, then ``<folder>/``; HTML autoescaped, text not."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([folder / lang, folder]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    i18n.jinja_install(env, lang)
    return env


def _greeter(lang: str) -> Callable[[str], str]:
    anonymous = i18n.gettext(lang, "Dear colleague,")

    def greet(name: str) -> str:
        return i18n.gettext(lang, "Dear %(name)s,", name=name) if name else anonymous

    return greet
