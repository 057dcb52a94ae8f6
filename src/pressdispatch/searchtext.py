"""How text becomes search terms, the same way for a release being indexed and for a query.

A word is lowercased, stemmed by the Snowball stemmer of its text's language (so
"négociations" and "négocier" both give "négoci"), then stripped of accents and other
combining marks (so "negociation", typed without them, finds it too). Languages Snowball
has no stemmer for are only lowercased and stripped. Chinese, Japanese and Korean are
written without spaces: each of their characters is a term of its own, and a word of
several characters is looked for as a phrase of them, so a two-character word is found
wherever it appears.

A query is a list of clauses, each a word or a "quoted phrase", a leading ``-`` excluding
it; every other clause must be found. Only letters and digits reach a clause, so no query
can say anything in the syntax of either database's text search.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Protocol

__all__ = [
    "Clause",
    "candidates",
    "html_text",
    "parse_query",
    "pg_config",
    "spaced",
    "term",
    "terms",
    "tokens",
]

# ISO 639-1 code → Snowball algorithm (snowballstemmer.algorithms()).
_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "nb": "norwegian", "nn": "norwegian", "fa": "persian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian",
    "st": "sesotho", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish",
    "yi": "yiddish",
}  # fmt: skip
# Snowball's algorithms that PostgreSQL has no text-search configuration for (pg_ts_config,
# PostgreSQL 15): their languages use ``simple`` there.
_NOT_IN_PG = frozenset({"czech", "esperanto", "estonian", "persian", "polish", "sesotho"})
_MAX_CLAUSES = 12  # a query is a few words; a pasted paragraph is cut, not refused

# Han, kana, Hangul (syllables and jamo), CJK compatibility ideographs, CJK extension A.
_CJK = "\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_ARABIC = re.compile("[\u0600-\u06ff]")
# Combining marks with no precomposed letter to fold into (Arabic harakat, Hebrew points,
# Cyrillic titlo...), and the Arabic tatweel: part of the word around them, not a break.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed"
)
# A CJK character, or letters and digits (not CJK) with any marks among them.
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+(?:[{_MARKS}]+[^\\W_{_CJK}]*)*")
_CLAUSE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


def pg_config(language: str) -> str:
    """The PostgreSQL text-search configuration for ``language``: ``simple`` without a stemmer."""
    name = _SNOWBALL.get(language, "simple")
    return "simple" if name in _NOT_IN_PG else name


def tokens(text: str, start: int = 0) -> Iterator[re.Match[str]]:
    """The words of ``text`` from ``start`` where they stand in it (each CJK character is one)."""
    return _TOKEN.finditer(text, start)


@functools.lru_cache(maxsize=262_144)  # a newsroom's vocabulary: every word is seen again
def term(language: str, word: str) -> str:
    """The term ``word`` (one token) gives in a text of ``language``."""
    lowered = unicodedata.normalize("NFC", word.casefold())
    stemmer = _stemmer(language)
    if stemmer is None:
        stem = lowered
    else:
        with _STEMMING:  # a stemmer keeps its state in itself: one thread at a time
            stem = stemmer.stemWord(lowered)
    decomposed = unicodedata.normalize("NFD", stem)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c != "\u0640")


def terms(text: str, language: str) -> list[str]:
    """Every term of ``text``, in order."""
    return [t for match in _TOKEN.finditer(text) if (t := term(language, match.group()))]


@functools.lru_cache(maxsize=1024)
def candidates(firsts: frozenset[str]) -> re.Pattern[str]:
    """Where, in a lowercased text, a word whose term is one of ``firsts`` may be: a few
    more places than that, found far faster than by taking the term of every word
    (for highlighting).

    A stem begins as its word does, give or take accents, marks and the letters Arabic's
    stemmer makes one (its particles before the word are why the pattern looks inside
    words too): the first three letters of each term, each as any of its forms."""
    prefixes = sorted({_pattern(t[:3]) for t in firsts if t}, key=len, reverse=True)
    return re.compile("|".join(prefixes) or "(?!)")


def _pattern(prefix: str) -> str:
    letters = [f"[{_FORMS[c]}]" if c in _FORMS else re.escape(c) for c in prefix]
    # Arabic may write short vowels (harakat) between the letters of a word.
    return f"[{_MARKS}]*".join(letters) if _ARABIC.search(prefix) else "".join(letters)


def _letter_forms() -> dict[str, str]:
    """Each letter a term may hold → the lowercase letters that fold to it (``e`` → ``eéèêë…``).

    Latin-1, Latin Extended-A and Cyrillic: a larger character class makes each query's
    pattern slower to compile than its search is to run."""
    forms: dict[str, set[str]] = {}
    for code in (*range(0x00C0, 0x0180), *range(0x0400, 0x0460)):
        letter = chr(code).lower()
        folded = term("", letter)
        if len(folded) == 1 and folded != letter:
            forms.setdefault(folded, {folded}).add(letter)
    # What Snowball's Arabic stemmer makes one letter of: alef and hamza seats, yeh, teh.
    for base, others in (("ا", "أإآٱ"), ("ء", "أإؤئ"), ("ي", "ىئ"), ("ه", "ة"), ("و", "ؤ")):  # noqa: RUF001
        forms.setdefault(base, {base}).update(others)
    return {base: "".join(sorted(letters)) for base, letters in forms.items()}


def spaced(text: str) -> str:
    """``text`` with a space around each CJK character: how PostgreSQL's parser, which reads
    a run of them as one word, gets one term per character."""
    return _CJK_CHAR.sub(lambda m: f" {m.group()} ", text)


@dataclass(frozen=True, slots=True)
class Clause:
    words: tuple[str, ...]  # one word, or the words of a phrase, as typed (tokens)
    excluded: bool = False

    def terms(self, language: str) -> tuple[str, ...]:
        return tuple(t for word in self.words if (t := term(language, word)))

    def websearch(self) -> str:
        """The clause in ``websearch_to_tsquery``'s syntax: always a quoted phrase."""
        return ("-" if self.excluded else "") + '"' + spaced(" ".join(self.words)) + '"'


def parse_query(text: str) -> list[Clause]:
    """The clauses of a query as typed; an empty list when it has no word to look for."""
    clauses: list[Clause] = []
    for match in _CLAUSE.finditer(text):
        excluded = bool(match.group(1) or match.group(3))
        words = tuple(m.group() for m in _TOKEN.finditer(match.group(2) or match.group(4) or ""))
        if not words:
            continue
        # A run of CJK characters typed as one word is a phrase of its characters anyway.
        clauses.append(Clause(words, excluded))
        if len(clauses) == _MAX_CLAUSES:
            break
    return clauses if any(not c.excluded for c in clauses) else []


def html_text(html: str) -> str:
    """The text of a (sanitised) release body, its blocks on lines of their own."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"[ \t]*\n\s*", "\n", text).strip()


class _TextOf(HTMLParser):
    _BLOCKS = frozenset(
        ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "br", "pre")
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # snowballstemmer's name


_STEMMING = threading.Lock()  # the store indexes on its thread while the web app queries


@functools.cache
def _stemmer(language: str) -> _Stemmer | None:
    name = _SNOWBALL.get(language)
    if name is None:
        return None
    # Imported at the first stem (a fiftieth of a second): the commands that neither index
    # nor search, `feeds --out` with nothing new say, never load the stemmers.
    import snowballstemmer  # noqa: PLC0415

    stemmer: _Stemmer = snowballstemmer.stemmer(name)
    return stemmer


_FORMS = _letter_forms()
