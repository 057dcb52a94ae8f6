"""A journalist's fields, checked the same way however they arrive.

A row of a subscriber list (``subscribers.py``), a ``PUT`` to the JSON API and the
subscription form all describe a journalist with the same fields; this is the one
place that says what those may hold (docs/subscribers.md, "Validation"):

- ``email``: one line, no control character, a syntactically valid address
  (email-validator; no DNS lookup);
- ``name`` and ``outlet``: one line, no control character, at most
  :data:`MAX_LENGTH` characters; runs of blanks (a tab too) become one space;
- ``languages``: ISO 639-1 codes; ``regions``: what ``RegionTree.resolve`` accepts;
  ``topics``: slugs. Each surface splits its own list (a cell, a JSON array, form
  fields) and hands the values over.

Nothing here knows files, requests or forms: each problem is a :class:`Wrong`, which
the caller reports as a file line, a JSON field or a form message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pressdispatch.characters import bad_character
from pressdispatch.errors import UnknownLanguage, UnknownRegion
from pressdispatch.regions import RegionTree
from pressdispatch.vocabulary import check_topic, normalize_address, normalize_language

__all__ = ["MAX_LENGTH", "Journalist", "Wrong", "check_address", "check_journalist", "check_text"]

MAX_LENGTH = 1000  # characters of a name, an outlet or a cell of a list


@dataclass(frozen=True, slots=True)
class Wrong:
    """One field that cannot be used, and why."""

    field: str  # email, name, outlet, languages, regions, topics
    message: str
    index: int | None = None  # which value of a list field was wrong


@dataclass(frozen=True, slots=True)
class Journalist:
    """The fields, checked and in canonical form."""

    email: str  # normalised by email-validator (the domain in lowercase)
    name: str
    outlet: str
    languages: tuple[str, ...]  # in order of preference, once each
    regions: tuple[str, ...]  # canonical slugs, once each; empty: every region
    topics: tuple[str, ...]  # slugs, once each; empty: every topic


def check_text(field: str, value: str) -> list[Wrong]:
    """What is wrong with a one-line value (a name, an outlet, a cell)."""
    if len(value) > MAX_LENGTH:
        return [Wrong(field, f"longer than {MAX_LENGTH} characters")]
    bad = bad_character(value)
    return [Wrong(field, bad.message())] if bad is not None else []


def check_address(value: str) -> str | Wrong:
    """The normalised address, or why ``value`` is not one."""
    try:
        return normalize_address(value)
    except ValueError as exc:
        return Wrong("email", str(exc))


def check_journalist(
    *,
    email: str,
    name: str = "",
    outlet: str = "",
    languages: Sequence[str] = (),
    regions: Sequence[str] = (),
    topics: Sequence[str] = (),
    tree: RegionTree,
) -> Journalist | list[Wrong]:
    """The journalist these fields describe, or every problem with them (all at once)."""
    wrong: list[Wrong] = []
    address = check_address(email)
    if isinstance(address, Wrong):
        wrong.append(address)
    wrong += check_text("name", name) + check_text("outlet", outlet)
    codes: list[str] = []
    for n, code in enumerate(languages):
        try:
            codes.append(normalize_language(code))
        except UnknownLanguage as exc:
            wrong.append(Wrong("languages", str(exc), n))
    slugs: list[str] = []
    for n, value in enumerate(regions):
        try:
            slugs.append(tree.resolve(value))
        except UnknownRegion as exc:
            wrong.append(Wrong("regions", str(exc), n))
    keywords: list[str] = []
    for n, topic in enumerate(topics):
        try:
            keywords.append(check_topic(topic))
        except ValueError as exc:
            wrong.append(Wrong("topics", str(exc), n))
    if wrong or isinstance(address, Wrong):
        return wrong
    return Journalist(
        email=address,
        name=" ".join(name.split()),
        outlet=" ".join(outlet.split()),
        languages=tuple(dict.fromkeys(codes)),
        regions=tuple(dict.fromkeys(slugs)),
        topics=tuple(dict.fromkeys(keywords)),
    )
