"""Load ``releases/<id>/``: release.toml plus one ``<lang>.md`` per language version.

A release is all or nothing: if any of its files is broken, the release is not
loaded (and `check` says why), so a half-valid release is never sent. A broken
release never stops the others: whatever is wrong with a folder (a file that is
a folder, a link to nothing, bytes that are not UTF-8, a body over
``content.max_body_size``) is one of its problems.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from pydantic import ValidationError

from pressdispatch.characters import bad_character
from pressdispatch.content.fields import FrontMatter, ReleaseFields
from pressdispatch.content.media import DEFAULT_MAX_MEDIA, load_media, media_stamp
from pressdispatch.errors import ContentError, Problem, Severity, UnknownLanguage, UnknownRegion
from pressdispatch.model import Contact, Release, Translation
from pressdispatch.regions import RegionTree
from pressdispatch.render.markdown import render_markdown
from pressdispatch.sizes import MiB, format_size
from pressdispatch.textfiles import FILE, parse_toml, read_text
from pressdispatch.textlines import key_line
from pressdispatch.validation import validation_problems
from pressdispatch.vocabulary import SLUG, normalize_language

RELEASE_ID = SLUG
DEFAULT_MAX_BODY = MiB  # content.max_body_size
_LANG_FILE = re.compile(r"^([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\.md$")
# What a language file may hold besides its body: title, summary and dateline are
# a few kilobytes at most, so a larger file is refused without being read.
_FRONT_ALLOWANCE = 64 * 1024


Loaded = tuple[Release | None, list[Problem]]


class ReleaseCache:
    """Parsed release folders, reused while none of their files changed.

    A scan runs every few seconds; re-rendering and sanitising hundreds of
    unchanged Markdown files each time would stall the service's event loop.
    """

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[tuple[tuple[str, bytes], ...], Loaded]] = {}

    def load(
        self,
        folder: Path,
        *,
        regions: RegionTree,
        languages: Sequence[str],
        default_language: str,
        max_body_size: int = DEFAULT_MAX_BODY,
        max_media_size: int = DEFAULT_MAX_MEDIA,
    ) -> Loaded:
        def uncached() -> Loaded:
            return load_release(
                folder,
                regions=regions,
                languages=languages,
                default_language=default_language,
                max_body_size=max_body_size,
                max_media_size=max_media_size,
            )

        try:
            files = [_stamp(p, max_body_size) for p in folder.iterdir() if p.is_file()]
            stamp = tuple(sorted([*files, *media_stamp(folder)]))
        except OSError:  # vanished or unreadable while we looked: load it the slow way
            return uncached()
        hit = self._entries.get(folder)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        loaded = uncached()
        self._entries[folder] = (stamp, loaded)
        return loaded


def _stamp(path: Path, max_body_size: int) -> tuple[str, bytes]:
    # Hash the bytes rather than trust mtimes: an edit within one tick of a coarse
    # filesystem clock must not be missed. Reading is cheap next to rendering, but
    # not for a file too large to load, which only its size and time stand for.
    status = path.stat()
    if status.st_size > max_body_size + _FRONT_ALLOWANCE:
        return path.name, f"{status.st_size}:{status.st_mtime_ns}".encode()
    return path.name, hashlib.blake2b(path.read_bytes(), digest_size=16).digest()


def load_releases(
    root: Path,
    *,
    regions: RegionTree,
    languages: Sequence[str],
    default_language: str,
    max_body_size: int = DEFAULT_MAX_BODY,
    max_media_size: int = DEFAULT_MAX_MEDIA,
    cache: ReleaseCache | None = None,
) -> tuple[list[Release], list[Problem]]:
    """Every loadable release under ``root``, by publication time, and every problem found."""
    releases: list[Release] = []
    problems: list[Problem] = []
    if not root.is_dir():
        return [], [Problem(root, None, "", "releases folder not found")]
    load = cache.load if cache is not None else load_release
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        release, found = load(
            folder,
            regions=regions,
            languages=languages,
            default_language=default_language,
            max_body_size=max_body_size,
            max_media_size=max_media_size,
        )
        problems.extend(found)
        if release is not None:
            releases.append(release)
    releases.sort(key=lambda r: (r.publish_at, r.id))
    return releases, problems


def load_release(
    folder: Path,
    *,
    regions: RegionTree,
    languages: Sequence[str],
    default_language: str,
    max_body_size: int = DEFAULT_MAX_BODY,
    max_media_size: int = DEFAULT_MAX_MEDIA,
) -> tuple[Release | None, list[Problem]]:
    """One release folder → the Release (None when any part is broken) and its problems.

    Problems that do not stop the release (unsafe HTML the sanitiser removed)
    are warnings, reported while the release still loads; any error stops it.
    """
    problems: list[Problem] = []
    fatal = False
    if not RELEASE_ID.match(folder.name):
        problems.append(
            Problem(
                folder,
                None,
                "id",
                f"folder name {folder.name!r} must be lowercase letters, digits and hyphens",
            )
        )
        fatal = True
    try:
        next(folder.iterdir(), None)
    except OSError as exc:  # a folder we may not list: its files would all look missing
        problems.append(Problem(folder, None, FILE, f"cannot read the folder: {exc.strerror}"))
        return None, problems
    meta_path = folder / "release.toml"
    fields: ReleaseFields | None = None
    meta_text = ""
    try:
        if not meta_path.exists() and not meta_path.is_symlink():
            missing = "missing: every release needs a release.toml"
            raise ContentError(Problem(meta_path, None, FILE, missing))
        meta_text = read_text(meta_path)
        fields = ReleaseFields.model_validate(parse_toml(meta_text, meta_path))
    except ContentError as exc:
        problems.append(exc.problem)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, meta_path, meta_text))

    region_slugs: list[str] = []
    if fields is not None:
        region_slugs, found = _regions(fields, regions, meta_path, meta_text)
        problems.extend(found)
        problems.extend(_times(fields, meta_path, meta_text))

    translations: dict[str, Translation] = {}
    for path in sorted(folder.glob("*.md")):
        translation, found, ok = _load_translation(path, languages, max_body_size)
        problems.extend(found)
        fatal = fatal or not ok
        if translation is not None and translation.language in translations:
            message = f"a second file for {translation.language!r}: keep one <lang>.md per language"
            problems.append(Problem(path, None, "language", message))
            fatal = True
        elif translation is not None:
            translations[translation.language] = translation

    if fields is None or any(p.path == meta_path and p.is_error for p in problems):
        return None, problems
    original = _original_language(fields, translations, default_language, meta_path, meta_text)
    if isinstance(original, Problem):
        return None, [*problems, original]
    if fatal or not translations:
        if not translations and not any(p.path.suffix == ".md" for p in problems):
            problems.append(
                Problem(folder, None, "", "no language version: add <lang>.md, e.g. en.md")
            )
        return None, problems
    ordered = {original: translations[original]} | translations
    media, found = load_media(
        folder,
        fields.media,
        languages=tuple(ordered),
        meta_path=meta_path,
        meta_text=meta_text,
        max_size=max_media_size,
    )
    problems.extend(found)  # a bad entry is left out; the release still loads
    release = Release(
        id=folder.name,
        publish_at=fields.publish_at.astimezone(UTC),
        embargo_send_at=fields.embargo_send_at.astimezone(UTC) if fields.embargo_send_at else None,
        status=fields.status,
        original_language=original,
        translations=ordered,
        regions=tuple(region_slugs),
        topics=tuple(fields.topics),
        contacts=tuple(Contact(c.name, c.role, c.phone, c.email) for c in fields.contacts),
        source=folder,
        media=media,
    )
    return release, problems


def _regions(
    fields: ReleaseFields, tree: RegionTree, path: Path, text: str
) -> tuple[list[str], list[Problem]]:
    slugs: list[str] = []
    problems: list[Problem] = []
    for value in fields.regions:
        try:
            slugs.append(tree.resolve(value))
        except UnknownRegion as exc:
            problems.append(Problem(path, key_line(text, ["regions"]), "regions", str(exc)))
    if not fields.regions:
        problems.append(
            Problem(
                path, key_line(text, ["regions"]), "regions", 'empty: use ["world"] for everyone'
            )
        )
    return list(dict.fromkeys(slugs)), problems


def _times(fields: ReleaseFields, path: Path, text: str) -> list[Problem]:
    embargo = fields.embargo_send_at
    if embargo is not None and embargo >= fields.publish_at:
        return [
            Problem(
                path,
                key_line(text, ["embargo_send_at"]),
                "embargo_send_at",
                f"must be earlier than publish_at ({embargo.isoformat()} is not before "
                f"{fields.publish_at.isoformat()})",
            )
        ]
    return []


def _original_language(
    fields: ReleaseFields,
    translations: dict[str, Translation],
    default_language: str,
    path: Path,
    text: str,
) -> str | Problem:
    if fields.original_language is None:
        if len(translations) == 1:
            return next(iter(translations))
        if default_language in translations or not translations:
            return default_language
        return Problem(
            path, None, "original_language", "required when the release has several languages"
        )
    try:
        original = normalize_language(fields.original_language)
    except UnknownLanguage as exc:
        return Problem(path, key_line(text, ["original_language"]), "original_language", str(exc))
    if translations and original not in translations:
        return Problem(
            path,
            key_line(text, ["original_language"]),
            "original_language",
            f"no {original}.md in this release (found: {', '.join(sorted(translations))})",
        )
    return original


def _load_translation(
    path: Path, languages: Sequence[str], max_body_size: int
) -> tuple[Translation | None, list[Problem], bool]:
    """Returns (translation, problems, ok); ok is False when the release must not load."""
    match = _LANG_FILE.match(path.name)
    try:
        language = normalize_language(match.group(1) if match else path.stem)
    except UnknownLanguage as exc:
        message = f"{exc}; name the file <lang>.md"
        return None, [Problem(path, None, "language", message)], False
    if language not in languages:
        return (
            None,
            [
                Problem(
                    path,
                    None,
                    "language",
                    f"{language!r} is not offered by this newsroom "
                    f"(newsroom.languages = {list(languages)})",
                )
            ],
            False,
        )
    try:
        text = _read_language_file(path, max_body_size)
        front_text, body, body_line = split_front_matter(text, path)
        front = FrontMatter.model_validate(parse_toml(front_text, path, first_line=2))
        _check_body(body, body_line, path, max_body_size)
    except ContentError as exc:
        return None, [exc.problem], False
    except ValidationError as exc:
        problems = validation_problems(exc, path, front_text, line_offset=1, missing_line=1)
        return None, problems, False
    html, removals = render_markdown(body)
    # The release goes out without what was removed: a warning, not a refusal.
    problems = [
        Problem(path, body_line + r.line, "body", r.what, Severity.WARNING) for r in removals
    ]
    if not body.strip():
        problems.append(
            Problem(path, body_line, "body", "empty: write the release text below the front matter")
        )
        return None, problems, False
    translation = Translation(
        language=language,
        title=front.title,
        summary=front.summary.strip(),
        dateline=front.dateline,
        body_markdown=body,
        body_html=html,
    )
    return translation, problems, True


def _read_language_file(path: Path, max_body_size: int) -> str:
    """The file's text; one far over the body limit is refused without being read."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_text says what is wrong with it
    if size > max_body_size + _FRONT_ALLOWANCE:
        raise ContentError(Problem(path, 1, "body", _too_large(size, max_body_size, "the file")))
    return read_text(path)


def _check_body(body: str, body_line: int, path: Path, max_body_size: int) -> None:
    """Refuse a body over the size limit (before Markdown sees it) or with a control character."""
    size = len(body.encode("utf-8"))
    if size > max_body_size:
        raise ContentError(Problem(path, 1, "body", _too_large(size, max_body_size, "the body")))
    bad = bad_character(body, lines=True)
    if bad is not None:
        message = f"{bad.message()} (column {bad.column(body)})"
        raise ContentError(Problem(path, body_line + bad.line(body), "body", message))


def _too_large(size: int, limit: int, what: str) -> str:
    return (
        f"{what} is {format_size(size)}, over the limit of {format_size(limit)} "
        "(content.max_body_size in config.toml): not read"
    )


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """(front matter, body, line of the closing ``+++``: body line n is file line this + n)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++":
        message = 'must start with TOML front matter between +++ lines (title = "...")'
        raise ContentError(Problem(path, 1, FILE, message))
    for n in range(1, len(lines)):
        if lines[n].strip() == "+++":
            return "\n".join(lines[1:n]), "\n".join(lines[n + 1 :]), n + 1
    message = "front matter is not closed: add a line with +++ after it"
    raise ContentError(Problem(path, 1, FILE, message))
