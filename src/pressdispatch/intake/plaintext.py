"""The article in text copied out of a web page: past the site's menus, paragraphs rebuilt.

Copied text keeps the site around the article: menu labels one per line, a
breadcrumb, list items, and labels glued to the next text where the page drew them
side by side (``Qui sommes nous`` then ``Qui sommes nousL'Organisation…``). The
title is the first line that is none of these; the body follows it. A text file may
also be hard-wrapped at some width: there a line break inside a paragraph is only
the wrapping, told from a paragraph end by whether the next word would have fitted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pressdispatch.intake.prose import date_line_value

__all__ = ["TextArticle", "paragraphs", "read"]

# Confusable characters are written as escapes: \u2013 en dash, \u203a single guillemet.
_BULLET = re.compile(r"^\s*(?:(?P<mark>[-*+•·▪►▸◦‣\u2013—])|(?P<number>\d{1,2})[.)])\s+(?=\S)")
_CRUMB_SEPARATOR = r"\s(?:>|\u203a|»|/|\||→)\s"
_CRUMB = re.compile(_CRUMB_SEPARATOR + r"|\s>$")
_RULE = re.compile(r"^\s*([-=*_~#])(?:\s*\1){2,}\s*$")  # ----- or ===== or * * *
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff\ud800-\udfff]")
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
# Sentence ends, with the right single quote and the full-width ! ? : ; of Chinese.
_ENDS = frozenset('.!?:;…»"”\u2019。\uff01\uff1f\uff1a\uff1b」』؟')
_EMAIL = re.compile(r"\S+@\S+\.\w{2,}")
_PHONE = re.compile(
    r"\+\d[\d\s().\-/]{6,}\d|(?i:tel|tél|phone|mobile|mob|cell|fax|тел|моб|هاتف|电话|teléfono)\b"
)
_TITLE_WORDS = (4, 30)
_UNCASED_LINE_WORDS = 8
_CHROME_LINES = 400  # a site's menus, however large, come before this many lines


@dataclass(frozen=True, slots=True)
class TextArticle:
    """The title, the date line near it, and the body as Markdown blocks."""

    title: str
    day: date | None
    blocks: tuple[str, ...]


def read(text: str) -> TextArticle:
    """The article in ``text``: everything before its title is taken for the site's chrome."""
    lines = _clean(text)
    at = _title_index(lines)
    if at is None:
        return TextArticle(title="", day=None, blocks=paragraphs(lines))
    before = [line for line in lines[:at] if line.strip()]
    day = date_line_value(before[-1]) if before else None
    rest = lines[at + 1 :]
    following = next((i for i, line in enumerate(rest) if line.strip()), None)
    if following is not None and (found := date_line_value(rest[following])) is not None:
        day = found
        rest = rest[following + 1 :]
    title = re.sub(r"^#{1,6}\s+", "", lines[at].strip())
    return TextArticle(title=" ".join(title.split()), day=day, blocks=paragraphs(rest))


def _clean(text: str) -> list[str]:
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").expandtabs(4)
    return ["" if _RULE.match(line) else line.rstrip() for line in text.split("\n")]


def _weight(line: str) -> float:
    """About how many words: a Chinese or Japanese line counts characters, 2.5 to a word."""
    wide = len(_WIDE.findall(line))
    return wide / 2.5 if wide * 3 > len(line) else len(line.split())


def _title_index(lines: list[str]) -> int | None:
    seen: list[str] = []
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for position, i in enumerate(filled[:_CHROME_LINES]):
        line = lines[i].strip()
        if _is_title(line, seen) and not _in_menu(lines, filled[position + 1 : position + 3]):
            after = filled[position + 1] if position + 1 < len(filled) else None
            if after is None or after > i + 1 or not lines[after].lstrip()[:1].islower():
                return i
        seen.append(line)
    return None


def _is_title(line: str, seen: list[str]) -> bool:
    low, high = _TITLE_WORDS
    if not low <= _weight(line) <= high or line[-1] == "." or _contact(line):
        return False
    if _BULLET.match(line) or _crumbs(line) or line in seen:
        return False
    # A menu label glued to the text beside it: the label was seen alone before.
    return not any(
        len(label) >= 3 and line.startswith(label) and not line[len(label)].isspace()
        for label in seen
        if len(line) > len(label)
    )


def _crumbs(line: str) -> bool:
    parts = [p for p in re.split(_CRUMB_SEPARATOR, f" {line} ") if p.strip()]
    return bool(_CRUMB.search(line)) and len(parts) >= 2 and all(_weight(p) <= 5 for p in parts)


def _in_menu(lines: list[str], following: list[int]) -> bool:
    """True when the next two lines are short labels too: a long menu item, not a title."""
    if len(following) < 2:
        return False
    return all(
        _weight(lines[i]) < _TITLE_WORDS[0] and date_line_value(lines[i]) is None for i in following
    )


def _contact(line: str) -> bool:
    text = line.strip()
    return len(text.split()) <= 8 and bool(
        _EMAIL.search(text) or _PHONE.search(text) or re.search(r"https?://|www\.", text)
    )


def paragraphs(lines: list[str]) -> tuple[str, ...]:
    """Markdown blocks from text lines: paragraphs rejoined, list items as ``-`` / ``1.`` items."""
    width = _wrap_width([line for line in lines if line.strip()])
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[tuple[str, list[str]]] = []
    previous: str | None = None

    def flush() -> None:
        if paragraph:
            blocks.append(_escape(_join(paragraph)))
            paragraph.clear()
        if items:
            blocks.append("\n".join(f"{mark} {_join(parts)}" for mark, parts in items))
            items.clear()

    for line in lines:
        if not line.strip():
            if paragraph:
                flush()
            previous = None
            continue
        bullet = _BULLET.match(line)
        if bullet:
            if paragraph:
                flush()
            mark = f"{int(bullet['number'])}." if bullet["number"] else "-"
            items.append((mark, [line[bullet.end() :].strip()]))
        elif previous is not None and (items or paragraph) and _joins(previous, line, width):
            (items[-1][1] if items else paragraph).append(line.strip())
        elif items and previous is not None and line.startswith((" ", "\t")):
            items[-1][1].append(line.strip())  # an item's text, indented under it
        else:
            flush()
            paragraph.append(line.strip())
        previous = line
    flush()
    return tuple(blocks)


def _wrap_width(lines: list[str]) -> int | None:
    """The width the text is hard-wrapped at, or None when each line is a paragraph."""
    lengths = sorted(len(line) for line in lines)
    if len(lengths) < 3:
        return None
    width = lengths[-2]  # the longest line may be an unbreakable address…
    longest = max(lines, key=len)
    if not 30 <= width <= 120 or (len(longest) > width + 10 and " " in longest.strip()):
        return None  # …but not a sentence running past the width
    full = [line for line in lines if len(line) >= 0.75 * width]
    # A wrapped line ends a sentence only by chance; a paragraph on one line always does.
    open_ended = [line for line in full if not _ends_sentence(line)]
    return width if len(full) >= 3 and len(open_ended) * 2 >= len(full) else None


def _ends_sentence(line: str) -> bool:
    text = line.rstrip().rstrip(")]")
    return bool(text) and text[-1] in _ENDS


def _joins(previous: str, line: str, width: int | None) -> bool:
    """Whether ``line`` goes on the paragraph (or list item) ``previous`` belongs to."""
    head = line.strip()
    if _BULLET.match(line) or _contact(previous) or _contact(head):
        return False
    first = head[0]
    if width is not None:
        word = 1 if _WIDE.match(first) else len(head.split()[0])
        if len(previous.rstrip()) + 1 + word > width:
            return True  # the next word did not fit: the wrapping broke the line
    # A break the writer chose: inside a sentence only if the sentence goes on in lower case,
    # or, in a script without case (Chinese, Arabic), after a line too long for a heading.
    if _ends_sentence(previous):
        return False
    if first.isupper() or not first.isalpha():
        return False
    return first.islower() or _weight(previous) >= _UNCASED_LINE_WORDS


def _join(parts: list[str]) -> str:
    text = parts[0]
    for part in parts[1:]:
        if text.endswith("-") and text[-2:-1].isalpha() and part[:1].islower():
            text += part  # porte-/parole: the hyphen stays, it may be the word's own
        elif _WIDE.match(text[-1]) and _WIDE.match(part[0]):
            text += part
        else:
            text += " " + part
    return re.sub(r" {2,}", " ", text)


def _escape(paragraph: str) -> str:
    """Keep a paragraph a paragraph in Markdown: "2026. L'année…" is not a list item."""
    match = re.match(r"(\d+)([.)])(\s)", paragraph)
    if match:
        return f"{match[1]}\\{match[2]}{paragraph[match.end(1) + 1 :]}"
    if re.match(r"#{1,6}(?:\s|$)|>|[-+*]\s", paragraph):
        return "\\" + paragraph
    return paragraph
