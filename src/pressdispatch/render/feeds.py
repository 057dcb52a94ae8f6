"""Public releases → Atom 1.0 and RSS 2.0 feeds, and the OPML list of every feed. Pure.

A feed is named by a :class:`FeedSpec`: a language (ISO 639-1 code or ``all``),
a region (a canonical slug from the M49 tree or ``all``), an optional topic and
a kind (``atom`` or ``rss``). Its URL is ``/feeds/<language>/<region>.<kind>``,
with ``?topic=<topic>`` when there is one.

What goes in:

- A **language feed** (``fr``) has one entry per release that has a French
  version, in French.
- The **all-languages feed** (``all``) has one entry per release, in the
  release's original language, with ``hreflang`` links to every other version.
  A journalist who reads several languages subscribes to it once and sees each
  release once; the translations are one click away.
- **Regions** follow the rule of the email matching (:meth:`RegionTree.matches`):
  the ``europe`` feed carries releases about ``by`` (inside Europe) and about
  ``world`` (which contains Europe), not about ``fr``-only neighbours outside it.
- At most ``max_entries`` entries, newest first (the order of the releases given).

Each feed names an XSL stylesheet (:func:`stylesheet_href`, served by web/feedpages.py)
in an ``xml-stylesheet`` processing instruction: opened in a browser, a feed reads as a
page that says to copy its address into a feed reader. Readers ignore it.

The bytes depend only on the arguments, never on the wall clock, so the
static export (``pressdispatch feeds --out``) is byte-identical to what the web
app serves: the feed's ``updated`` is the newest entry's publication time. An
empty feed takes the newsroom's first publication (the oldest public release):
it has had nothing since then at least, and a publication elsewhere does not
change it; only a newsroom with nothing public at all falls back to
:data:`EPOCH`. Entries have no separate edit time: the text a release is
published with is frozen when its dispatch starts, so ``updated`` is
``published``.

**Validators without building.** :class:`FeedIndex` gives a feed's ETag from
what its bytes are made of (the settings and builder, see
:func:`site_fingerprint`; the feed's name; its ``updated``; each entry's fields
as the builder uses them), so a conditional request or the static export can
tell "unchanged" without rendering. The web app and the export use it for every
feed they build, so the ETag a 304 confirms is the one the bytes were sent with.

An entry carries: a tag URI id (:func:`entry_id`, the same in every feed that
carries that version), title, summary (the title when the version has none),
the sanitised HTML body after a dateline paragraph (``MINSK, 2 December 2026``,
as the email shows it), published and updated times with the newsroom's UTC
offset, the press office as author, and categories for regions and topics with
``scheme`` (RSS: ``domain``) ``<base_url>/regions/`` and ``<base_url>/topics/``. A
topic's Atom ``label`` and its RSS text are its name in the entry's language
(topics.toml), as feed readers show that text as the tag; the slug stays the Atom
``term``. A region's RSS text stays its slug.
Atom entries link to every version with ``rel="alternate" hreflang``, their own
first (what most readers take as the entry's link; feedparser reports the last
one as ``entry.link``, its ``entry.links`` keeps the order). Each Atom entry has
its ``xml:lang``; each RSS item its ``dc:language``, with a ``guid`` that is not a
permalink, ``pubDate``, and the body in ``content:encoded``.

Built with feedgen 1.0, with extensions registered by class and one repair: its
Atom entry links lose every attribute but ``href`` (feedgen issue #135), so
:class:`_Entry` sets them back on the generated element, together with the
entry's ``xml:lang``. The generator is ``pressdispatch`` without a version, so
the bytes do not change with feedgen's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from html import escape
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit
from xml.etree import ElementTree as ET

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseExtension
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.feed import FeedGenerator

from pressdispatch.config import NewsroomSection, Settings
from pressdispatch.model import Release, TopicNames, Translation
from pressdispatch.regions import RegionTree
from pressdispatch.render import i18n
from pressdispatch.render.email import release_url

__all__ = [
    "ALL",
    "EPOCH",
    "KINDS",
    "MEDIA_TYPES",
    "OPML_PATH",
    "FeedIndex",
    "FeedKind",
    "FeedSite",
    "FeedSpec",
    "build_feed",
    "build_opml",
    "entry_id",
    "feed_language",
    "feed_specs",
    "feed_title",
    "feed_updated",
    "feed_urls_for",
    "listed_specs",
    "page_url",
    "region_name",
    "select_entries",
    "site_fingerprint",
    "stylesheet_href",
]

ALL = "all"
FeedKind = Literal["atom", "rss"]
KINDS: tuple[FeedKind, ...] = ("atom", "rss")
MEDIA_TYPES: Mapping[str, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
}
#: ``updated`` of an empty feed while nothing at all is public (there is no better instant).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Part of every ETag: raise it when the builder writes other bytes for the same inputs in
#: a way the probe feeds of :func:`site_fingerprint` would not show.
FEED_FORMAT = 3
GENERATOR = "pressdispatch"
OPML_PATH = "feeds.opml"

_ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """Which feed: ``/feeds/<language>/<region>.<kind>[?topic=<topic>]``."""

    language: str  # ISO 639-1 code or "all"
    region: str  # canonical region slug or "all"
    kind: FeedKind
    topic: str | None = None

    @property
    def path(self) -> str:
        """The path of the feed, also its file name under the export folder."""
        return f"/feeds/{self.language}/{self.region}.{self.kind}"

    def url(self, base_url: str) -> str:
        query = f"?{urlencode({'topic': self.topic})}" if self.topic else ""
        return f"{base_url}{self.path}{query}"


@dataclass(frozen=True, slots=True)
class FeedSite:
    """What every feed of one newsroom shares: built once from Settings."""

    newsroom: NewsroomSection
    regions: RegionTree
    max_entries: int = 50
    hub: str = ""
    topics: TopicNames = field(default_factory=TopicNames)

    @classmethod
    def of(
        cls, settings: Settings, regions: RegionTree, topics: TopicNames | None = None
    ) -> FeedSite:
        feeds = settings.feeds
        names = topics if topics is not None else TopicNames()
        return cls(settings.newsroom, regions, feeds.max_entries, feeds.websub_hub, names)

    @property
    def base_url(self) -> str:
        return self.newsroom.base_url

    def languages(self) -> tuple[str, ...]:
        """Every language a feed may have: ``all``, then the newsroom's languages."""
        return (ALL, *self.newsroom.languages)

    def region_slugs(self) -> Iterator[str]:
        """Every region a feed may have: ``all``, then the M49 tree from ``world`` down."""
        yield ALL
        for region in self.regions:
            yield region.slug

    def knows(self, language: str, region: str) -> bool:
        """True if ``/feeds/<language>/<region>`` exists (exact, canonical spelling)."""
        return language in self.languages() and (region == ALL or region in self.regions)


def feed_specs(site: FeedSite) -> Iterator[FeedSpec]:
    """Every feed of the newsroom (without topic filters): each one the app answers."""
    for kind in KINDS:
        for language in site.languages():
            for region in site.region_slugs():
                yield FeedSpec(language, region, kind)


def listed_specs(site: FeedSite, releases: Iterable[Release]) -> Iterator[FeedSpec]:
    """The feeds the OPML lists and the export writes, in OPML order.

    Every region feed (``all`` and the M49 regions), and a country's feed in a
    language once a public release names that country and has a version in that
    language (``all``: any version). A country nobody wrote about would list
    hundreds of feeds that only repeat their region's.
    """
    named: dict[str, set[str]] = {language: set() for language in site.languages()}
    for release in releases:
        for slug in release.regions:
            named[ALL].add(slug)
            for language in release.translations:
                if language in named:
                    named[language].add(slug)
    for kind in KINDS:
        for language in site.languages():
            yield FeedSpec(language, ALL, kind)
            for region in site.regions:
                if not region.is_country or region.slug in named[language]:
                    yield FeedSpec(language, region.slug, kind)


# --------------------------------------------------------------------------- #
# Choosing the entries
# --------------------------------------------------------------------------- #


def select_entries(
    spec: FeedSpec, releases: Iterable[Release], site: FeedSite
) -> list[tuple[Release, Translation]]:
    """The feed's entries, newest first: each release with the version shown.

    ``releases`` must already be the public ones, newest first.
    """
    wanted = None if spec.region == ALL else (spec.region,)
    chosen: list[tuple[Release, Translation]] = []
    for release in releases:
        if len(chosen) >= site.max_entries:
            break
        if spec.topic is not None and spec.topic not in release.topics:
            continue
        if wanted is not None and not site.regions.matches(wanted, release.regions):
            continue
        language = release.original_language if spec.language == ALL else spec.language
        translation = release.translations.get(language)
        if translation is not None:
            chosen.append((release, translation))
    return chosen


def feed_updated(
    entries: Sequence[tuple[Release, Translation]], releases: Sequence[Release]
) -> datetime:
    """The newest entry's publication time.

    An empty feed: the newsroom's first publication (``releases`` are the public
    ones, newest first), so the feed does not change when a release appears in
    another; :data:`EPOCH` only when nothing is public.
    """
    if entries:
        return max(release.publish_at for release, _ in entries)
    return releases[-1].publish_at if releases else EPOCH


def feed_urls_for(release: Release, site: FeedSite) -> list[str]:
    """Every feed URL whose content changes when ``release`` appears: for a WebSub ping.

    The all-languages feeds and those of each version, for ``all`` and every
    region that matches the release's, unfiltered and filtered by each of its topics.
    """
    languages = [ALL, *(lang for lang in site.newsroom.languages if lang in release.translations)]
    regions = [ALL] + [
        region.slug
        for region in site.regions
        if site.regions.matches((region.slug,), release.regions)
    ]
    return [
        FeedSpec(language, region, kind, topic).url(site.base_url)
        for topic in (None, *release.topics)
        for kind in KINDS
        for language in languages
        for region in regions
    ]


# --------------------------------------------------------------------------- #
# Words: titles and category labels, in the feed's language
# --------------------------------------------------------------------------- #


def region_name(regions: RegionTree, slug: str, lang: str) -> str:
    """The region's name in ``lang``, capitalised for a title."""
    name = i18n.region_name(regions, slug, lang)
    return name[:1].upper() + name[1:]  # CLDR English says "world"; a title wants "World"


def feed_language(spec: FeedSpec, newsroom: NewsroomSection) -> str:
    """The language of the feed's own text: its language, or the default for ``all``."""
    return newsroom.default_language if spec.language == ALL else spec.language


def feed_title(spec: FeedSpec, site: FeedSite) -> str:
    """``Northwind Relief Agency · Europe · Français · Health``; ``all`` parts are left out.

    The topic is named in the feed's language (topics.toml), else shown as its slug.
    """
    lang = feed_language(spec, site.newsroom)
    parts = [site.newsroom.name]
    if spec.region != ALL:
        parts.append(region_name(site.regions, spec.region, lang))
    if spec.language != ALL:
        parts.append(i18n.language_name(spec.language))
    if spec.topic:
        parts.append(site.topics.name(spec.topic, lang))
    return " · ".join(parts)


def page_url(spec: FeedSpec, base_url: str) -> str:
    """The newsroom web page listing what the feed carries."""
    query = {
        key: value
        for key, value in (("language", spec.language), ("region", spec.region))
        if value != ALL
    }
    if spec.topic:
        query["topic"] = spec.topic
    return f"{base_url}/releases" + (f"?{urlencode(query)}" if query else "")


def entry_id(release: Release, language: str, domain: str) -> str:
    """``tag:example.org,2026-12-02:minsk-vaccination-campaign/fr`` (RFC 4151).

    The date is the day of publication (UTC), fixed once the release is out;
    the same version has the same id in every feed that carries it.
    """
    day = release.publish_at.astimezone(UTC).date().isoformat()
    return f"tag:{domain},{day}:{quote(release.id)}/{language}"


# --------------------------------------------------------------------------- #
# feedgen, repaired and extended
# --------------------------------------------------------------------------- #


class _Entry(FeedEntry):  # type: ignore[misc]  # feedgen has no type information
    """A feedgen entry whose Atom links keep ``rel``, ``type`` and ``hreflang``.

    feedgen 1.0 writes ``<link href>`` only (issue #135: the loop variable is
    rebound to the new element before its attributes are read). The generated
    links are in the order they were given, so the attributes are copied back.
    """

    language = ""

    def atom_entry(self, extensions: bool = True) -> Any:
        entry = super().atom_entry(extensions)
        entry.set(_XML_LANG, self.language)
        links: list[dict[str, str]] = self.link() or []
        for element, data in zip(entry.findall("link"), links, strict=True):
            for name in ("rel", "type", "hreflang", "title", "length"):
                if data.get(name):
                    element.set(name, str(data[name]))
        return entry


class _WebSub(BaseExtension):  # type: ignore[misc]
    """``<link rel="hub">`` on the feed (Atom) or channel (RSS, as ``atom:link``)."""

    hub = ""

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, feed: Any) -> Any:
        if self.hub:
            feed.append(feed.makeelement("link", {"href": self.hub, "rel": "hub"}))
        return feed

    def extend_rss(self, feed: Any) -> Any:
        if self.hub:
            channel = feed.find("channel")
            link = channel.makeelement(f"{{{_ATOM_NS}}}link", {"href": self.hub, "rel": "hub"})
            channel.append(link)
        return feed


def _generator(spec: FeedSpec, site: FeedSite, updated: datetime) -> FeedGenerator:
    newsroom = site.newsroom
    lang = feed_language(spec, newsroom)
    title = feed_title(spec, site)
    self_url = spec.url(site.base_url)
    fg = FeedGenerator()
    # Extensions are registered by class, never looked up by name.
    if spec.kind == "rss":
        fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    fg.register_extension("websub", _WebSub, None, atom=True, rss=True)
    fg.websub.hub = site.hub
    fg.id(self_url)
    fg.title(title)
    fg.description(title)  # RSS requires one; the title says what the feed is
    fg.language(lang)  # RSS <language>, Atom xml:lang on <feed>
    fg.generator(GENERATOR)  # not feedgen's name and version: the bytes stay ours
    fg.author(name=newsroom.name, email=_press_address(newsroom), uri=newsroom.base_url)
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES[spec.kind].split(";")[0])
    fg.link(href=page_url(spec, site.base_url), rel="alternate", type="text/html")
    local = updated.astimezone(newsroom.zone)
    fg.updated(local)
    fg.lastBuildDate(local)
    return fg


def _press_address(newsroom: NewsroomSection) -> str:
    return parseaddr(newsroom.reply_to)[1] if newsroom.reply_to else newsroom.from_address


def _add_entry(
    fg: FeedGenerator, spec: FeedSpec, release: Release, t: Translation, site: FeedSite
) -> None:
    newsroom = site.newsroom
    base = site.base_url
    lang = t.language
    published = release.publish_at.astimezone(newsroom.zone)
    entry = _Entry()
    entry.language = lang
    fg.add_entry(entry, order="append")
    entry.guid(entry_id(release, lang, newsroom.domain), permalink=False)
    entry.title(t.title)
    entry.summary(t.summary or t.title)
    entry.content(_content_html(release, t, newsroom), type="html")
    entry.published(published)
    entry.updated(published)
    entry.author(name=newsroom.name, email=_press_address(newsroom), uri=base)
    page = release_url(base, release.id, lang)
    if spec.kind == "atom":
        entry.link(href=page, rel="alternate", type="text/html", hreflang=lang)
        for other in release.translations:
            if other != lang:
                href = release_url(base, release.id, other)
                entry.link(href=href, rel="alternate", type="text/html", hreflang=other)
    else:
        entry.link(href=page, rel="alternate")  # RSS has one link per item
        entry.dc.dc_language(lang)
    # Atom: term, scheme and a label in the entry's language. RSS: the label as the
    # value (feedgen writes the label there), the scheme as the domain. A region's
    # RSS value stays its slug; a topic's is its name, the tag feed readers show.
    atom = spec.kind == "atom"
    for slug in release.regions:
        label = region_name(site.regions, slug, lang) if atom else None
        _category(entry, slug, f"{base}/regions/", label)
    for topic in release.topics:
        _category(entry, topic, f"{base}/topics/", site.topics.name(topic, lang))


def _category(entry: _Entry, term: str, scheme: str, label: str | None) -> None:
    if label is None:
        entry.category(term=term, scheme=scheme)
    else:
        entry.category(term=term, scheme=scheme, label=label)


def _content_html(release: Release, t: Translation, newsroom: NewsroomSection) -> str:
    """The sanitised body, after the dateline as the email shows it: ``MINSK, 2 December 2026``."""
    if not t.dateline:
        return t.body_html
    local = release.publish_at.astimezone(newsroom.zone)
    date = i18n.format_date(local, t.language, newsroom.zone)
    head = (
        f'<p class="dateline"><strong>{escape(t.dateline.upper())}</strong>, '
        f'<time datetime="{local.isoformat()}">{escape(date)}</time></p>\n'
    )
    return head + t.body_html


def build_feed(spec: FeedSpec, releases: Sequence[Release], site: FeedSite) -> bytes:
    """The complete feed document (UTF-8 XML with declaration).

    ``releases`` are the public releases, newest first: pass nothing else, the
    feed does not check publication times.
    """
    entries = select_entries(spec, releases, site)
    fg = _generator(spec, site, feed_updated(entries, releases))
    for release, translation in entries:
        _add_entry(fg, spec, release, translation, site)
    data: bytes = fg.atom_str() if spec.kind == "atom" else fg.rss_str()
    declaration, _, document = data.partition(b"\n")
    pi = f'<?xml-stylesheet type="text/xsl" href="{stylesheet_href(spec, site)}"?>'
    return b"\n".join([declaration, pi.encode(), document])


def stylesheet_href(spec: FeedSpec, site: FeedSite) -> str:
    """The XSL that shows the feed as a page in a browser: ``/feeds/<language>.xsl``.

    A path, not a URL: a browser applies a stylesheet only from the origin the feed came
    from, which behind a proxy or on a copy of the export may not be ``base_url``'s.
    """
    path = urlsplit(site.base_url).path.rstrip("/")
    return f"{path}/feeds/{feed_language(spec, site.newsroom)}.xsl"


# --------------------------------------------------------------------------- #
# ETags from what a feed is made of
# --------------------------------------------------------------------------- #


def _digest(*parts: object) -> str:
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # running from a source tree
        return ""


def site_fingerprint(site: FeedSite) -> str:
    """What every feed's bytes depend on besides its entries, as one hash.

    The settings (newsroom, entry limit, hub, topic names, the region tree), the
    versions of the code that writes the bytes, and the bytes of probe feeds
    built now: one release in every language, in each kind and language, and
    the OPML. A change in the builder, in feedgen or lxml, or in the locale data
    (a month's name, a region's) changes a probe, so no ETag outlives the bytes
    it stood for across an upgrade.
    """
    newsroom = site.newsroom
    text = {
        lang: Translation(lang, f"T {lang}", f"S {lang}", "Geneva", "", "<p>b</p>")
        for lang in newsroom.languages
    }
    country = next(iter(site.regions.countries()), None)
    probe = Release(
        id="probe",
        publish_at=datetime(2026, 12, 2, 7, 0, tzinfo=UTC),
        original_language=newsroom.default_language,
        translations=text,
        regions=("world",) if country is None else ("world", country.slug),
        topics=tuple(sorted(site.topics.names))[:3] or ("probe",),
    )
    probes = hashlib.sha256()
    for kind in KINDS:
        for language in site.languages():
            probes.update(build_feed(FeedSpec(language, ALL, kind), (probe,), site))
    probes.update(build_opml(site, (probe,)))
    return _digest(
        FEED_FORMAT,
        newsroom.model_dump(mode="json"),
        site.max_entries,
        site.hub,
        {slug: dict(names) for slug, names in site.topics.names.items()},
        site.topics.default_language,
        [(r.slug, r.parent) for r in site.regions],
        [_installed(name) for name in ("pressdispatch", "feedgen", "lxml", "babel")],
        probes.hexdigest(),
    )


class FeedIndex:
    """ETags (and bytes, on demand) of the feeds over one set of public releases.

    Built once per public version; an ETag costs choosing the entries and
    hashing them, never rendering. Each entry's hash is kept, as a release is
    in many feeds.
    """

    def __init__(
        self, site: FeedSite, releases: Sequence[Release], fingerprint: str | None = None
    ) -> None:
        self.site = site
        self.releases = releases
        self.fingerprint = site_fingerprint(site) if fingerprint is None else fingerprint
        self._entries: dict[tuple[str, str, FeedKind], str] = {}

    def etag(self, spec: FeedSpec) -> str:
        """The feed's ETag (unquoted): equal ETags mean equal bytes."""
        entries = select_entries(spec, self.releases, self.site)
        updated = feed_updated(entries, self.releases).astimezone(UTC).isoformat()
        prints = [self._entry(release, t, spec.kind) for release, t in entries]
        return _digest(
            self.fingerprint, spec.language, spec.region, spec.kind, spec.topic, updated, prints
        )

    def build(self, spec: FeedSpec) -> bytes:
        return build_feed(spec, self.releases, self.site)

    def listed(self) -> list[FeedSpec]:
        return list(listed_specs(self.site, self.releases))

    def opml_etag(self) -> str:
        return _digest(self.fingerprint, OPML_PATH, [s.path for s in self.listed()])

    def opml(self) -> bytes:
        return build_opml(self.site, self.releases)

    def _entry(self, release: Release, t: Translation, kind: FeedKind) -> str:
        """The hash of what the builder reads of one entry, and nothing else."""
        key = (release.id, t.language, kind)
        found = self._entries.get(key)
        if found is None:
            # RSS has one link per item; Atom links every other version, in order.
            others = [lang for lang in release.translations if lang != t.language]
            found = self._entries[key] = _digest(
                release.id,
                release.publish_at.astimezone(UTC).isoformat(),
                t.language,
                t.title,
                t.summary or t.title,
                t.dateline,
                t.body_html,
                others if kind == "atom" else [],
                release.regions,
                release.topics,
            )
        return found


# --------------------------------------------------------------------------- #
# OPML
# --------------------------------------------------------------------------- #

_KIND_NAMES: Mapping[str, str] = {"atom": "Atom", "rss": "RSS 2.0"}


def build_opml(site: FeedSite, releases: Iterable[Release]) -> bytes:
    """The feeds worth subscribing to in one OPML 2.0 file (:func:`listed_specs`).

    Folders by format, then by language (each named in its own language; the
    all-languages folder lists every language name); one outline per feed,
    titled as the feed is. ``releases`` are the public ones: a country appears
    once a release about it is public, never before.
    """
    newsroom = site.newsroom
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = newsroom.name
    ET.SubElement(head, "ownerName").text = newsroom.name
    ET.SubElement(head, "ownerId").text = newsroom.base_url
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(opml, "body")
    names = [i18n.language_name(lang) for lang in newsroom.languages]
    folders: dict[tuple[FeedKind, str], ET.Element] = {}
    kinds: dict[FeedKind, ET.Element] = {}
    for spec in listed_specs(site, releases):
        language = spec.language
        folder = folders.get((spec.kind, language))
        if folder is None:
            if spec.kind not in kinds:
                kinds[spec.kind] = ET.SubElement(body, "outline", text=_KIND_NAMES[spec.kind])
            label = " / ".join(names) if language == ALL else i18n.language_name(language)
            folder = folders[spec.kind, language] = ET.SubElement(
                kinds[spec.kind], "outline", text=label
            )
            if language != ALL:
                folder.set("language", language)
        title = feed_title(spec, site)
        outline = ET.SubElement(folder, "outline", text=title, title=title)
        outline.set("type", "rss")  # OPML 2.0: "rss" for any subscription
        outline.set("xmlUrl", spec.url(site.base_url))
        outline.set("htmlUrl", page_url(spec, site.base_url))
        outline.set("language", feed_language(spec, newsroom))
    ET.indent(opml)
    data: bytes = ET.tostring(opml, encoding="UTF-8", xml_declaration=True)
    return data + b"\n"
