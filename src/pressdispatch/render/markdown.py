"""Release bodies: Markdown → sanitised HTML, plus a list of what the sanitiser removed.

The press office may paste raw HTML into a body. We keep the safe part and
report the rest (with its line) so `check` can tell them why a script or an
embedded frame did not make it into the email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

_TAGS = set(nh3.ALLOWED_TAGS)
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("a", set()).update({"href", "hreflang", "title"})
_ATTRIBUTES.setdefault("img", set()).update({"title"})
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


@dataclass(frozen=True, slots=True)
class Removal:
    """Something unsafe the sanitiser dropped, at ``line`` (1-based within the body)."""

    line: int
    what: str


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(body: str) -> tuple[str, list[Removal]]:
    """Render a Markdown body to safe HTML; also return what unsafe HTML was removed."""
    parser = _parser()
    tokens = parser.parse(body)
    removals = _unsafe_html(tokens)
    html = parser.renderer.render(tokens, parser.options, {})
    return sanitize_html(html), removals


def plain_text(body: str) -> str:
    """The body as written, for the text/plain part, without its raw HTML.

    Markdown reads well as plain text; HTML tags do not, and the unsafe ones
    must not reach a journalist in any part of the message.
    """
    lines = body.split("\n")
    for token in _parser().parse(body):
        if token.type == "html_block" and token.map:
            for n in range(*token.map):
                lines[n] = ""
        elif token.type == "inline" and token.children and token.map:
            for child in token.children:
                if child.type == "html_inline":
                    for n in range(*token.map):
                        lines[n] = lines[n].replace(child.content, "")
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _unsafe_html(tokens: list[Token]) -> list[Removal]:
    removals: list[Removal] = []
    for token in tokens:
        if token.type == "html_block" and token.map:
            removals.extend(_scan(token.content, token.map[0]))
        elif token.type == "inline" and token.children and token.map:
            position = 0  # where to look next, so repeated tags get their own lines
            for child in token.children:
                if child.type == "html_inline":
                    found = token.content.find(child.content, position)
                    position = found + len(child.content) if found >= 0 else position
                    line = token.map[0] + token.content.count("\n", 0, max(found, 0))
                    removals.extend(_scan(child.content, line))
    return removals


def _scan(html: str, first_line: int) -> list[Removal]:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return [Removal(first_line + line, what) for line, what in scanner.found]


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []

    def handle_comment(self, data: str) -> None:
        self.found.append((self.getpos()[0], "HTML comment removed"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        if tag not in _TAGS:
            self.found.append((line, f"<{tag}> removed"))
            return
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append((line, f"{name} attribute removed from <{tag}>"))
            elif name in {"href", "src"} and value is not None:
                scheme = value.strip().partition(":")[0].lower()
                if ":" in value and "/" not in scheme and scheme not in _URL_SCHEMES:
                    self.found.append((line, f"{scheme}: link removed from <{tag}>"))
            elif name == "style":
                self.found.append((line, f"style attribute removed from <{tag}>"))
