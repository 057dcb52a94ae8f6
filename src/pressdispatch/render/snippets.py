"""Search results' titles and snippets, with the words a query found marked.

The text is cut into parts, each marked or not, and never into HTML: the template writes
each part autoescaped, inside ``<mark>`` when marked, so a release's text can never be
taken for markup. A word is marked when its term (``searchtext.term``, in the release's
language) is one of the query's, and the words of a phrase only where they stand together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pressdispatch.searchtext import Clause, term, tokens

__all__ = ["Part", "highlight", "snippet"]

_SPACE = re.compile(r"\s+")
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Part:
    text: str
    marked: bool = False


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
        blanks = [m.start() for m in _SPACE.finditer(text, start, end)]
        blanks = [at for at in blanks if at > start and not _inside(marks, at)]
        end = blanks[-1] if blanks else end
    parts = _parts(text, marks, start, end)
    if start > 0:
        parts.insert(0, Part(_ELLIPSIS))
    if end < len(text):
        parts.append(Part(_ELLIPSIS))
    return parts


def _marks(text: str, language: str, clauses: Sequence[Clause]) -> list[tuple[int, int]]:
    """The spans of ``text`` to mark, in order, not overlapping."""
    wanted = [c.terms(language) for c in clauses if not c.excluded]
    wanted = [w for w in wanted if w]
    if not wanted:
        return []
    firsts = {w[0] for w in wanted}
    found = [(m.start(), m.end(), term(language, m.group())) for m in tokens(text)]
    spans: list[tuple[int, int]] = []
    for i, (start, _, first) in enumerate(found):
        if first not in firsts:
            continue
        for phrase in wanted:
            n = len(phrase)
            if phrase[0] == first and tuple(t for _, _, t in found[i : i + n]) == phrase:
                spans.append((start, found[i + n - 1][1]))
                break
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


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
