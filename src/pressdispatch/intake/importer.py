"""One page of the press office's website (or its text) → one release folder.

``import_source`` reads a source (a URL, a saved ``.html`` page, a ``.txt`` of a
page's text, or standard input), finds the article (page.py), its language, its
other language versions (for a URL: the page's ``hreflang`` links on the same
site), its media contacts (contacts.py) and the countries it is about
(countries.py), and writes ``releases/<id>/`` through the writer the API uses:
checked by the same loader as `pressdispatch check`, and put in place whole or not
at all. A draft unless asked otherwise; drafts are never sent.

Importing a URL that was imported before finds its folder (``[source] url``) and
writes nothing, unless ``update`` is asked and the release is a draft whose
sending has not started.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from pressdispatch.config import Settings
from pressdispatch.content import writer
from pressdispatch.content.releases import load_release
from pressdispatch.errors import PressDispatchError, Problem
from pressdispatch.intake.contacts import extract_contacts
from pressdispatch.intake.countries import Country, find_countries
from pressdispatch.intake.fetch import Fetched, FetchError, fetch, same_site
from pressdispatch.intake.page import Page, detect_language, read_html, read_text
from pressdispatch.intake.provenance import imported_urls
from pressdispatch.model import Contact
from pressdispatch.regions import RegionTree

__all__ = [
    "ImportFailed",
    "Imported",
    "Options",
    "import_source",
    "release_id_for",
]

HOLD = timedelta(hours=1)
_MAX_SLUG = 60
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|article|p|div)[\s>]", re.I)
# Release ids are ASCII: a Russian title gives a readable one, transliterated.
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
        (
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
            "i",
            "i",
            "e",
            "g",
            "u",
        ),
        strict=True,
    )
)


class ImportFailed(PressDispatchError):
    """A source could not be imported; nothing was written."""


@dataclass(frozen=True, slots=True)
class Options:
    language: str | None = None  # the source's language, when its own clues are wrong
    release_id: str | None = None
    status: str = "draft"
    publish_at: datetime | None = None
    hold: timedelta = HOLD  # publish_at is at least this long after the import
    translations: bool = True  # follow a URL's hreflang links to its other languages
    update: bool = False  # rewrite an earlier import of the same URL, if still a draft
    regions: Sequence[str] = ()  # when the text names no country
    topics: Sequence[str] = ()
    guid: str = ""  # the feed entry it comes from


@dataclass
class Imported:
    release_id: str
    folder: Path
    created: bool = True  # False: imported before (the folder is reported, left alone)
    updated: bool = False
    notes: list[str] = field(default_factory=list)  # what the press officer should check


@dataclass(frozen=True, slots=True)
class _Version:
    language: str
    page: Page


@dataclass(frozen=True, slots=True)
class _Read:
    page: Page
    url: str  # "" for a file or standard input
    label: str  # the file's name, for [source] file
    raw: bytes
    fetched_at: datetime


Started = Callable[[str], Awaitable[bool]]  # whether a release's sending has begun


async def import_source(
    source: str,
    settings: Settings,
    regions: RegionTree,
    now: datetime,
    options: Options,
    *,
    client: httpx.AsyncClient,
    stdin: bytes | None = None,
    started: Started | None = None,
    known: dict[str, str] | None = None,
) -> Imported:
    """Import one source into ``settings.paths.releases``; ImportFailed when it cannot be.

    ``known`` is :func:`imported_urls` of the releases, for a caller importing many
    sources in a row: read once, and kept up to date here."""
    root = settings.paths.releases
    is_url = source.startswith(("http://", "https://"))
    if known is None:
        known = imported_urls(root) if is_url else {}
    existing = known.get(source) if is_url else None
    if existing is not None and not options.update:
        return Imported(existing, root / existing, created=False, notes=["imported before"])
    read = await _read(source, client, now, stdin)
    offered = settings.newsroom.languages
    notes: list[str] = []
    # Reading, checking and writing take CPU and the disk: off the event loop, which
    # may be the service's (the poller, the console) and must keep sending and serving.
    language = await asyncio.to_thread(_language, read.page, offered, options.language, notes)
    versions = [_Version(language, read.page)]
    if is_url and options.translations:
        versions += await _translations(read, language, offered, client, now, notes)
    contacts, versions = await asyncio.to_thread(_contacts, versions)
    found = await asyncio.to_thread(find_countries, _about(read.page), language)
    countries = [c for c in found if c.code.lower() in regions]  # the region list's own
    publish_at = options.publish_at or _minute(
        max(read.page.published_at or now, now + options.hold)
    )
    publish_at = publish_at.astimezone(settings.newsroom.zone)
    dated = (read.page.published_at or publish_at).astimezone(settings.newsroom.zone)
    release_id = options.release_id or existing or _unique_id(root, dated, versions, read.url)
    files = _files(read, versions, contacts, countries, publish_at, options, notes)
    load = functools.partial(
        load_release,
        regions=regions,
        languages=offered,
        default_language=settings.newsroom.default_language,
        max_body_size=settings.content.max_body_size,
    )
    if existing is not None:
        return await _update(root, existing, files, load, started, notes)
    try:
        release, problems = await asyncio.to_thread(
            writer.create_release, root, release_id, files, load
        )
    except writer.ReleaseExists:
        raise ImportFailed(f"{source}: a release {release_id!r} already exists") from None
    _refused(source, release is None, problems)
    notes += [f"{p.field}: {p.message}" for p in problems]
    if read.url:
        known[source] = known[read.url] = release_id
    return Imported(release_id, root / release_id, notes=notes)


async def _read(
    source: str, client: httpx.AsyncClient, now: datetime, stdin: bytes | None
) -> _Read:
    if source.startswith(("http://", "https://")):
        try:
            got = await fetch(client, source, now)
        except FetchError as exc:
            raise ImportFailed(str(exc)) from None
        page = await asyncio.to_thread(read_html, got.text, got.url)
        return _Read(_article(page, source), got.url, "", got.raw, now)
    if source == "-":
        raw = stdin or b""
        label = ""
        html = bool(_HTML.search(raw[:4096]))
    else:
        path = Path(source)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ImportFailed(f"{source}: {exc.strerror or exc}") from None
        label = path.name
        suffix = path.suffix.lower()
        html = suffix in (".html", ".htm") or (
            suffix not in (".txt", ".text") and bool(_HTML.search(raw[:4096]))
        )
    text = raw.decode("utf-8", "replace")
    page = await asyncio.to_thread(read_html if html else read_text, text)
    return _Read(_article(page, source), "", label, raw, now)


def _article(page: Page, source: str) -> Page:
    if not page.title or not page.body_markdown.strip():
        shown = "standard input" if source == "-" else source
        raise ImportFailed(f"{shown}: no article found in it (a title and some text)")
    return page


def _language(page: Page, offered: Sequence[str], chosen: str | None, notes: list[str]) -> str:
    """The page's language: as asked, else as it declares, checked against its text."""
    detected = detect_language(f"{page.title}\n{page.body_markdown}", offered)
    if chosen:
        if detected and detected != chosen:
            notes.append(
                f"language: imported as {chosen!r} as asked; its text reads as {detected!r}"
            )
        return chosen
    declared = page.declared_language
    if declared and detected and declared != detected:
        notes.append(
            f"language: the page says {declared!r} ({page.language_evidence}) but its text "
            f"reads as {detected!r}: imported as {declared!r}; pass --lang to choose"
        )
    language = declared or detected
    if language is None:
        raise ImportFailed("cannot tell the page's language: pass --lang")
    if language not in offered:
        offered_list = ", ".join(offered)
        raise ImportFailed(
            f"the page is in {language!r}, which the newsroom does not offer ({offered_list})"
        )
    return language


async def _translations(
    read: _Read,
    language: str,
    offered: Sequence[str],
    client: httpx.AsyncClient,
    now: datetime,
    notes: list[str],
) -> list[_Version]:
    versions = []
    for other, url in read.page.alternates.items():
        if other == language or other not in offered:
            continue
        if not same_site(read.url, url):
            notes.append(f"translations: {other} is on another site ({url}): not imported")
            continue
        try:
            got: Fetched = await fetch(client, url, now)
        except FetchError as exc:
            notes.append(f"translations: {other} not imported: {exc}")
            continue
        page = await asyncio.to_thread(read_html, got.text, got.url)
        if page.title and page.body_markdown.strip():
            versions.append(_Version(other, page))
        else:
            notes.append(f"translations: {other} ({url}): no article found in it")
    return versions


def _contacts(versions: list[_Version]) -> tuple[list[Contact], list[_Version]]:
    """The media contacts (of the original, else the first version that has them), and
    every version without its contact block."""
    contacts: list[Contact] = []
    cleaned = []
    for version in versions:
        found, body = extract_contacts(version.page.body_markdown, version.language)
        contacts = contacts or found
        page = version.page
        cleaned.append(_Version(version.language, _with_body(page, body)))
    return contacts, cleaned


def _with_body(page: Page, body: str) -> Page:
    return replace(page, body_markdown=body.strip() + "\n")


def _about(page: Page) -> str:
    return "\n".join((page.title, page.dateline, page.body_markdown))


def _files(
    read: _Read,
    versions: Sequence[_Version],
    contacts: Sequence[Contact],
    countries: Sequence[Country],
    publish_at: datetime,
    options: Options,
    notes: list[str],
) -> dict[str, str]:
    if countries:
        regions = [c.code for c in countries]
        evidence = ["countries found in the text (check them):"] + [
            f"  {c.code}: " + ", ".join(f'"{word}"' for word in c.evidence) for c in countries
        ]
    else:
        regions = list(options.regions) or ["world"]
        evidence = ["no country found in the text: set the places this release is about"]
        notes.append("regions: no country found in the text: " + ", ".join(regions))
    meta: dict[str, writer.TomlValue | None] = {
        "publish_at": publish_at,
        "status": options.status,
        "original_language": versions[0].language,
        "regions": regions,
        "topics": list(options.topics),
    }
    source: dict[str, writer.TomlValue] = {}
    if read.url:
        source["url"] = read.url
    elif read.label:
        source["file"] = read.label
    if options.guid:
        source["guid"] = options.guid
    source["fetched_at"] = read.fetched_at.replace(microsecond=0)
    source["sha256"] = hashlib.sha256(read.raw).hexdigest()
    people = [_contact(c) for c in contacts if c.name]
    files = {
        "release.toml": writer.release_toml(
            meta, people, source=source, comments={"regions": evidence}
        )
    }
    for version in versions:
        page = version.page
        front = {
            "title": page.title,
            "summary": page.summary or None,
            "dateline": page.dateline or None,
        }
        files[f"{version.language}.md"] = writer.language_file(front, page.body_markdown)
    return files


def _minute(moment: datetime) -> datetime:
    """The next whole minute from ``moment``: a time a press officer reads at a glance."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def _contact(contact: Contact) -> dict[str, str]:
    fields = {
        "name": contact.name,
        "role": contact.role,
        "phone": contact.phone,
        "email": contact.email,
    }
    return {key: value for key, value in fields.items() if value}


def _unique_id(root: Path, publish_at: datetime, versions: Sequence[_Version], url: str) -> str:
    titles = [v.page.title for v in versions]
    return release_id_for(root, publish_at, titles, language=versions[0].language, url=url)


def release_id_for(
    root: Path, publish_at: datetime, titles: Sequence[str], *, language: str = "", url: str = ""
) -> str:
    """``<date>-<title slug>``, from the first title that gives one (else the page
    address's last part, else the language and a short digest of the first title: an
    Arabic or Chinese title has no Latin letters to make one); made unique in ``root``."""
    slug = next((s for title in titles if (s := _slug(title))), "")
    if not slug:
        last = _slug(url.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]) if url else ""
        first = titles[0] if titles else ""
        digest = hashlib.sha256(first.encode()).hexdigest()[:8]
        slug = last if re.search(r"[a-z]{3}", last) else f"{language or 'release'}-{digest}"
    base = f"{publish_at:%Y-%m-%d}-{slug}"
    candidate, n = base, 2
    while (root / candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _slug(title: str) -> str:
    text = "".join(_CYRILLIC.get(ch, ch) for ch in title.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", text)
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > _MAX_SLUG:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug


def _refused(source: str, refused: bool, problems: Sequence[Problem]) -> None:
    if refused:
        details = "; ".join(f"{p.field}: {p.message}" for p in problems if p.is_error)
        raise ImportFailed(f"{source}: the release it gives does not load: {details}")


async def _update(
    root: Path,
    release_id: str,
    files: Mapping[str, str],
    load: writer.Load,
    started: Started | None,
    notes: list[str],
) -> Imported:
    folder = root / release_id
    try:
        data = tomllib.loads((folder / "release.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError) as exc:
        raise ImportFailed(f"{release_id}: its release.toml cannot be read ({exc})") from None
    if data.get("status") != "draft":
        raise ImportFailed(f"{release_id} is not a draft any more: it is not rewritten")
    if started is not None and await started(release_id):
        raise ImportFailed(f"{release_id} has started sending: it is not rewritten")
    release, problems = await asyncio.to_thread(writer.rewrite_release, folder, files, load)
    _refused(release_id, release is None, problems)
    notes += [f"{p.field}: {p.message}" for p in problems]
    return Imported(release_id, folder, created=False, updated=True, notes=notes)
