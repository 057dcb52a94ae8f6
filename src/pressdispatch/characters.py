"""Which characters a field may hold: one rule for every way text comes in.

Release files, subscriber lists, config.toml, the JSON API and the web forms all
check their text here, so a value refused in one is refused in all, with the same
words.

- A **single-line** field (a title, a name, an address, a CSV cell, a config value)
  holds no line break (CR, LF, VT, FF, NEL, U+2028, U+2029) and no control
  character: C0 (U+0000 to U+001F), DEL (U+007F) or C1 (U+0080 to U+009F). A tab
  is allowed unless the caller says otherwise: where runs of spaces are collapsed
  (names, outlets) it does no harm.
- A **text** field (a release body, a summary) may also hold tabs, CR and LF.
- No field holds a lone surrogate (U+D800 to U+DFFF): it cannot be written as
  UTF-8, so neither a file nor the database could keep it.

NUL is the reason this module exists: PostgreSQL cannot store it in a text
column, and a mail header must not carry it. The other control characters are
never meant in press material either; they come from pasted binary data or a
file saved in the wrong encoding, and some (ESC) would reach a terminal through
`pressdispatch check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BadCharacter", "bad_character", "printable"]

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and LF, DEL, C1 (CR, FF, VT are C0)
_SURROGATES = "\ud800-\udfff"
_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_SURROGATES}]")
_LINE = re.compile(f"[{_CONTROLS}\n\u2028\u2029{_SURROGATES}]")
_LINE_NO_TAB = re.compile(f"[\t{_CONTROLS}\n\u2028\u2029{_SURROGATES}]")
_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_NAMES = {
    "\x00": "NUL",
    "\t": "tab",
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x1b": "ESC",
    "\x7f": "DEL",
    "\x85": "NEL",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


@dataclass(frozen=True, slots=True)
class BadCharacter:
    """The first character of a value that the field cannot hold, and where it is."""

    char: str
    index: int  # in the value

    @property
    def is_line_break(self) -> bool:
        return self.char in _BREAKS

    @property
    def code(self) -> str:
        """``U+0000 (NUL)``: how messages name the character."""
        name = _NAMES.get(self.char)
        return f"U+{ord(self.char):04X}" + (f" ({name})" if name else "")

    def line(self, text: str) -> int:
        """1-based line of the character in ``text``, counting LF as the line break."""
        return text.count("\n", 0, self.index) + 1

    def column(self, text: str) -> int:
        """1-based column of the character on its line of ``text``."""
        return self.index - (text.rfind("\n", 0, self.index) + 1) + 1

    def message(self, where: str = "") -> str:
        """Why it is refused: ``line breaks are not allowed in the title``."""
        place = f" in {where}" if where else ""
        if self.char in "\r\n":
            return f"line breaks are not allowed{place}"
        if self.is_line_break:
            return f"line breaks are not allowed{place} (found {self.code})"
        if "\ud800" <= self.char <= "\udfff":
            return f"{self.code} is not a character (a lone surrogate) and cannot be stored{place}"
        return f"control character {self.code} is not allowed{place}"

    def __str__(self) -> str:
        return self.message()


def bad_character(value: str, *, lines: bool = False, tab: bool = True) -> BadCharacter | None:
    """The first character ``value`` may not hold, or None when every one is fine.

    ``lines``: a text field, where CR, LF and tab are fine. Otherwise a
    single-line field; ``tab=False`` refuses tabs there too (a title).
    """
    pattern = _TEXT if lines else (_LINE if tab else _LINE_NO_TAB)
    found = pattern.search(value)
    return BadCharacter(found.group(), found.start()) if found else None


def printable(value: str) -> str:
    """``value`` with every character no single-line field may hold shown as U+FFFD.

    For echoing a refused value back (in a form's error, a problem message)
    without sending the character itself to a page or a terminal.
    """
    return _LINE.sub("\ufffd", value)
