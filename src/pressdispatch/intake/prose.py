"""The first words of an article: its dateline, first sentence and date line.

Press releases open the same way in every language: a place (and perhaps a date)
before a dash, then the news. These functions read Markdown blocks, the form both
doors (HTML and text) bring the body to.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from babel.dates import get_month_names

__all__ = [
    "Dateline",
    "date_line_value",
    "first_sentence",
    "is_prose",
    "midnight_utc",
    "parse_date",
    "plain",
    "split_dateline",
]

# A hyphen or en dash needs spaces around it (else it is a compound word); an em dash
# may stand tight ("GENEVA—The agency"). Emphasis may wrap the place, the dash or both.
# Confusable characters are escapes: \u2013 en dash, \uff0c full-width comma, \u2019 and
# \u2018 single quotes, \uff01 \uff1f full-width ! and ?.
_LEAD = re.compile(
    r"^(?P<seg>[^\n]{1,80}?)(?:\s+(?:--?|\u2013|—)\s*|\s*—\s*)[*_]{0,2}\s*(?=\S)",
)
_COMMA = re.compile(r"\s*[,،\uff0c]\s*")
_WORD_START = re.compile(r"^[\W_]+")
# Words that stay lower case inside a place name: "Rio de Janeiro", "Côte d'Ivoire".
_JOINER_WORDS = "de du des la le les el d' l' di da do dos das del y et and of on upon sur am im"
_JOINERS = frozenset([*_JOINER_WORDS.split(), "an", "der", "en", "al"])
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# The Cyrillic ones (year, years, "named after", street) are escaped: ruff takes \u0433 for r.
_ABBREVIATION_WORDS = "mr mrs ms dr st mt mme mlle mm me no nos vol art p pp sr sra dña"
_ABBREVIATIONS = frozenset(
    [*_ABBREVIATION_WORDS.split(), "\u0433", "\u0433\u0433", "им", "ул", "т", "тт"]
)
_WIDE_ENDS = "。\uff01\uff1f"
_SENTENCE_END = re.compile(rf"[.!?…؟]+[»\"”\u2019)\]]*\s+|[{_WIDE_ENDS}]+[」』”]*")


@dataclass(frozen=True, slots=True)
class Dateline:
    """A leading ``City, date -`` (any dash): the place, the date as written, what follows."""

    place: str
    date_text: str
    rest: str


def split_dateline(block: str) -> Dateline | None:
    """The dateline at the start of a paragraph, or None if it does not start with one.

    ``"GENÈVE — L'agence…"``, ``"Geneva, 5 March 2026 — The…"``, ``"MINSK (Belarus) - …"``,
    ``"**Женева**, 5 марта — …"``, ``"جنيف - …"``, ``"日内瓦 — …"`` (or an en dash): a short
    place (six words at most, each capitalised unless a joiner such as "de", or in a
    script without case), then perhaps a date after a comma, then a dash.
    """
    match = _LEAD.match(block)
    if match is None:
        return None
    segment = match.group("seg").replace("**", "").replace("__", "").strip(" *_")
    parts = _COMMA.split(segment)
    cut = next((i for i, part in enumerate(parts) if re.search(r"\d", part)), len(parts))
    place = ", ".join(parts[:cut]).strip()
    date_text = ", ".join(parts[cut:]).strip()
    rest = block[match.end() :].strip()
    if not rest or not _is_place(place):
        return None
    return Dateline(place=place, date_text=date_text, rest=rest)


def _is_place(text: str) -> bool:
    if not text or re.search(r"\d|[.!?:;«»\"“”]", text.replace("D.C.", "DC")):
        return False
    words = re.sub(r"[()]", " ", text).split()
    if _WIDE.search(text):
        return len(text) <= 12 and len(words) <= 2
    if not any(c.isupper() or c.islower() for c in text):  # Arabic, Hebrew, Devanagari…
        return len(words) <= 4
    if len(words) > 6:
        return False
    for n, word in enumerate(words):
        letters = _WORD_START.sub("", word)
        if not letters:
            continue
        if letters[0].isupper():
            continue
        elided = re.match(r"[dl]['\u2019]", letters)
        if n and (word.lower() in _JOINERS or (elided and letters[2:3].isupper())):
            continue
        return False
    return True


def plain(markdown: str) -> str:
    """The text a reader sees of inline Markdown: links by their words, no emphasis marks."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|(?<![\w\\])[*_](?=\S)|(?<=\S)(?<!\\)[*_](?!\w))", "", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>])", r"\1", text)
    return " ".join(text.split())


def first_sentence(text: str) -> str:
    """The first sentence of plain text; an abbreviation ("M.", "Dr.") does not end one."""
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.end()].rstrip()
        if match.group().strip()[0] in _WIDE_ENDS:
            return head
        after = text[match.end() :].lstrip("«\"“(['\u2018 ")
        if not after or not (after[0].isupper() or after[0].isdigit() or not after[0].islower()):
            continue
        last_word = text[: match.start()].split()[-1:] or [""]
        stem = last_word[0].lstrip('(«"“').lower()
        if match.group().startswith(".") and (len(stem) <= 1 or stem in _ABBREVIATIONS):
            continue
        return head
    return text.strip()


def is_prose(block: str) -> bool:
    """A paragraph, not a heading, list, quote, table or code block."""
    return not re.match(r"(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>|\||```|~~~)", block.lstrip())


def parse_date(text: str) -> date | None:
    """The first calendar date written in ``text``, or None.

    ISO (``2026-03-05``), ``2026年3月5日``, ``05.03.2026`` (day first unless that cannot
    be), and day and month name in the newsroom's languages (``5 mars 2026``,
    ``5 de marzo de 2026``, ``5 марта 2026``, ``March 5, 2026``, ``5 مارس 2026``).
    """
    found = _find_date(text)
    return found[0] if found else None


def date_line_value(line: str) -> date | None:
    """The date of a line that is little more than a date ("Publié le 5 mars 2026")."""
    text = line.strip()
    if not text or len(text) > 60 or len(text.split()) > 8:
        return None
    found = _find_date(text)
    if found is None:
        return None
    day, (start, end) = found
    return day if len((text[:start] + " " + text[end:]).split()) <= 4 else None


def midnight_utc(day: date) -> datetime:
    """A date with no time of day, as an instant: its start in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _find_date(text: str) -> tuple[date, tuple[int, int]] | None:
    months = _month_numbers()
    for pattern in (_ISO, _CJK, _named_pattern(), _NUMERIC):
        for match in pattern.finditer(text):
            groups = match.groupdict()
            if groups.get("ma") is not None:  # the month is named
                year, month, day = groups["y"], months[_key(groups["ma"])], groups["d"]
            elif groups.get("mb") is not None:
                year, month, day = groups["y2"], months[_key(groups["mb"])], groups["d2"]
            elif pattern is _NUMERIC and int(groups["m"]) > 12:  # only 03/25/2026 is meant
                year, month, day = groups["y"], int(groups["d"]), groups["m"]
            else:
                year, month, day = groups["y"], int(groups["m"]), groups["d"]
            try:
                return date(int(year), int(month), int(day)), match.span()
            except ValueError:
                continue
    return None


_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_CJK = re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
_NUMERIC = re.compile(r"\b(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})\b")


def _key(name: str) -> str:
    return name.casefold().rstrip(".")


@functools.cache
def _month_numbers() -> dict[str, int]:
    numbers: dict[str, int] = {}
    for locale in ("en", "fr", "es", "ru", "ar", "de", "pt", "it"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    numbers.setdefault(_key(name), int(number))
    return numbers


@functools.cache
def _named_pattern() -> re.Pattern[str]:
    names = "|".join(re.escape(n) for n in sorted(_month_numbers(), key=len, reverse=True))
    return re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:er|st|nd|rd|th|º)?\.?\s+(?:de\s+)?(?P<ma>{names})\.?,?\s+"
        rf"(?:de\s+|del\s+)?(?P<y>\d{{4}})(?:\s*(?:\u0433\.|года))?"  # "2026 g." (year)
        rf"|\b(?P<mb>{names})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})",
        re.IGNORECASE,
    )
