"""The release editor's form: what it sends → a Draft, a Draft → what it shows, and the
loader's problems → the form fields they are about.

Pure functions. The form's keys are ``id``, ``publish_at`` and ``embargo_send_at``
(``datetime-local`` values in the newsroom's time zone), ``status``,
``original_language``, ``regions`` (one per ticked region), ``regions_other`` (typed),
``topics`` and ``topics_other``, ``contacts.<row>.<name|role|phone|email>``, and per
language ``<lang>.<title|dateline|summary|body>``. Problems are reported under the
same keys (``fr.title``, ``contacts.1.email``); what belongs to no field under
``form``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from starlette.datastructures import FormData

from pressdispatch.content import drafts, writer
from pressdispatch.errors import Problem

__all__ = [
    "CONTACT_FIELDS",
    "VERSION_FIELDS",
    "FormValues",
    "Parsed",
    "field_errors",
    "from_draft",
    "from_form",
    "local_input",
    "parse_local",
    "past_errors",
    "to_draft",
]

VERSION_FIELDS = ("title", "dateline", "summary", "body")
CONTACT_FIELDS = ("name", "role", "phone", "email")
_TOP = ("id", "publish_at", "embargo_send_at", "status", "original_language", "regions", "topics")
_SEPARATORS = re.compile(r"[,;\s]+")
_CONTACT_KEY = re.compile(r"^contacts\.(\d{1,3})\.(name|role|phone|email)$")
_MAX_CONTACTS = 50

Errors = dict[str, list[str]]


@dataclass
class FormValues:
    """What the form shows: text as typed, times as ``datetime-local`` values."""

    release_id: str = ""
    publish_at: str = ""
    embargo_send_at: str = ""
    status: str = "draft"
    original_language: str = ""
    regions: list[str] = field(default_factory=list)
    regions_other: str = ""
    topics: list[str] = field(default_factory=list)
    topics_other: str = ""
    contacts: list[dict[str, str]] = field(default_factory=list)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # lang → field → text


@dataclass
class Parsed:
    draft: drafts.Draft
    errors: Errors  # what is wrong before the loader looks (times, the id)
    contact_rows: list[int]  # the form row of each contact written, in order


# --------------------------------------------------------------------------- #
# Form → values → Draft
# --------------------------------------------------------------------------- #


def from_form(form: FormData, languages: Sequence[str]) -> FormValues:
    """The values as submitted (text only; anything else counts as empty)."""

    def text(key: str) -> str:
        value = form.get(key)
        return value if isinstance(value, str) else ""

    def texts(key: str) -> list[str]:
        return [v for v in form.getlist(key) if isinstance(v, str) and v]

    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _CONTACT_KEY.match(key)
        if match and int(match.group(1)) < _MAX_CONTACTS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = text(key)
    contacts = [
        {name: rows[n].get(name, "") for name in CONTACT_FIELDS}
        for n in range(max(rows, default=-1) + 1)
        if n in rows
    ]
    return FormValues(
        release_id=text("id").strip(),
        publish_at=text("publish_at").strip(),
        embargo_send_at=text("embargo_send_at").strip(),
        status=text("status").strip(),
        original_language=text("original_language").strip(),
        regions=list(dict.fromkeys(texts("regions"))),
        regions_other=text("regions_other"),
        topics=list(dict.fromkeys(texts("topics"))),
        topics_other=text("topics_other"),
        contacts=contacts,
        versions={
            lang: {name: text(f"{lang}.{name}") for name in VERSION_FIELDS} for lang in languages
        },
    )


def to_draft(
    values: FormValues,
    zone: tzinfo,
    *,
    source: Mapping[str, writer.TomlValue] | None = None,
    comments: Mapping[str, Sequence[str]] | None = None,
    media: Sequence[Mapping[str, writer.TomlValue]] = (),
) -> Parsed:
    """The release the form describes. A language with every field empty is left out;
    so is a contact row with every field empty."""
    errors: Errors = {}
    times: dict[str, datetime | None] = {}
    for key in ("publish_at", "embargo_send_at"):
        parsed = parse_local(getattr(values, key), zone)
        if isinstance(parsed, str):
            errors.setdefault(key, []).append(parsed)
            parsed = None
        times[key] = parsed
    rows = [n for n, c in enumerate(values.contacts) if any(v.strip() for v in c.values())]
    contacts = [{k: v.strip() for k, v in values.contacts[n].items() if v.strip()} for n in rows]
    translations = {
        lang: drafts.Version(
            title=version["title"].strip() or None,
            summary=version["summary"].strip() or None,
            dateline=version["dateline"].strip() or None,
            body_markdown=_body(version["body"]),
        )
        for lang, version in values.versions.items()
        if any(v.strip() for v in version.values())
    }
    regions = values.regions + [r for r in _SEPARATORS.split(values.regions_other) if r]
    topics = values.topics + [t for t in _SEPARATORS.split(values.topics_other) if t]
    draft = drafts.Draft(
        publish_at=times["publish_at"],
        embargo_send_at=times["embargo_send_at"],
        status=values.status or None,
        original_language=values.original_language or None,
        regions=list(dict.fromkeys(regions)),
        topics=list(dict.fromkeys(topics)) or None,
        contacts=contacts,
        translations=translations,
        source=source,
        comments=comments or {},
        media=media,  # not on the form: kept as the file has them
    )
    return Parsed(draft, errors, rows)


def past_errors(draft: drafts.Draft, now: datetime) -> Errors:
    """A release marked ready must not be due already: it would go out at once."""
    if draft.status != "ready":
        return {}
    errors: Errors = {}
    for key in ("publish_at", "embargo_send_at"):
        moment = getattr(draft, key)
        if isinstance(moment, datetime) and moment.tzinfo is not None and moment <= now:
            errors[key] = [
                "this time has passed: a ready release would go out at once; "
                "choose a later time (or keep it a draft)"
            ]
    return errors


def parse_local(text: str, zone: tzinfo) -> datetime | str | None:
    """A ``datetime-local`` value read in ``zone`` (an explicit offset is kept); None when
    empty; the reason as a string when it is not a time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return f"not a date and time: {text!r} (e.g. 2026-12-01T10:00)"
    if moment.tzinfo is not None:
        return moment
    local = moment.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
        return f"{moment:%Y-%m-%d %H:%M} does not exist here: the clocks skip it that day"
    return local


def _body(text: str) -> str:
    """The body as a file holds it: the browser's CRLF line ends as LF, one final newline."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    return body.rstrip("\n") + "\n" if body.strip() else ""


# --------------------------------------------------------------------------- #
# Draft → values
# --------------------------------------------------------------------------- #


def local_input(moment: datetime | None, zone: tzinfo) -> str:
    """A ``datetime-local`` value in ``zone``: ``2026-12-01T10:00``."""
    if moment is None:
        return ""
    local = moment.astimezone(zone) if moment.tzinfo else moment
    return f"{local:%Y-%m-%dT%H:%M}"


def from_draft(
    release_id: str, draft: drafts.Draft, zone: tzinfo, known: Mapping[str, str], topics: set[str]
) -> FormValues:
    """The form for a release's files. ``known``: what each region value resolves to
    (a slug the picker offers); the others are shown typed. ``topics``: those the
    picker offers."""
    regions = list(draft.regions or [])
    return FormValues(
        release_id=release_id,
        publish_at=local_input(draft.publish_at, zone),
        embargo_send_at=local_input(draft.embargo_send_at, zone),
        status=draft.status or "ready",
        original_language=draft.original_language or "",
        regions=[known[r] for r in regions if r in known],
        regions_other=", ".join(r for r in regions if r not in known),
        topics=[t for t in draft.topics or [] if t in topics],
        topics_other=", ".join(t for t in draft.topics or [] if t not in topics),
        contacts=[{name: c.get(name, "") for name in CONTACT_FIELDS} for c in draft.contacts],
        versions={
            lang: {
                "title": v.title or "",
                "dateline": v.dateline or "",
                "summary": v.summary or "",
                "body": v.body_markdown,
            }
            for lang, v in draft.translations.items()
        },
    )


# --------------------------------------------------------------------------- #
# Problems → fields
# --------------------------------------------------------------------------- #


def field_errors(problems: Iterable[Problem], contact_rows: Sequence[int]) -> Errors:
    """The loader's errors, under the form key of the field each is about."""
    errors: Errors = {}
    for problem in problems:
        if not problem.is_error:
            continue
        found = drafts.locate(problem)
        key = _form_key(found.field, contact_rows)
        message = found.message
        if key == "form" and found.field not in ("release.toml", "translations"):
            message = f"{found.field}: {message}"
        if message not in errors.get(key, []):
            errors.setdefault(key, []).append(message)
    return errors


def _form_key(name: str, contact_rows: Sequence[int]) -> str:
    parts = name.split(".")
    if parts[0] == "translations":
        if len(parts) == 1:
            return "languages"
        lang = parts[1]
        if len(parts) == 2:
            return lang
        return f"{lang}.{'body' if parts[2] == 'body_markdown' else parts[2]}"
    if parts[0] == "contacts":
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(contact_rows):
            row = contact_rows[int(parts[1])]
            what = parts[2] if len(parts) > 2 and parts[2] in CONTACT_FIELDS else "name"
            return f"contacts.{row}.{what}"
        return "contacts"
    if parts[0] in _TOP:
        return parts[0]
    return "form"
