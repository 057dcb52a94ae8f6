"""One press release read from its web page (HTML) or from the text copied out of it.

The article only: trafilatura takes it out of the page's menus, search forms,
"related" boxes and footers (:mod:`.plaintext` does the same for copied text). Both
doors end in Markdown blocks, from which the title heading and the date line are
dropped and the dateline is taken; the page's markup adds what it declares: title,
description, language, publication time and the other language versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.html import HtmlElement

from pressdispatch.intake import html_meta, plaintext
from pressdispatch.intake.language import detect_language
from pressdispatch.intake.prose import (
    date_line_value,
    first_sentence,
    is_prose,
    midnight_utc,
    parse_date,
    plain,
    split_dateline,
)

__all__ = ["Page", "detect_language", "read_html", "read_text"]

_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")


@dataclass(frozen=True, slots=True)
class Page:
    """What a page says of its article. An empty ``title`` means no article was found."""

    title: str
    summary: str  # og:description, else the first sentence of the body
    dateline: str  # the place only ("GENEVA", "Minsk, Belarus"); "" if none
    body_markdown: str  # blocks separated by blank lines; headings, lists, links as Markdown
    declared_language: str | None  # ISO 639-1, from the markup or the URL
    language_evidence: str  # how: "<html lang=fr-FR>", "og:locale=fr_FR", "URL path /fr/"
    published_at: datetime | None  # aware, UTC
    alternates: dict[str, str]  # language → absolute URL of the other versions


EMPTY = Page("", "", "", "", None, "", None, {})


def read_html(html: str, url: str | None = None) -> Page:
    """The article of one web page; ``url`` (where it was fetched) resolves its links.

    Never raises on odd markup: a page with no article gives a :class:`Page` whose
    title is empty, for the caller to report.
    """
    doc = html_meta.load(html, url)
    if doc is None:
        return EMPTY
    title = html_meta.title(doc)
    blocks = _markdown_blocks(html, url)
    blocks = _without_heading(blocks, {title, html_meta.heading(doc)})
    day, blocks = _without_date_line(blocks)
    if day is None and (written := html_meta.written_day(doc)) is not None:
        day = midnight_utc(written)
    clues = html_meta.language_clues(doc, url)
    declared = clues[0][0] if clues else None
    published = html_meta.published(doc)
    article = _article(title, blocks, html_meta.description(doc), published, day)
    return Page(
        title=article.title,
        summary=article.summary,
        dateline=article.dateline,
        body_markdown=article.body_markdown,
        declared_language=declared,
        language_evidence=_evidence(clues),
        published_at=article.published_at,
        alternates=html_meta.alternates(doc, url, declared),
    )


def read_text(text: str) -> Page:
    """The article in text copied out of a page; its language is for :func:`detect_language`."""
    found = plaintext.read(text)
    blocks = _without_heading(list(found.blocks), {found.title})
    day, blocks = _without_date_line(blocks)
    return _article(found.title, blocks, "", None, found.day or day)


def _markdown_blocks(html: str, url: str | None) -> list[str]:
    markdown = None
    for precise in (True, False):  # precision first; a short page may need the lenient pass
        doc = html_meta.load(html, url)  # trafilatura prunes the tree it is given
        markdown = _extract(doc, url, precise) if doc is not None else None
        if markdown:
            break
    return _blocks(markdown or "")


def _extract(doc: HtmlElement, url: str | None, precise: bool) -> str | None:
    # Imported here: trafilatura takes a third of a second to import, and every command
    # of the command line would pay it (the service imports the importer).
    import trafilatura  # noqa: PLC0415

    return trafilatura.extract(
        doc,
        url=url,
        output_format="markdown",
        include_links=True,
        include_formatting=True,
        include_comments=False,
        include_images=False,
        favor_precision=precise,
        favor_recall=not precise,
        deduplicate=False,
    )


def _blocks(markdown: str) -> list[str]:
    text = "\n".join(line.rstrip() for line in markdown.splitlines())
    return [_tidy(block.strip("\n")) for block in re.split(r"\n{2,}", text) if block.strip()]


def _tidy(block: str) -> str:
    """One line per paragraph and per list item: the page's own line breaks are only layout."""
    if is_prose(block) or block.startswith("#"):
        return " ".join(block.split())
    if not _LIST_ITEM.match(block):
        return block  # a table, quote or code keeps its lines
    items: list[str] = []
    for line in block.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        if _LIST_ITEM.match(line) or not items:
            items.append(indent + " ".join(line.split()))
        else:
            items[-1] += " " + " ".join(line.split())
    return "\n".join(items)


def _without_heading(blocks: list[str], titles: set[str]) -> list[str]:
    """The body without its leading title: an ``# h1``, or a heading or line that repeats it."""
    wanted = {_fold(t) for t in titles if t}
    if blocks:
        first = blocks[0]
        heading = re.match(r"#{1,6}\s+(.*)", first)
        text = _fold(plain(heading.group(1) if heading else first))
        if first.startswith("# ") or text in wanted:
            return blocks[1:]
    return blocks


def _without_date_line(blocks: list[str]) -> tuple[datetime | None, list[str]]:
    if blocks and is_prose(blocks[0]):
        day = date_line_value(plain(blocks[0]))
        if day is not None:
            return midnight_utc(day), blocks[1:]
    return None, blocks


def _article(
    title: str,
    blocks: list[str],
    description: str,
    published: datetime | None,
    day: datetime | date | None,
) -> Page:
    dateline = ""
    # The first paragraph, or the second after a standfirst, opens with the dateline.
    for n, block in enumerate(blocks[:2]):
        if not is_prose(block):
            break
        lead = split_dateline(block)
        if lead is not None:
            dateline, blocks = lead.place, [*blocks[:n], lead.rest, *blocks[n + 1 :]]
            if day is None and (written := parse_date(lead.date_text)) is not None:
                day = written
            break
    if published is None and day is not None:
        published = day if isinstance(day, datetime) else midnight_utc(day)
    opening = next((plain(b) for b in blocks if is_prose(b)), "")
    return Page(
        title=title,
        summary=description or first_sentence(opening),
        dateline=dateline,
        body_markdown="\n\n".join(blocks),
        declared_language=None,
        language_evidence="",
        published_at=published,
        alternates={},
    )


def _evidence(clues: list[tuple[str, str]]) -> str:
    """The first clue, which decided, and any that say another language."""
    if not clues:
        return ""
    chosen, how = clues[0]
    others = [f"{e} says {code}" for code, e in clues[1:] if code != chosen]
    return "; ".join([how, *others])


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())
