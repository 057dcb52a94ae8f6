"""A picture or document added to a release from a web form: the API's
``POST /api/v1/releases/{id}/media`` and the console's editor read the same fields and
go through the same checks.

The form holds the file in ``file`` and its description in fields named as
release.toml names them: ``alt.<lang>`` and ``caption.<lang>`` (one per language),
``credit``, ``license``, ``hero`` (``true``, or a ticked box's ``on``). The file's name
is checked here (content/media_upload.py ``safe_name``); everything else by the loader
`pressdispatch check` runs (content/media_upload.py ``add_media``): its type by its
bytes, its size, alt text in every language of the release, one hero at most.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.datastructures import FormData, UploadFile

from pressdispatch.content import media_upload, writer
from pressdispatch.errors import Problem
from pressdispatch.model import Media
from pressdispatch.web import releasefiles
from pressdispatch.web.deps import WebState

__all__ = ["DESCRIBED", "SINGLE", "add_from_form", "entry_of", "remove"]

DESCRIBED = ("alt", "caption")  # one text per language
SINGLE = ("credit", "license")
_YES = ("true", "1", "on", "yes")


def entry_of(form: FormData) -> dict[str, writer.TomlValue]:
    """The ``[[media]]`` entry the form describes, without its ``file``: empty texts left out."""
    entry: dict[str, writer.TomlValue] = {}
    for key in DESCRIBED:
        texts = {
            field.split(".", 1)[1]: value.strip()
            for field, value in form.multi_items()
            if field.startswith(f"{key}.") and isinstance(value, str) and value.strip()
        }
        if texts:
            entry[key] = texts
    for key in SINGLE:
        if isinstance(value := form.get(key), str) and value.strip():
            entry[key] = value.strip()
    if str(form.get("hero", "")).lower() in _YES:
        entry["hero"] = True
    return entry


async def add_from_form(
    state: WebState, folder: Path, form: FormData, who: str
) -> tuple[Media | None, list[Problem]]:
    """Add the form's file to the release in ``folder`` if it passes every check, and read
    the release into the store; else the problems (errors and warnings), and nothing
    changed. A problem with the upload itself has the field ``file`` and no path."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not (upload.filename or upload.size):
        return None, [_about_file("missing: no file was sent (the field 'file')")]
    name = media_upload.safe_name(upload.filename or "")
    if name is None:
        return None, [_about_file("the file name must be letters, digits, spaces, dots, - or _")]
    data = await upload.read()
    added, found = await asyncio.to_thread(
        media_upload.add_media, folder, name, data, entry_of(form), releasefiles.loader(state)
    )
    if added is not None:
        await releasefiles.sync(state, who)
    return added, found


async def remove(state: WebState, folder: Path, name: str, who: str) -> Problem | None:
    """Take ``media/<name>`` out of the release in ``folder``, then read it into the store."""
    problem = await asyncio.to_thread(media_upload.remove_media, folder, name)
    if problem is None:
        await releasefiles.sync(state, who)
    return problem


def _about_file(message: str) -> Problem:
    return Problem(Path(), None, "file", message)
