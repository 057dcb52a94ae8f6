"""Reading the text files a press office writes: release.toml, ``<lang>.md``, config.toml.

Every loader reads through here, so a file that cannot be used is reported the same
way wherever it is: ``path:line: (file): message``, as a :class:`ContentError`.

- Files are UTF-8, with or without a byte-order mark (Windows editors and Excel
  write one). A byte that is not UTF-8 is reported at its line and column.
- A folder, a link to nothing or a file we may not read where a file should be is
  a problem of that file, never a crash of the whole scan.
- A TOML syntax error names the key on the line at fault. A date-time that TOML
  cannot read (``+25:00``, ``2026-13-01``) gets the message a date-time of the wrong
  kind gets, since that is what the author will look for.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from pathlib import Path
from typing import Any

from pressdispatch.characters import bad_character
from pressdispatch.errors import ContentError, Problem

__all__ = ["EXAMPLE_TIME", "FILE", "decode", "parse_toml", "read_text"]

FILE = "(file)"  # the field of a problem with the file as a whole
EXAMPLE_TIME = "e.g. 2026-12-01T10:00:00+01:00"

_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")
_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=\s*(.*)$")
_TABLE = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d")
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)$")
_PLAINER = {  # tomllib's words for the two slips people make most
    r"Illegal character '\n'": "a quoted string is not closed on this line",
    "Unterminated string": "a quoted string is not closed",
    "Cannot overwrite a value": "this key is already set above",
}


def read_text(path: Path) -> str:
    """The text of ``path`` without its byte-order mark; ContentError if it cannot be used."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ContentError(Problem(path, None, FILE, "a folder, not a file")) from None
    except FileNotFoundError:
        message = "a link to a file that does not exist" if path.is_symlink() else "missing"
        raise ContentError(Problem(path, None, FILE, message)) from None
    except PermissionError:
        raise ContentError(Problem(path, None, FILE, "cannot read: permission denied")) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ContentError(Problem(path, None, FILE, f"cannot read: {reason}")) from None
    return decode(data, path)


def decode(data: bytes, path: Path) -> str:
    """UTF-8 ``data`` as text, without a byte-order mark; ContentError at the first bad byte."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith(_UTF16):
        message = "UTF-16 text: save the file as UTF-8"
        raise ContentError(Problem(path, 1, FILE, message))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        message = (
            f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at column {column}): "
            "save the file as UTF-8"
        )
        raise ContentError(Problem(path, line, FILE, message)) from None


def parse_toml(text: str, path: Path, *, first_line: int = 1) -> dict[str, Any]:
    """``tomllib.loads``; a syntax error is a ContentError naming the line and its key.

    ``first_line``: the line of the file ``text`` starts on (front matter starts on 2).
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(_syntax_problem(str(exc), text, path, first_line)) from None


def _syntax_problem(error: str, text: str, path: Path, first_line: int) -> Problem:
    lines = [line.removesuffix("\r") for line in text.split("\n")]  # as tomllib counts them
    at = _AT.search(error)
    if at is not None:
        reason, number, column = error[: at.start()], int(at.group(1)), int(at.group(2))
    elif (end := _AT_END.search(error)) is not None:
        reason, number, column = error[: end.start()], len(lines), len(lines[-1]) + 1
    else:
        return Problem(path, first_line, FILE, f"not valid TOML: {error}")
    source = lines[min(number, len(lines)) - 1]
    line = number + first_line - 1
    # The key names the problem only when the error is in its value: an array left
    # open on line 2 is noticed at the start of line 3, which is not line 3's fault.
    key, value = _key_and_value(lines, number)
    field = key if key and column > source.find("=") + 1 else FILE
    bad = bad_character(source)
    if bad is not None:
        return Problem(path, line, field, bad.message())
    if field != FILE and _DATE.match(value) and not _valid_value(value):
        return Problem(path, line, field, _time_message(value))
    reason = _PLAINER.get(reason, reason)
    return Problem(path, line, field, f"not valid TOML: {reason} (column {column})")


def _key_and_value(lines: list[str], number: int) -> tuple[str, str]:
    """The dotted key set on line ``number`` (1-based) with its table, and the value text."""
    if number > len(lines):
        return "", ""
    match = _KEY.match(lines[number - 1])
    if match is None:
        return "", ""
    key = ".".join(part.strip().strip("\"'") for part in match.group(1).split("."))
    for previous in reversed(lines[: number - 1]):
        table = _TABLE.match(previous)
        if table:
            key = f"{table.group(1).strip()}.{key}"
            break
    value = match.group(2).split("#", 1)[0].strip()
    return key, value


def _valid_value(value: str) -> bool:
    try:
        tomllib.loads(f"value = {value}")
    except tomllib.TOMLDecodeError:
        return False
    return True


def _time_message(value: str) -> str:
    message = f"expected a date and time with a UTC offset ({EXAMPLE_TIME}), got {value}"
    offset = _OFFSET.search(value)
    if offset and (int(offset.group(2)) > 23 or int(offset.group(3)) > 59):
        return f"{message}: a UTC offset is between -23:59 and +23:59"
    return message
