"""The release editor: ``/admin/releases/new``, ``/admin/releases/<id>/edit``, and the
preview of what the form describes, without saving it.

Saving writes ``release.toml`` and one ``<lang>.md`` per language through the writer
the JSON API uses (content/drafts.py): checked by the loader `pressdispatch check`
runs, in a staging folder, and put in place only when the release loads; then read
into the store at once. What the loader refuses is shown beside the field it is about,
and nothing is written. An imported release keeps its ``[source]`` table and the
importer's comments.

A release whose sending has started cannot be edited: its text and times are frozen
(the store sends that text, whatever the files say). The editor answers 409 and says
to correct it with a new release.

The preview renders the form's release with the engine's own renderer (an email of
either copy, addressed to the sample journalist) or the newsroom's release page, and
answers it under a policy that runs no script, for the editor's sandboxed frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pressdispatch.content import drafts, writer
from pressdispatch.content.releases import RELEASE_ID
from pressdispatch.errors import PressDispatchError, Problem
from pressdispatch.intake.importer import release_id_for
from pressdispatch.model import Release, Tier, Variant
from pressdispatch.regions import ROOT, RegionTree
from pressdispatch.render.email import SAMPLE_RECIPIENT, EmailRenderer
from pressdispatch.render.pages import page_environment
from pressdispatch.sizes import format_size
from pressdispatch.web import releasefiles
from pressdispatch.web.admin import media_list, release_form
from pressdispatch.web.admin.auth import EditChecked, PageSession
from pressdispatch.web.admin.common import AdminRoute, back, not_found, page
from pressdispatch.web.admin.media_list import UploadForm
from pressdispatch.web.admin.release_form import Errors, FormValues
from pressdispatch.web.deps import WebState, web_state
from pressdispatch.web.pages import public_release_parts, render_page

__all__ = [
    "ImportNotes",
    "edit_page",
    "editable_folder",
    "frozen_page",
    "import_notes",
    "release_folder",
    "router",
]

router = APIRouter(route_class=AdminRoute)
log = logging.getLogger(__name__)

_MAX_ID = 200  # the store's column
_PREVIEW_CSP = "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
_PREVIEW_HEADERS = {"Content-Security-Policy": _PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"}
_VIEWS = {"email-public", "email-embargoed", "web"}
_NEW_RELEASE_AT = timedelta(days=1)
_KEPT = 200  # releases whose import notes are kept


# --------------------------------------------------------------------------- #
# The importer's notes, until the draft is saved
# --------------------------------------------------------------------------- #


class ImportNotes:
    """Per app, in memory: what the importer asked the press office to check, by release."""

    def __init__(self) -> None:
        self._notes: OrderedDict[str, list[str]] = OrderedDict()

    def keep(self, release_id: str, notes: list[str]) -> None:
        self._notes.pop(release_id, None)
        self._notes[release_id] = notes
        while len(self._notes) > _KEPT:
            self._notes.popitem(last=False)

    def of(self, release_id: str) -> list[str]:
        return list(self._notes.get(release_id, ()))

    def forget(self, release_id: str) -> None:
        self._notes.pop(release_id, None)


def import_notes(request: Request) -> ImportNotes:
    notes = getattr(request.app.state, "admin_import_notes", None)
    if not isinstance(notes, ImportNotes):
        notes = request.app.state.admin_import_notes = ImportNotes()
    return notes


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.get("/admin/releases/new", name="admin.release_new")
async def new_form(request: Request, session: PageSession) -> Response:
    state = web_state(request)
    newsroom = state.settings.newsroom
    tomorrow = (state.clock() + _NEW_RELEASE_AT).astimezone(newsroom.zone)
    values = FormValues(
        publish_at=release_form.local_input(tomorrow.replace(minute=0), newsroom.zone),
        original_language=newsroom.default_language,
        regions=[ROOT],
    )
    return _editor(request, session.csrf, values)


@router.post("/admin/releases/new", name="admin.release_create")
async def create(request: Request, done: EditChecked) -> Response:
    state = web_state(request)
    settings, now = state.settings, state.clock()
    values = release_form.from_form(done.form, settings.newsroom.languages)
    parsed = release_form.to_draft(values, settings.newsroom.zone)
    errors = parsed.errors | release_form.past_errors(parsed.draft, now)
    release_id = values.release_id or release_id_for(
        settings.paths.releases,
        (parsed.draft.publish_at or now).astimezone(settings.newsroom.zone),
        [v.title or "" for v in parsed.draft.translations.values()],
        language=parsed.draft.original_language or "",
    )
    id_ok = _id_problem(release_id) is None
    if not id_ok:
        errors["id"] = [str(_id_problem(release_id))]
    elif await _exists(state, release_id):
        errors["id"] = [f"a release {release_id!r} already exists: choose another id"]
    files = drafts.draft_files(parsed.draft)
    try:
        release, problems = await asyncio.to_thread(
            writer.create_release,
            settings.paths.releases,
            release_id if id_ok else "release",
            files,
            releasefiles.loader(state),
            install=not errors,
        )
    except writer.ReleaseExists:
        release, problems = None, []
        errors["id"] = [f"a release {release_id!r} already exists: choose another id"]
    errors = _merged(errors, release_form.field_errors(problems, parsed.contact_rows))
    if release is None or errors:
        return _editor(request, done.session.csrf, values, errors, status_code=422)
    await releasefiles.sync(state, "console")
    log.info("console: release %s created", release_id)
    return back(f"/admin/releases/{release_id}", done="created")


@router.get("/admin/releases/{release_id}/edit", name="admin.release_edit")
async def edit_form(request: Request, release_id: str, session: PageSession) -> Response:
    folder = await editable_folder(request, release_id, session.csrf)
    if isinstance(folder, Response):
        return folder
    return await edit_page(request, release_id, folder, session.csrf)


async def edit_page(
    request: Request,
    release_id: str,
    folder: Path,
    csrf: str,
    upload: UploadForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The editor of the release in ``folder`` as its files are, the loader's problems
    beside their fields; ``upload``: the media upload form sent back with its problems."""
    state = web_state(request)
    draft, unreadable = await asyncio.to_thread(drafts.read_draft, folder)
    _, problems = await asyncio.to_thread(releasefiles.loader(state), folder)
    values = _values(state, release_id, draft)
    rows = list(range(len(draft.contacts)))
    about_media = [p for p in problems if media_list.is_about_media(p)]
    others = [p for p in problems if not media_list.is_about_media(p)]
    errors = release_form.field_errors([*unreadable, *others], rows)
    return _editor(
        request,
        csrf,
        values,
        errors,
        draft=draft,
        media=await _media(state, folder, release_id, draft, about_media, upload),
        status_code=status_code,
    )


@router.post("/admin/releases/{release_id}/edit", name="admin.release_save")
async def save(request: Request, release_id: str, done: EditChecked) -> Response:
    state = web_state(request)
    csrf = done.session.csrf
    folder = await editable_folder(request, release_id, csrf)
    if isinstance(folder, Response):
        return folder
    catalog = state.runtime.catalog
    before, _ = await asyncio.to_thread(drafts.read_draft, folder)
    settings = state.settings
    values = release_form.from_form(done.form, settings.newsroom.languages)
    values.release_id = release_id
    parsed = release_form.to_draft(
        values,
        settings.newsroom.zone,
        source=before.source,
        comments=before.comments,
        media=before.media,
    )
    errors = parsed.errors | release_form.past_errors(parsed.draft, state.clock())
    files = drafts.draft_files(parsed.draft)
    load = releasefiles.loader(state)
    old = await asyncio.to_thread(_texts, folder)
    if errors:  # checked, never written
        release, problems = await asyncio.to_thread(
            writer.create_release, folder.parent, release_id, files, load, install=False
        )
    else:
        release, problems = await asyncio.to_thread(writer.rewrite_release, folder, files, load)
    errors = _merged(errors, release_form.field_errors(problems, parsed.contact_rows))
    if release is None or errors:
        media = await _media(state, folder, release_id, before, [], None)
        return _editor(request, csrf, values, errors, draft=before, media=media, status_code=422)
    await releasefiles.sync(state, "console")
    if await catalog.started(release_id):
        # Sending started while the files were rewritten: the files go back to the text sent.
        await asyncio.to_thread(_restore, folder, old)
        await releasefiles.sync(state, "console")
        return frozen_page(request, release_id, csrf)
    import_notes(request).forget(release_id)
    log.info("console: release %s edited", release_id)
    return back(f"/admin/releases/{release_id}", done="saved")


@router.post("/admin/releases/preview", name="admin.release_draft_preview")
async def preview(request: Request, done: EditChecked) -> Response:
    """The form's release rendered, not saved: ``view`` (email-public, email-embargoed or
    web) in ``preview_lang``."""
    state = web_state(request)
    settings = state.settings
    form = done.form
    values = release_form.from_form(form, settings.newsroom.languages)
    parsed = release_form.to_draft(values, settings.newsroom.zone)
    view, lang = str(form.get("view", "")), str(form.get("preview_lang", ""))
    if view not in _VIEWS:
        view = "email-public"
    release_id = values.release_id if _id_problem(values.release_id) is None else "preview"
    release, problems = await asyncio.to_thread(
        writer.create_release,
        settings.paths.releases,
        release_id,
        drafts.draft_files(parsed.draft),
        releasefiles.loader(state),
        install=False,
    )
    if release is None or parsed.errors:
        found = _merged(parsed.errors, release_form.field_errors(problems, parsed.contact_rows))
        lines = [f"{key}: {m}" for key, messages in found.items() for m in messages]
        return _note(state, "Nothing to preview yet: the release does not load.", lines)
    if lang not in release.translations:
        lang = release.original_language
    if view == "web":
        context = public_release_parts(state, release, lang)
        return render_page(state, lang, "release.html.j2", context, headers=_PREVIEW_HEADERS)
    tier = Tier.EMBARGOED if view == "email-embargoed" else Tier.PUBLIC
    if tier is Tier.EMBARGOED and release.embargo_send_at is None:
        return _note(state, "No embargoed copy: this release has no embargo time.", [])
    try:
        return HTMLResponse(
            _email_html(state, release, Variant(lang, tier)), headers=_PREVIEW_HEADERS
        )
    except PressDispatchError as exc:
        return _note(state, "The email cannot be rendered.", [str(exc)])


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #


async def editable_folder(request: Request, release_id: str, csrf: str) -> Path | Response:
    """The release's folder, while its text may still change: else the 404 of an unknown
    release, or the 409 of one whose sending has started (:func:`frozen_page`)."""
    state = web_state(request)
    folder = release_folder(state, release_id)
    if folder is None:
        return not_found(request, f"release {release_id!r}", csrf)
    if await state.runtime.catalog.started(release_id):
        return frozen_page(request, release_id, csrf)
    return folder


def frozen_page(request: Request, release_id: str, csrf: str) -> HTMLResponse:
    """409: the release's sending has started; its text and times are frozen."""
    context = {
        "title": "This release cannot be edited",
        "message": f"Sending of {release_id} has started: its text and times are frozen, and "
        "the journalists get the text as it was. To correct it, write a new release "
        "(and withdraw this one from its page if it must not stay on the newsroom).",
    }
    return page(request, "message.html.j2", context, csrf=csrf, status_code=409)


def _editor(
    request: Request,
    csrf: str,
    values: FormValues,
    errors: Errors | None = None,
    *,
    draft: drafts.Draft | None = None,
    media: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    state = web_state(request)
    settings = state.settings
    newsroom = settings.newsroom
    new = draft is None
    rt = state.runtime
    topics = rt.topics.named(rt.topics.names, newsroom.default_language)
    errors = errors or {}
    source = dict(draft.source) if draft is not None and draft.source else {}
    context: dict[str, Any] = {
        "section": "releases",
        "new": new,
        "action": "/admin/releases/new" if new else f"/admin/releases/{values.release_id}/edit",
        "v": values,
        "errors": errors,
        "summary": [(key, m) for key, messages in errors.items() for m in messages],
        "failing": {key.split(".")[0] for key in errors} & set(newsroom.languages),
        "languages": newsroom.languages,
        "zone": newsroom.timezone,
        "offsets": {
            key: _offset(release_form.parse_local(getattr(values, key), newsroom.zone), state)
            for key in ("publish_at", "embargo_send_at")
        },
        "statuses": ["draft", "ready"]
        + ([values.status] if values.status not in ("draft", "ready", "") else []),
        "regions": _regions(rt.regions, values.regions),
        "topics": topics,
        "contacts": [*values.contacts, dict.fromkeys(release_form.CONTACT_FIELDS, "")],
        "fields": release_form.VERSION_FIELDS,
        "source": {k: str(v) for k, v in source.items()},
        "region_hints": list(draft.comments.get("regions", ())) if draft else [],
        "notes": import_notes(request).of(values.release_id) if not new else [],
        "media": media,
    }
    return page(request, "editor.html.j2", context, csrf=csrf, status_code=status_code)


async def _media(
    state: WebState,
    folder: Path,
    release_id: str,
    draft: drafts.Draft,
    problems: list[Problem],
    upload: UploadForm | None,
) -> dict[str, Any]:
    """The "Photos and documents" section: the list, the loader's words about it, the form."""
    listed = await asyncio.to_thread(media_list.rows, folder, release_id, draft.media)
    original = draft.original_language or ""
    languages = sorted(draft.translations, key=lambda lang: (lang != original, lang))
    return {
        "rows": listed,
        "problems": [p.message for p in problems if p.is_error],
        "warnings": [p.message for p in problems if not p.is_error],
        "languages": languages,
        "upload": upload or UploadForm(),
        "action": f"/admin/releases/{release_id}/media",
        "max_size": state.settings.content.max_media_size,
        "max_size_text": format_size(state.settings.content.max_media_size),
    }


def _regions(tree: RegionTree, ticked: list[str]) -> list[dict[str, Any]]:
    """Every region of the picker: the world, the M49 regions, then the countries."""
    chosen = set(ticked)
    areas = [r for r in tree if not r.is_country and r.slug != ROOT]
    countries = [r for r in tree if r.is_country]
    ordered = [
        tree.get(ROOT),
        *sorted(areas, key=lambda r: r.name),
        *sorted(countries, key=lambda r: r.name),
    ]
    return [
        {
            "slug": r.slug,
            "name": r.name,
            "code": r.alpha2 or ("" if r.slug == ROOT else "region"),
            "ticked": r.slug in chosen,
        }
        for r in ordered
    ]


def _offset(moment: datetime | str | None, state: WebState) -> str:
    """``UTC+01:00``: the zone's offset at that time (now, without one)."""
    when = moment if isinstance(moment, datetime) else state.clock()
    offset = when.astimezone(state.settings.newsroom.zone).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def _note(state: WebState, title: str, lines: list[str]) -> HTMLResponse:
    """A short page in the preview's frame, under the preview's policy."""
    env = page_environment(state.settings.paths.templates / "admin", "en")
    html = env.get_template("preview-note.html.j2").render(title=title, lines=lines)
    return HTMLResponse(html, headers=_PREVIEW_HEADERS)


def _email_html(state: WebState, release: Release, variant: Variant) -> str:
    """The HTML part of the email, rendered afresh (the engine's renderer caches by id)."""
    rt, settings = state.runtime, state.settings
    renderer = EmailRenderer(
        settings.newsroom, settings.paths.templates, rt.renderer.signer, rt.regions, rt.topics
    )
    data = renderer.render(release, variant, SAMPLE_RECIPIENT)
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


# --------------------------------------------------------------------------- #
# Files
# --------------------------------------------------------------------------- #


def _id_problem(release_id: str) -> str | None:
    if not RELEASE_ID.match(release_id):
        return f"{release_id!r} must be lowercase letters, digits and hyphens"
    if len(release_id) > _MAX_ID:
        return f"longer than {_MAX_ID} characters"
    return None


def release_folder(state: WebState, release_id: str) -> Path | None:
    """The release's folder, if the id can be one and it is there."""
    if _id_problem(release_id) is not None:
        return None
    folder = state.settings.paths.releases / release_id
    return folder if folder.is_dir() else None


async def _exists(state: WebState, release_id: str) -> bool:
    folder = state.settings.paths.releases / release_id
    return folder.exists() or bool(await state.runtime.catalog.rows(release_id))


def _values(state: WebState, release_id: str, draft: drafts.Draft) -> FormValues:
    tree = state.runtime.regions
    known = {}
    for value in draft.regions or []:
        try:
            known[value] = tree.resolve(value)
        except PressDispatchError:
            continue
    topics = set(state.runtime.topics.names)
    return release_form.from_draft(release_id, draft, state.settings.newsroom.zone, known, topics)


def _merged(*parts: Errors) -> Errors:
    merged: Errors = {}
    for part in parts:
        for key, messages in part.items():
            kept = merged.setdefault(key, [])
            kept.extend(m for m in messages if m not in kept)
    return merged


def _texts(folder: Path) -> dict[str, str]:
    """The release's files as they are, to put back should sending start meanwhile."""
    files = {}
    for path in [folder / "release.toml", *folder.glob("*.md")]:
        try:
            files[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            continue
    return files


def _restore(folder: Path, old: dict[str, str]) -> None:
    for name, text in old.items():
        writer.write_atomically(folder / name, text)
    for path in folder.glob("*.md"):
        if path.name not in old:
            path.unlink(missing_ok=True)
