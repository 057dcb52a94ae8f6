"""Load ``releases/<id>/``: release.toml plus one ``<lang>.md`` per language version.

A release is all or nothing: if any of its files is broken, the release is not
loaded (and `check` says why), so a half-valid release is never sent.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from pydantic import ValidationError

from pressdispatch.config import validation_problems
from pressdispatch.content.fields import SLUG, FrontMatter, ReleaseFields
from pressdispatch.errors import Problem, UnknownLanguage, UnknownRegion
from pressdispatch.model import Contact, Release, Translation
from pressdispatch.regions import RegionTree
from pressdispatch.render.i18n import normalize_language
from pressdispatch.render.markdown import render_markdown
from pressdispatch.textlines import key_line

RELEASE_ID = SLUG
_LANG_FILE = re.compile(r"^([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\.md$")


Loaded = tuple[Release | None, list[Problem]]


class ReleaseCache:
    """Parsed release folders, reused while none of their files changed.

    A scan runs every few seconds; re-rendering and sanitising hundreds of
    unchanged Markdown files each time would stall the service's event loop.
    """

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[tuple[tuple[str, bytes], ...], Loaded]] = {}

    def load(
        self, folder: Path, *, regions: RegionTree, languages: Sequence[str], default_language: str
    ) -> Loaded:
        try:
            # Hash the bytes rather than trust mtimes: an edit within one tick of a coarse
            # filesystem clock must not be missed. Reading is cheap next to rendering.
            stamp = tuple(
                sorted(
                    (p.name, hashlib.blake2b(p.read_bytes(), digest_size=16).digest())
                    for p in folder.iterdir()
                    if p.is_file()
                )
            )
        except OSError:  # vanished while we looked: load it the slow way, uncached
            return load_release(
                folder, regions=regions, languages=languages, default_language=default_language
            )
        hit = self._entries.get(folder)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        loaded = load_release(
            folder, regions=regions, languages=languages, default_language=default_language
        )
        self._entries[folder] = (stamp, loaded)
        return loaded


def load_releases(
    root: Path,
    *,
    regions: RegionTree,
    languages: Sequence[str],
    default_language: str,
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
            folder, regions=regions, languages=languages, default_language=default_language
        )
        problems.extend(found)
        if release is not None:
            releases.append(release)
    releases.sort(key=lambda r: (r.publish_at, r.id))
    return releases, problems


def load_release(
    folder: Path, *, regions: RegionTree, languages: Sequence[str], default_language: str
) -> tuple[Release | None, list[Problem]]:
    """One release folder → the Release (None when any part is broken) and its problems.

    Problems that do not stop the release (unsafe HTML the sanitiser removed)
    are reported while the release still loads.
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
    meta_path = folder / "release.toml"
    fields: ReleaseFields | None = None
    meta_text = ""
    try:
        meta_text = meta_path.read_text(encoding="utf-8")
        fields = ReleaseFields.model_validate(tomllib.loads(meta_text))
    except FileNotFoundError:
        problems.append(Problem(meta_path, None, "", "missing: every release needs a release.toml"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(meta_path, _byte_line(meta_path, exc.start), "", "not UTF-8 text"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(meta_path, _toml_line(exc), "", f"not valid TOML: {exc}"))
    except ValidationError as exc:
        problems.extend(validation_problems(exc, meta_path, meta_text))

    region_slugs: list[str] = []
    if fields is not None:
        region_slugs, found = _regions(fields, regions, meta_path, meta_text)
        problems.extend(found)
        problems.extend(_times(fields, meta_path, meta_text))

    translations: dict[str, Translation] = {}
    for path in sorted(folder.glob("*.md")):
        translation, found, ok = _load_translation(path, languages)
        problems.extend(found)
        fatal = fatal or not ok
        if translation is not None and translation.language in translations:
            message = f"a second file for {translation.language!r}: keep one <lang>.md per language"
            problems.append(Problem(path, None, "language", message))
            fatal = True
        elif translation is not None:
            translations[translation.language] = translation

    if fields is None or any(p.path == meta_path for p in problems):
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
    path: Path, languages: Sequence[str]
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
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, _byte_line(path, exc.start), "", "not UTF-8 text")], False
    split = _split_front_matter(text)
    if isinstance(split, Problem):
        return None, [Problem(path, split.line, split.field, split.message)], False
    front_text, body, body_line = split
    try:
        front = FrontMatter.model_validate(tomllib.loads(front_text))
    except tomllib.TOMLDecodeError as exc:
        line = _toml_line(exc)
        return (
            None,
            [Problem(path, line + 1 if line else 1, "", f"front matter is not valid TOML: {exc}")],
            False,
        )
    except ValidationError as exc:
        problems = validation_problems(exc, path, front_text, line_offset=1, missing_line=1)
        return None, problems, False
    html, removals = render_markdown(body)
    problems = [Problem(path, body_line + r.line, "body", r.what) for r in removals]
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


def _split_front_matter(text: str) -> tuple[str, str, int] | Problem:
    """(front matter, body, line number where the body starts, 0-based offset)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "+++":
        return Problem(
            Path(), 1, "", 'must start with TOML front matter between +++ lines (title = "...")'
        )
    for n in range(1, len(lines)):
        if lines[n].strip() == "+++":
            return "\n".join(lines[1:n]), "\n".join(lines[n + 1 :]), n + 1
    return Problem(Path(), 1, "", "front matter is not closed: add a line with +++ after it")


def _toml_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"at line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _byte_line(path: Path, offset: int) -> int:
    return path.read_bytes()[:offset].count(b"\n") + 1
