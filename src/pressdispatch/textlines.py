"""Find the line a TOML key sits on, so errors point at ``file:line``."""

from __future__ import annotations

import re
from collections.abc import Sequence

_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?\s*(?:#.*)?$")


def key_line(text: str, loc: Sequence[str | int]) -> int | None:
    """1-based line of the key at ``loc``: ``("smtp", "port")``, ``("contacts", "1", "email")``.

    Good enough for hand-written TOML: tables, arrays of tables and inline keys.
    Returns the closest enclosing line found when the key itself is absent.
    """
    lines = text.split("\n")  # as TOML counts lines: U+2028 and the like do not end one
    parts = [str(p) for p in loc]
    start, end = 0, len(lines)
    best: int | None = None
    i = 0
    while i < len(parts):
        part = parts[i]
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        if nxt is not None and nxt.isdigit():
            found = _nth_table(lines, part, int(nxt), start, end)
            if found is not None:
                best, start, end = found + 1, found + 1, _table_end(lines, found + 1, end)
                i += 2
                continue
            key = _key(lines, part, start, end)
            return key + 1 if key is not None else best
        table = _nth_table(lines, part, 0, start, end)
        if table is not None and nxt is not None:
            # A table holds its sub-tables too: [smtp] holds [[smtp.relays]].
            header = _TABLE.match(lines[table])
            name = header.group(1) if header else ""
            best, start = table + 1, table + 1
            end = _table_end(lines, table + 1, end, within=name)
            i += 1
            continue
        if table is None and nxt is not None and _key(lines, part, start, end) is None:
            i += 1  # [[smtp.relays]] without an [smtp] of its own: look for the sub-table
            continue
        key = _key(lines, part, start, end)
        if key is not None:
            return key + 1
        return table + 1 if table is not None else best
    return best


def _key(lines: list[str], key: str, start: int, end: int) -> int | None:
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for n in range(start, end):
        if _TABLE.match(lines[n]):
            return None
        if pattern.match(lines[n]):
            return n
    return None


def _nth_table(lines: list[str], name: str, index: int, start: int, end: int) -> int | None:
    seen = 0
    for n in range(start, end):
        match = _TABLE.match(lines[n])
        if match and match.group(1).split(".")[-1].strip('"') == name:
            if seen == index:
                return n
            seen += 1
    return None


def _table_end(lines: list[str], start: int, end: int, *, within: str = "") -> int:
    for n in range(start, end):
        match = _TABLE.match(lines[n])
        if match and not (within and match.group(1).startswith(within + ".")):
            return n
    return end
