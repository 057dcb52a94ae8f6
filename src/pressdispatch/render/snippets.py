"""Search results' titles and snippets, with the words a query found marked.

The text is cut into parts, each marked or not, and never into HTML: ``marked`` (the
templates' filter) escapes each part and puts the marked ones inside ``<mark>``, so a
release's text can never be taken for markup. A word is marked when its term
(``searchtext.term``, in the release's language) is one of the query's, and the words of
a phrase only where they stand together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pressdispatch.searchtext import Clause, candidates, term, tokens

__all__ = ["Part", "highlight", "marked", "snippet"]

_SPACE = re.compile(r"\s+")
_MARK = Markup("<mark>%s</mark>")  # Markup's % escapes what it is given
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Part:
    text: str
    marked: bool = False


def marked(parts: Iterable[Part]) -> Markup:
    """The parts as HTML, each escaped, the marked ones in ``<mark>``: the templates'
    ``marked`` filter: forty calls a page, each cheaper than a macro's."""
    return Markup("").join(_MARK % p.text if p.marked else escape(p.text) for p in parts)


def highlight(text: str, language: str, clauses: Sequence[Clause]) -> list[Part]:
    """All of ``text``, the words the query found marked."""
    return _parts(text, _marks(text, language, clauses), 0, len(text))


def snippet(text: str, language: str, clauses: Sequence[Clause], width: int = 220) -> list[Part]:
    """About ``width`` characters of ``text`` around where the query found the most, cut at
    word boundaries and marked; its beginning when the query found nothing in it."""
    marks = _marks(text, language, clauses)
    start = 0
    if marks:
        first = _best_start(marks, width)
        start = max(0, first - width // 4)  # a little of what leads up to it
        if start > 0:
            blank = _SPACE.search(text, start, first)
            start = blank.end() if blank is not None else first
    end = min(len(text), start + width)
    if end < len(text):
        blanks = [m.start() for m in _SPACE.finditer(text, start + 1, end)]
        end = next((at for at in reversed(blanks) if not _inside(marks, at)), end)
    parts = _parts(text, marks, start, end)
    if start > 0:
        parts.insert(0, Part(_ELLIPSIS))
    if end < len(text):
        parts.append(Part(_ELLIPSIS))
    return parts


def _marks(text: str, language: str, clauses: Sequence[Clause]) -> list[tuple[int, int]]:
    """The spans of ``text`` to mark, in order, not overlapping.

    Only the words where one of the query's terms may begin (``candidates``) are looked
    at: taking the term of every word of twenty bodies would cost a search more than its
    query does."""
    wanted = [found for c in clauses if not c.excluded and (found := c.terms(language))]
    if not wanted:
        return []
    longest = max(map(len, wanted))
    lowered = text.lower()
    finder = candidates(frozenset(w[0] for w in wanted))
    # A letter whose lowercase is two (İ) moves the offsets: then every word is looked at.
    hits = finder.finditer(lowered) if len(lowered) == len(text) else tokens(text)
    spans: list[tuple[int, int]] = []
    done = 0  # where the last word looked at ended
    for hit in hits:
        if hit.start() < done:
            continue
        words = _words_at(text, hit.start(), longest)
        if not words:
            continue
        found = tuple(term(language, w.group()) for w in words)
        done = words[0].end()
        for phrase in wanted:
            if found[: len(phrase)] == phrase:
                spans.append((words[0].start(), words[len(phrase) - 1].end()))
                done = spans[-1][1]
                break
    return spans


def _words_at(text: str, offset: int, count: int) -> list[re.Match[str]]:
    """The word around ``offset`` and the ``count - 1`` after it."""
    start = max(text.rfind(" ", 0, offset) + 1, offset - 40)
    words: list[re.Match[str]] = []
    for word in tokens(text, start):
        if word.end() > offset:
            words.append(word)
            if len(words) == count:
                break
    return words


def _best_start(marks: Sequence[tuple[int, int]], width: int) -> int:
    """The start of the first mark of the ``width``-wide window that holds the most marks."""
    best, most, j = 0, 0, 0
    for i, (a, _) in enumerate(marks):
        j = max(j, i)
        while j + 1 < len(marks) and marks[j + 1][1] - a <= width:
            j += 1
        if j - i + 1 > most:
            best, most = a, j - i + 1
    return best


def _inside(marks: Sequence[tuple[int, int]], offset: int) -> bool:
    return any(a < offset < b for a, b in marks)


def _parts(text: str, marks: Sequence[tuple[int, int]], start: int, end: int) -> list[Part]:
    """``text[start:end]`` in parts, its runs of blanks (line breaks too) as one space."""
    parts: list[Part] = []
    at = start
    for first, last in marks:
        if last <= start or first >= end:
            continue
        a, b = max(first, start), min(last, end)
        if a > at:
            parts.append(Part(_SPACE.sub(" ", text[at:a])))
        parts.append(Part(_SPACE.sub(" ", text[a:b]), marked=True))
        at = b
    if at < end:
        parts.append(Part(_SPACE.sub(" ", text[at:end])))
    return parts
