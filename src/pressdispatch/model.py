"""The values a release travels as: plain, immutable, typed. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class ReleaseStatus(StrEnum):
    READY = "ready"
    DRAFT = "draft"
    CANCELLED = "cancelled"


class Tier(StrEnum):
    """Which copy a journalist receives: the early embargoed one or the public one."""

    EMBARGOED = "embargoed"
    PUBLIC = "public"


class DeliveryStatus(StrEnum):
    """Where one delivery (one journalist, one release) stands in the ledger."""

    QUEUED = "queued"  # planned, waiting for its first attempt
    SENDING = "sending"  # claimed by a process, under a lease
    SENT = "sent"  # the relay accepted it (or it is in the outbox)
    DEFERRED = "deferred"  # tried; tried again when due
    FAILED = "failed"  # refused for good, or given up on
    CANCELLED = "cancelled"  # the release was cancelled, or the journalist left


# The two groups every question about progress asks.
WAITING: frozenset[DeliveryStatus] = frozenset(
    {DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED}
)  # not being sent now; may still be sent
UNFINISHED: frozenset[DeliveryStatus] = WAITING | {DeliveryStatus.SENDING}


class SubscriberStatus(StrEnum):
    """Whether a journalist is mailed; only ``active`` ones are."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # their address was refused for good
    COMPLAINED = "complained"  # they reported a release as spam: only a new opt-in revives


class Source(StrEnum):
    """Where a journalist's details come from."""

    CSV = "csv"  # a subscriber list
    SELF = "self"  # a list journalist who then chose their own preferences
    WEB = "web"  # the subscription form: on a list of their own, named ``web``
    API = "api"  # the JSON API: on a list of their own, named ``api``


OWN_LISTS: frozenset[Source] = frozenset({Source.WEB, Source.API})  # a list each, named after them


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    role: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Translation:
    """One language version of a release; ``body_html`` is already sanitised."""

    language: str
    title: str
    summary: str
    dateline: str
    body_markdown: str
    body_html: str


@dataclass(frozen=True, slots=True)
class Media:
    """A picture or document of a release: a file in its ``media/`` folder, described in
    release.toml. ``mime`` is what the bytes are, whatever the file's name says."""

    name: str  # the file's name in media/
    mime: str  # image/jpeg, image/png, image/webp or application/pdf
    size: int  # bytes
    sha256: str
    width: int = 0  # pixels; 0 for a document
    height: int = 0
    alt: Mapping[str, str] = field(default_factory=dict)  # language → text; every language
    caption: Mapping[str, str] = field(default_factory=dict)  # language → text
    credit: str = ""
    license: str = ""
    hero: bool = False  # shown first in the email and on the page; og:image

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    def caption_in(self, lang: str, original: str) -> str:
        """The caption in ``lang``, else in the release's original language."""
        return self.caption.get(lang) or self.caption.get(original, "")


@dataclass(frozen=True, slots=True)
class Release:
    id: str
    publish_at: datetime  # aware, UTC
    original_language: str
    translations: Mapping[str, Translation]  # original language first
    embargo_send_at: datetime | None = None  # aware, UTC, before publish_at
    status: ReleaseStatus = ReleaseStatus.READY
    regions: tuple[str, ...] = ("world",)  # canonical region slugs
    topics: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    source: Path | None = None
    media: tuple[Media, ...] = ()  # the hero first, then as release.toml lists them

    @property
    def hero(self) -> Media | None:
        return self.media[0] if self.media and self.media[0].hero else None

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.translations)

    def send_at(self, tier: Tier) -> datetime:
        """When the copy of ``tier`` is due."""
        if tier is Tier.EMBARGOED and self.embargo_send_at is not None:
            return self.embargo_send_at
        return self.publish_at


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A journalist, merged over every list that names them.

    Empty ``regions`` or ``topics`` mean everything; empty ``languages`` means
    the release's original language.
    """

    email: str  # normalised; compared via ``key``
    name: str = ""
    outlet: str = ""
    languages: tuple[str, ...] = ()
    regions: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    embargo: bool = False
    lists: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return self.email.lower()


@dataclass(frozen=True, slots=True)
class Variant:
    """What one journalist gets of one release: rendered once, shared by everyone alike."""

    language: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class TopicNames:
    """What topics.toml says: each topic's display name, per language.

    A topic is always a slug in the files, the store, URLs and forms' values; its
    name is only what people read.
    """

    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # slug → lang → name
    default_language: str = "en"

    def name(self, slug: str, lang: str) -> str:
        """The name in ``lang``, else in the newsroom's default language, else the slug.

        The default language's name is a better guess than the slug for a reader of
        another language: it is the name the press office wrote first.
        """
        names = self.names.get(slug, {})
        return names.get(lang) or names.get(self.default_language) or slug

    def named(self, slugs: Iterable[str], lang: str) -> list[tuple[str, str]]:
        """``(slug, name)`` pairs sorted by name as ``lang``'s readers see them."""
        pairs = [(slug, self.name(slug, lang)) for slug in set(slugs)]
        return sorted(pairs, key=lambda pair: (pair[1].casefold(), pair[0]))
