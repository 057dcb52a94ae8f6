"""topics.toml → :class:`TopicNames`, and what ``check`` says about the names.

The file sits next to config.toml (``paths.topics``) and names each topic per
language::

    [food]
    en = "Food security"
    fr = "Sécurité alimentaire"

No file means no names: every topic is shown as its slug. A malformed entry is a
problem with its file, line and field; the other entries still load, so a typo
costs one name, never the pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pressdispatch.characters import bad_character
from pressdispatch.config import Settings
from pressdispatch.content.newsroom import Newsroom
from pressdispatch.errors import ContentError, Problem, Severity, UnknownLanguage
from pressdispatch.model import TopicNames
from pressdispatch.textfiles import parse_toml, read_text
from pressdispatch.textlines import key_line
from pressdispatch.vocabulary import TOPIC, normalize_language

WARNING = Severity.WARNING  # topics.toml only names things: what is wrong there breaks nothing

__all__ = ["load_topic_names", "load_topics", "topic_problems"]

_EXAMPLE = '[food]\nen = "Food security"'
_MAX_NAME = 200  # characters: a name is a label, not a sentence


def load_topics(
    path: Path, *, languages: Sequence[str], default_language: str
) -> tuple[TopicNames, list[Problem]]:
    """The names in ``path`` and the problems found; no file: no names, no problem."""
    empty = TopicNames(default_language=default_language)
    if not path.exists() and not path.is_symlink():
        return empty, []
    try:
        text = read_text(path)
        raw = parse_toml(text, path)
    except ContentError as exc:
        return empty, [exc.problem]
    return _parse(path, text, raw, languages, default_language)


def _parse(
    path: Path, text: str, raw: Mapping[str, Any], languages: Sequence[str], default: str
) -> tuple[TopicNames, list[Problem]]:
    names: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for slug, entry in raw.items():
        line = key_line(text, [slug])
        if not TOPIC.match(slug):
            message = f"{slug!r} is not a topic: lowercase letters, digits, hyphens"
            problems.append(Problem(path, line, slug, message, WARNING))
            continue
        if not isinstance(entry, dict):
            example = _EXAMPLE.replace("food", slug)
            message = f"expected a table of names, one per language: {example}"
            problems.append(Problem(path, line, slug, message, WARNING))
            continue
        names[slug] = _names(path, text, slug, entry, languages, problems)
    return TopicNames(names, default), problems


def _names(
    path: Path,
    text: str,
    slug: str,
    entry: Mapping[str, Any],
    languages: Sequence[str],
    problems: list[Problem],
) -> dict[str, str]:
    """One topic's names by language; each bad one becomes a problem and is left out."""
    found: dict[str, str] = {}
    for code, value in entry.items():
        field = f"{slug}.{code}"
        line = key_line(text, [slug, code])
        message = _wrong(code, value, languages)
        if message is not None:
            problems.append(Problem(path, line, field, message, WARNING))
            continue
        found[code] = " ".join(value.split())
    return found


def _wrong(code: str, value: object, languages: Sequence[str]) -> str | None:
    """What is wrong with the name ``value`` in ``code``, or None."""
    try:
        if normalize_language(code) != code:
            return f"write the language code in lowercase: {code.lower()!r}"
    except UnknownLanguage as exc:
        return str(exc)
    if code not in languages:
        offered = ", ".join(languages)
        return f"{code!r} is not one of the newsroom's languages ({offered}): never shown"
    if not isinstance(value, str):
        return f"expected the name as a quoted string, got {value!r}"
    bad = bad_character(value)
    if bad is not None:
        return bad.message()
    if not value.strip():
        return "the name is empty"
    if len(value) > _MAX_NAME:
        return f"at most {_MAX_NAME} characters"
    return None


def load_topic_names(settings: Settings) -> TopicNames:
    """The newsroom's topic names; what cannot be used is left out (``check`` says why)."""
    names, _ = load_topics(
        settings.paths.topics,
        languages=settings.newsroom.languages,
        default_language=settings.newsroom.default_language,
    )
    return names


def topic_problems(settings: Settings, newsroom: Newsroom) -> list[Problem]:
    """What ``check`` reports about topics.toml: malformed entries, then missing names.

    A topic a release or a list uses with no name in one of the newsroom's languages
    is shown there by its fallback (the default language's name, else the slug). Each
    is a warning, not an error: a topic without a name is shown by its slug, and
    nothing else changes. Without topics.toml, nothing is said:
    the newsroom shows slugs by choice.
    """
    path = settings.paths.topics
    if not path.exists() and not path.is_symlink():
        return []
    offered, default = settings.newsroom.languages, settings.newsroom.default_language
    try:
        text = read_text(path)
        raw = parse_toml(text, path)
    except ContentError as exc:
        # Unreadable: naming every topic as unnamed would bury it.
        return [replace(exc.problem, severity=WARNING)]
    names, problems = _parse(path, text, raw, offered, default)
    for slug in sorted(_used_topics(newsroom)):
        named = names.names.get(slug, {})
        missing = [lang for lang in offered if lang not in named]
        if not missing:
            continue
        fallback = names.name(slug, missing[0])
        shown = f"the {default} name {fallback!r}" if fallback != slug else "the slug"
        message = f"no name in {', '.join(missing)}: {shown} is shown there"
        problems.append(Problem(path, key_line(text, [slug]), slug, message, WARNING))
    return problems


def _used_topics(newsroom: Newsroom) -> set[str]:
    releases: Iterable[str] = (t for r in newsroom.releases.values() for t in r.topics)
    lists: Iterable[str] = (t for s in newsroom.subscribers for t in s.topics)
    return {*releases, *lists}
