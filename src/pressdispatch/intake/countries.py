# ruff: noqa: RUF001, RUF002, RUF003  (names and examples in six scripts)
"""The countries a release is about, found by name in its text.

The text is folded (see :mod:`.country_names`), cut into words, and read once from
left to right: at each word the longest country name that starts there wins and its
words are consumed, so "Guinea-Bissau", "Equatorial Guinea" and "Papua New Guinea"
never also report Guinea. Chinese has no spaces: the same walk goes character by
character. A few rules keep names that are not countries out:

- a country is a proper noun: at least one of its words starts with a capital in
  the text (china the dishes, turkey the bird), and an acronym (US, США) is all
  capitals;
- a first name is not a country: "Jordan", "Chad", "Georgia"… next to another
  capitalised word ("Michael Jordan", "Jordan Peterson") are a person;
- Georgia right after Atlanta or Savannah is the US state;
- phrases that hold a name without being about it ("New Mexico", "Gulf of Guinea",
  沿海地区) are matched and dropped.

French elision is kept in the evidence (``d'Haïti``); Russian names take their case
endings (``в Беларуси``, ``с Казахстаном``); Arabic names take the attached
conjunction, preposition and article (``والأردن``, ``بالعراق``, ``للعراق``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from pressdispatch.intake.country_names import NameInfo, fold_with_origin, names
from pressdispatch.intake.russian import russian_forms
from pressdispatch.vocabulary import normalize_language

__all__ = ["Country", "find_countries"]

_EVIDENCE = 3
_WORD = re.compile(r"\w+")
_GAP = frozenset(" \t\n\r\f\v\u00a0-'.&")  # what may separate the words of one name
_ELISION = frozenset({"d", "l", "qu", "jusqu", "lorsqu", "puisqu"})
# Countries that are also first names, per language (folded).
_FIRST_NAMES = {
    "en": frozenset({"jordan", "chad", "georgia", "israel", "india"}),
    "es": frozenset({"chad", "georgia", "israel"}),
    "fr": frozenset({"maurice", "dominique", "israel"}),
}
# Capitalised words that do not make a neighbour a person (title-case headlines).
_NOT_NAMES = frozenset({
    "a", "about", "after", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on",
    "over", "the", "to", "with",
    "au", "aux", "avec", "dans", "de", "des", "du", "en", "et", "la", "le", "les", "par",
    "pour", "sur",
    "con", "del", "el", "los", "las", "para", "por", "y",
})  # fmt: skip
# Countries that are also common words, doubtful as a sentence's first word (folded).
_SENTENCE_WORDS = {"ru": frozenset({"того"})}  # "Того же мнения…": "of that", not Togo
_US_STATE_CUES = frozenset({"atlanta", "savannah"})
_SENTENCE_END = frozenset(".!?…:;\n")
_ARABIC_PREFIXES = ("وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك")


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166-1 alpha-2, upper case, e.g. "HT"
    # the words as they appear in the text, first few, e.g. ("d'Haïti", "Haïti")
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Name:
    info: NameInfo
    forms: tuple[frozenset[str], ...]  # the folded forms each word may take


@dataclass(frozen=True, slots=True)
class _Word:
    start: int  # in the folded text
    end: int
    folded: str
    original: str


def find_countries(text: str, language: str) -> list[Country]:
    """Countries named in ``text`` (written in ``language``), in order of first mention."""
    language = normalize_language(language)
    found: dict[str, list[str]] = {}
    for code, surface in _mentions(text, language):
        evidence = found.setdefault(code, [])
        if surface not in evidence and len(evidence) < _EVIDENCE:
            evidence.append(surface)
    return [Country(code, tuple(evidence)) for code, evidence in found.items()]


def _mentions(text: str, language: str) -> Iterator[tuple[str, str]]:
    folded, origin = fold_with_origin(text)
    if language == "zh":
        yield from _scan_characters(text, folded, origin)
        return
    found = [
        _Word(m.start(), m.end(), m.group(), text[origin[m.start()] : origin[m.end() - 1] + 1])
        for m in _WORD.finditer(folded)
    ]
    index = _word_index(language)
    at = 0
    while at < len(found):
        matched = _longest(found, at, index, folded, language)
        if matched is None:
            at += 1
            continue
        name, count = matched
        if name.info.code is not None:
            start, end = _span(found, at, count, name, folded, language)
            yield name.info.code, text[origin[start] : origin[end - 1] + 1]
        at += count


def _longest(
    found: list[_Word], at: int, index: dict[str, tuple[_Name, ...]], folded: str, language: str
) -> tuple[_Name, int] | None:
    for first in _first_forms(found[at].folded, language):
        for name in index.get(first, ()):
            count = len(name.forms)
            if at + count > len(found):
                continue
            if all(
                found[at + i].folded in name.forms[i]
                and _GAP.issuperset(folded[found[at + i - 1].end : found[at + i].start])
                for i in range(1, count)
            ) and _plausible(found, at, count, name, folded, language):
                return name, count
    return None


def _first_forms(word: str, language: str) -> Iterator[str]:
    """The word, and for Arabic the word without an attached و ف ب ل ك (ل + ال is written لل)."""
    yield word
    if language != "ar":
        return
    for prefix in _ARABIC_PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= 3:
            yield rest
            if prefix.endswith("ل") and rest.startswith("ل"):
                yield "ا" + rest


def _plausible(
    found: list[_Word], at: int, count: int, name: _Name, folded: str, language: str
) -> bool:
    written = [w.original for w in found[at : at + count]]
    if name.info.code is None:
        return True
    if name.info.acronym:
        if not all(w.isupper() for w in written):
            return False
    elif all(w[0].islower() for w in written):
        return False
    if count == 1 and found[at].folded in _FIRST_NAMES.get(language, ()):
        # "Michael Jordan", "Jordan Peterson"; but "Visit Jordan" opens a sentence.
        before = found[at - 1] if at > 0 and not _opens_sentence(found[at - 1], folded) else None
        after = found[at + 1] if at + 1 < len(found) else None
        if _name_next_to(before, found[at]) or _name_next_to(found[at], after):
            return False
    if (
        count == 1
        and found[at].folded in _SENTENCE_WORDS.get(language, ())
        and _opens_sentence(found[at], folded)
    ):
        return False
    preceding = found[max(0, at - 2) : at]
    return name.info.code != "GE" or not any(w.folded in _US_STATE_CUES for w in preceding)


def _opens_sentence(word: _Word, folded: str) -> bool:
    before = folded[: word.start].rstrip(" \t\"'«“„(")
    return not before or before[-1] in _SENTENCE_END


def _name_next_to(left: _Word | None, right: _Word | None) -> bool:
    """Two words side by side, separated by blanks only, both capitalised like names."""
    if left is None or right is None or right.start - left.end != 1:
        return False
    return all(
        w.original[:1].isupper()
        and any(c.islower() for c in w.original[1:])
        and w.folded not in _NOT_NAMES
        for w in (left, right)
    )


def _span(
    found: list[_Word], at: int, count: int, name: _Name, folded: str, language: str
) -> tuple[int, int]:
    start, end = found[at].start, found[at + count - 1].end
    if name.info.trailing_dot and folded[end : end + 1] == ".":
        end += 1
    if language == "fr" and at > 0:
        before = found[at - 1]
        if before.folded in _ELISION and folded[before.end : start] == "'":
            start = before.start
    return start, end


def _scan_characters(text: str, folded: str, origin: list[int]) -> Iterator[tuple[str, str]]:
    index = _character_index()
    at = 0
    while at < len(folded):
        for name, info in index.get(folded[at], ()):
            if folded.startswith(name, at):
                if info.code is not None:
                    yield info.code, text[origin[at] : origin[at + len(name) - 1] + 1]
                at += len(name)
                break
        else:
            at += 1


@cache
def _word_index(language: str) -> dict[str, tuple[_Name, ...]]:
    """Names by every form their first word may take, longest name first."""
    index: dict[str, list[_Name]] = {}
    for key, info in names(language).items():
        if language == "ru" and not info.acronym:
            forms = tuple(frozenset(russian_forms(word)) for word in key)
        else:
            forms = tuple(frozenset({word}) for word in key)
        name = _Name(info, forms)
        for first in forms[0]:
            index.setdefault(first, []).append(name)
    return {
        first: tuple(sorted(found, key=lambda n: -len(n.forms))) for first, found in index.items()
    }


@cache
def _character_index() -> dict[str, tuple[tuple[str, NameInfo], ...]]:
    index: dict[str, list[tuple[str, NameInfo]]] = {}
    for key, info in names("zh").items():
        index.setdefault(key[0][0], []).append((key[0], info))
    return {first: tuple(sorted(found, key=lambda n: -len(n[0]))) for first, found in index.items()}
