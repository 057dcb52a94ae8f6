"""Load ``subscribers/*.csv``: each file is a list named after it.

Spreadsheets and CRMs export with or without a BOM, with ``,`` or ``;``. Rows
are read one at a time; a bad row is reported with its line and skipped (an
error) while the valid rows go through. What is used all the same (a column we
do not know, an address twice in one file) is a warning. A journalist on
several lists is one recipient:

- languages: in the order first seen (files by name, rows in order);
- regions and topics: united; an empty cell (= everything) on any list wins;
- embargo clearance: granted if any list grants it;
- name and outlet: from the first list that gives them.
"""

from __future__ import annotations

import codecs
import csv
import functools
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pressdispatch.characters import bad_character, printable
from pressdispatch.content.journalists import MAX_LENGTH, check_journalist, check_text
from pressdispatch.errors import Problem, Severity
from pressdispatch.model import Subscriber
from pressdispatch.regions import RegionTree
from pressdispatch.textfiles import FILE

COLUMNS = ("email", "name", "outlet", "languages", "regions", "topics", "embargo")
ROW = "(row)"  # the field of a problem with a row as a whole
_SPLIT = re.compile(r"[\s;,]+")
_YES = {"yes", "y", "true", "1", "x", "oui", "да", "sí", "si"}
_NO = {"no", "n", "false", "0", "", "non", "нет"}
_YES_OR_NO = _YES | _NO
_EVERYTHING: frozenset[str] = frozenset()  # shared: 100,000 journalists need not own one each
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode
_MAX_SPAN = 20  # lines to look ahead for the end of a quoted cell


@dataclass(frozen=True, slots=True)
class Row:
    """A valid row: one journalist as one list names them."""

    line: int
    subscriber: Subscriber
    everything_regions: bool
    everything_topics: bool


def read_subscriber_file(path: Path, regions: RegionTree) -> Iterator[Row | Problem]:
    """Yield each valid row and each problem, in file order, without loading the whole file."""
    list_name = path.stem
    try:
        with path.open("rb") as raw:
            if raw.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                yield Problem(path, 1, FILE, "UTF-16 text: save the file as CSV UTF-8")
                return
        with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            header_line = handle.readline()
            delimiter = _sniff(header_line)
            handle.seek(0)
            yield from _rows(_records(handle, delimiter, path), path, list_name, regions)
    except IsADirectoryError:
        yield Problem(path, None, FILE, "a folder, not a file")
    except FileNotFoundError:
        message = "a link to a file that does not exist" if path.is_symlink() else "missing"
        yield Problem(path, None, FILE, message)
    except OSError as exc:
        yield Problem(path, None, FILE, f"cannot read: {exc.strerror}")
    except csv.Error as exc:
        yield Problem(path, None, FILE, f"not a readable CSV file: {exc}")


def _sniff(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(
    lines: Iterable[str], delimiter: str, path: Path
) -> Iterator[tuple[int, list[str]] | Problem]:
    """Each physical line of the file as the cells of one row, with its line number.

    A cell of these lists never holds a line break, so a row is one line. A quoted
    cell still open at the end of its line is reported there, and reading goes on
    with the next line, so one stray quote cannot swallow the rows after it. When
    the cell is closed a few lines down (a line break inside quotes), those lines
    are skipped with it, as they belong to that one broken row.
    """
    source = enumerate(lines, start=1)
    ahead: deque[tuple[int, str]] = deque()
    while True:
        item = ahead.popleft() if ahead else next(source, None)
        if item is None:
            return
        number, text = item
        if '"' not in text or not _open_quote(text, delimiter):
            try:
                yield number, next(csv.reader([text], delimiter=delimiter), [])
            except csv.Error as exc:  # a cell over the csv module's 128 KiB, say
                yield Problem(path, number, ROW, f"cannot be read as CSV: {exc}")
            continue
        span = [item]
        while len(span) <= _MAX_SPAN:
            following = ahead.popleft() if ahead else next(source, None)
            if following is None:
                break
            span.append(following)
            joined = "".join(line for _, line in span)
            if not _open_quote(joined, delimiter):
                break
        if len(span) > 1 and _closes_cleanly("".join(line for _, line in span), delimiter):
            last = span[-1][0]
            message = (
                f"a quoted cell runs over lines {number}-{last}: a cell cannot hold a line "
                "break (the row is skipped)"
            )
            yield Problem(path, number, ROW, message)
            continue
        ahead.extendleft(reversed(span[1:]))  # not this row's: read them as rows
        message = 'a quoted cell is not closed on this line: add the closing " (the row is skipped)'
        yield Problem(path, number, ROW, message)


@functools.cache
def _line_patterns(delimiter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a row whose quoted cells are all closed, the same with nothing after a closing quote).

    The csv module's rules: a quote opens a quoted cell only as the cell's first
    character, and a doubled quote inside it is a quote. Judging a line with these
    before parsing it lets a stray quote be reported on its own line.
    """
    d = re.escape(delimiter)
    quoted = r'"(?:[^"]|"")*"'
    plain = rf'(?!")[^{d}\r\n]*'
    loose = rf'(?:{quoted}(?!")[^{d}\r\n]*|{plain})'
    strict = rf"(?:{quoted}|{plain})"
    end = r"(?:\r\n|\r|\n)?"
    return (
        re.compile(rf"{loose}(?:{d}{loose})*{end}"),
        re.compile(rf"{strict}(?:{d}{strict})*{end}"),
    )


def _open_quote(text: str, delimiter: str) -> bool:
    """Whether ``text`` ends inside a quoted cell."""
    return _line_patterns(delimiter)[0].fullmatch(text) is None


def _closes_cleanly(text: str, delimiter: str) -> bool:
    """Whether every quoted cell of ``text`` is closed, each quote right before a delimiter."""
    return _line_patterns(delimiter)[1].fullmatch(text) is not None


def _rows(
    records: Iterator[tuple[int, list[str]] | Problem],
    path: Path,
    list_name: str,
    regions: RegionTree,
) -> Iterator[Row | Problem]:
    first = next(records, None)
    if first is None:
        yield Problem(
            path, None, FILE, "empty file: the first row must name the columns (email, name, ...)"
        )
        return
    if isinstance(first, Problem):
        yield first
        return
    columns = [h.strip().lower() for h in first[1]]
    if "email" not in columns:
        found = ", ".join(printable(c) for c in columns)
        yield Problem(path, 1, "email", f"no 'email' column in the header row (found: {found})")
        return
    for name in columns:
        if name and name not in COLUMNS:
            known = ", ".join(COLUMNS)
            message = f"unknown column, ignored (known: {known})"
            yield Problem(path, 1, printable(name), message, Severity.WARNING)
    seen: dict[str, int] = {}
    for record in records:
        if isinstance(record, Problem):
            yield record
            continue
        line, cells = record
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            message = f"{len(cells)} cells but the header has {len(columns)} columns"
            yield Problem(path, line, ROW, message)
            continue
        fields = {columns[i]: c for i, c in enumerate(cells) if i < len(columns) and columns[i]}
        result = _parse_row(fields, path, line, list_name, regions)
        if isinstance(result, list):
            yield from result
            continue
        key = result.subscriber.key
        if key in seen:
            yield Problem(
                path,
                line,
                "email",
                f"{result.subscriber.email} is already on line {seen[key]} (merged)",
                Severity.WARNING,  # the row is used: merged into the first
            )
        else:
            seen[key] = line
        yield result


def _parse_row(
    record: dict[str, str], path: Path, line: int, list_name: str, regions: RegionTree
) -> Row | list[Problem]:
    problems: list[Problem] = []
    cells = [value for field, value in record.items() if field in COLUMNS]
    fine = max(map(len, cells), default=0) <= MAX_LENGTH and bad_character(" ".join(cells)) is None
    for field, value in () if fine else record.items():  # fine: nothing to tell, skip the cells
        if field not in COLUMNS or not value:
            continue  # an unknown column is reported once, in the header
        if _NOT_UTF8.search(value):
            problems.append(Problem(path, line, field, "not valid UTF-8 (save the file as UTF-8)"))
        else:
            problems.extend(
                Problem(path, line, w.field, w.message) for w in check_text(field, value)
            )
    if problems:
        return problems
    checked = check_journalist(
        email=record.get("email", ""),
        name=record.get("name", ""),
        outlet=record.get("outlet", ""),
        languages=_split(record.get("languages", "")),
        regions=_split(record.get("regions", "")),
        topics=_split(record.get("topics", "")),
        tree=regions,
    )
    if isinstance(checked, list):
        problems = [Problem(path, line, w.field, w.message) for w in checked]
    embargo_text = record.get("embargo", "").strip().lower()
    if embargo_text not in _YES_OR_NO:
        problems.append(
            Problem(path, line, "embargo", f"{record.get('embargo', '')!r}: write yes or no")
        )
    if problems or isinstance(checked, list):
        return problems
    subscriber = Subscriber(
        email=checked.email,
        name=checked.name,
        outlet=checked.outlet,
        languages=checked.languages,
        regions=frozenset(checked.regions) if checked.regions else _EVERYTHING,
        topics=frozenset(checked.topics) if checked.topics else _EVERYTHING,
        embargo=embargo_text in _YES,
        lists=(list_name,),
    )
    return Row(line, subscriber, not checked.regions, not checked.topics)


def _split(value: str) -> list[str]:
    return [part for part in _SPLIT.split(value.strip()) if part]


def read_lists(folder: Path, regions: RegionTree) -> Iterator[Row | Problem]:
    """Every row and problem of every list: files by name, rows in file order."""
    if not folder.is_dir():
        yield Problem(folder, None, "", "subscribers folder not found")
        return
    for path in sorted(folder.glob("*.csv")):
        yield from read_subscriber_file(path, regions)


def merge(rows: Sequence[Row]) -> Subscriber:
    """One journalist from the rows naming them, in list order (rules in the module docstring)."""
    entry = _Merge(rows[0])
    for row in rows[1:]:
        entry.add(row)
    return entry.result()


def load_subscribers(folder: Path, regions: RegionTree) -> tuple[list[Subscriber], list[Problem]]:
    """Every journalist across every list, merged by address, all in memory.

    For commands that look at the lists; the service syncs them into the store
    without holding them (``Journalists.sync``).
    """
    merged: dict[str, _Merge] = {}
    problems: list[Problem] = []
    for item in read_lists(folder, regions):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        entry = merged.get(item.subscriber.key)
        if entry is None:
            merged[item.subscriber.key] = _Merge(item)
        else:
            entry.add(item)
    return [m.result() for m in merged.values()], problems


class _Merge:
    __slots__ = ("email", "embargo", "languages", "lists", "name", "outlet", "regions", "topics")

    def __init__(self, row: Row) -> None:
        s = row.subscriber
        self.email, self.name, self.outlet = s.email, s.name, s.outlet
        self.languages = list(s.languages)
        self.regions: set[str] | None = None if row.everything_regions else set(s.regions)
        self.topics: set[str] | None = None if row.everything_topics else set(s.topics)
        self.embargo = s.embargo
        self.lists = list(s.lists)

    def add(self, row: Row) -> None:
        s = row.subscriber
        self.name = self.name or s.name
        self.outlet = self.outlet or s.outlet
        self.languages.extend(code for code in s.languages if code not in self.languages)
        self.regions = (
            None if self.regions is None or row.everything_regions else self.regions | s.regions
        )
        self.topics = (
            None if self.topics is None or row.everything_topics else self.topics | s.topics
        )
        self.embargo = self.embargo or s.embargo
        self.lists.extend(name for name in s.lists if name not in self.lists)

    def result(self) -> Subscriber:
        return Subscriber(
            email=self.email,
            name=self.name,
            outlet=self.outlet,
            languages=tuple(self.languages),
            regions=frozenset(self.regions) if self.regions else _EVERYTHING,
            topics=frozenset(self.topics) if self.topics else _EVERYTHING,
            embargo=self.embargo,
            lists=tuple(self.lists),
        )
