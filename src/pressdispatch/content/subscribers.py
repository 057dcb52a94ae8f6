"""Load ``subscribers/*.csv``: each file is a list named after it.

Spreadsheets and CRMs export with or without a BOM, with ``,`` or ``;``. Rows
are read one at a time; a bad row is reported with its line and skipped while
the valid rows go through. A journalist on several lists is one recipient:

- languages: in the order first seen (files by name, rows in order);
- regions and topics: united; an empty cell (= everything) on any list wins;
- embargo clearance: granted if any list grants it;
- name and outlet: from the first list that gives them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from email_validator import EmailNotValidError, validate_email

from pressdispatch.content.fields import TOPIC
from pressdispatch.errors import Problem, UnknownLanguage, UnknownRegion
from pressdispatch.model import Subscriber
from pressdispatch.regions import RegionTree
from pressdispatch.render.i18n import normalize_language

COLUMNS = ("email", "name", "outlet", "languages", "regions", "topics", "embargo")
_SPLIT = re.compile(r"[\s;,]+")
_YES = {"yes", "y", "true", "1", "x", "oui", "да", "sí", "si"}
_NO = {"no", "n", "false", "0", "", "non", "нет"}
_MAX_FIELD = 1000
_EVERYTHING: frozenset[str] = frozenset()  # shared: 100,000 journalists need not own one each
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode


class _CsvReader(Protocol):
    line_num: int

    def __next__(self) -> list[str]: ...


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
        with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            header_line = handle.readline()
            delimiter = _sniff(header_line)
            handle.seek(0)
            yield from _rows(csv.reader(handle, delimiter=delimiter), path, list_name, regions)
    except OSError as exc:
        yield Problem(path, None, "", f"cannot read: {exc.strerror}")
    except csv.Error as exc:
        yield Problem(path, None, "", f"not a readable CSV file: {exc}")


def _sniff(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(
    reader: _CsvReader, path: Path, list_name: str, regions: RegionTree
) -> Iterator[Row | Problem]:
    try:
        header = next(reader)
    except StopIteration:
        yield Problem(
            path, None, "", "empty file: the first row must name the columns (email, name, ...)"
        )
        return
    columns = [h.strip().lower() for h in header]
    if "email" not in columns:
        yield Problem(
            path, 1, "email", f"no 'email' column in the header row (found: {', '.join(columns)})"
        )
        return
    for name in columns:
        if name and name not in COLUMNS:
            yield Problem(path, 1, name, f"unknown column, ignored (known: {', '.join(COLUMNS)})")
    seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1  # a quoted cell may span lines: report where the row starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        if not any(c.strip() for c in cells):
            continue
        record = {columns[i]: c for i, c in enumerate(cells) if i < len(columns) and columns[i]}
        if len(cells) > len(columns):
            yield Problem(
                path, line, "", f"{len(cells)} cells but the header has {len(columns)} columns"
            )
            continue
        result = _parse_row(record, path, line, list_name, regions)
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
            )
        else:
            seen[key] = line
        yield result


def _parse_row(
    record: dict[str, str], path: Path, line: int, list_name: str, regions: RegionTree
) -> Row | list[Problem]:
    problems: list[Problem] = []

    def bad(field: str, message: str) -> None:
        problems.append(Problem(path, line, field, message))

    for field, value in record.items():
        if _NOT_UTF8.search(value):
            bad(field, "not valid UTF-8 (save the file as UTF-8)")
        elif len(value) > _MAX_FIELD:
            bad(field, f"longer than {_MAX_FIELD} characters")
    if problems:
        return problems
    raw_email = record.get("email", "").strip()
    email = ""
    if not raw_email:
        bad("email", "empty")
    else:
        try:
            email = validate_email(raw_email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            bad("email", f"{raw_email!r} is not a valid address: {exc}")
    name = " ".join(record.get("name", "").split())
    outlet = " ".join(record.get("outlet", "").split())
    languages: list[str] = []
    for code in _split(record.get("languages", "")):
        try:
            languages.append(normalize_language(code))
        except UnknownLanguage as exc:
            bad("languages", str(exc))
    region_slugs: list[str] = []
    for token in _split(record.get("regions", "")):
        try:
            region_slugs.append(regions.resolve(token))
        except UnknownRegion as exc:
            bad("regions", str(exc))
    topics = [t.lower() for t in _split(record.get("topics", ""))]
    for topic in topics:
        if not TOPIC.match(topic):
            bad("topics", f"{topic!r} must be a slug: lowercase letters, digits, hyphens")
    embargo_text = record.get("embargo", "").strip().lower()
    if embargo_text not in _YES | _NO:
        bad("embargo", f"{record.get('embargo', '')!r}: write yes or no")
    if problems:
        return problems
    subscriber = Subscriber(
        email=email,
        name=name,
        outlet=outlet,
        languages=tuple(dict.fromkeys(languages)),
        regions=frozenset(region_slugs) if region_slugs else _EVERYTHING,
        topics=frozenset(topics) if topics else _EVERYTHING,
        embargo=embargo_text in _YES,
        lists=(list_name,),
    )
    return Row(line, subscriber, not region_slugs, not topics)


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
    without holding them (``Directory.sync``).
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
