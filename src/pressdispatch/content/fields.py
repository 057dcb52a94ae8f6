"""What release.toml and the front matter of ``<lang>.md`` may say.

Typed and strict; a value that ends up in a mail header must stay on one line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from pressdispatch.characters import bad_character
from pressdispatch.model import ReleaseStatus
from pressdispatch.vocabulary import TOPIC, normalize_address

OneLine = Annotated[str, Field(max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_line(value: str, what: str) -> str:
    # These become mail headers, subjects and feed titles: not even a tab.
    bad = bad_character(value, tab=False)
    if bad is not None:
        raise ValueError(bad.message(f"the {what}"))
    return value.strip()


def _text(value: str, what: str) -> str:
    bad = bad_character(value, lines=True)
    if bad is not None:
        raise ValueError(bad.message(f"the {what}"))
    return value


class ContactFields(_Strict):
    name: OneLine = Field(min_length=1)
    role: OneLine = ""
    phone: OneLine = ""
    email: OneLine = ""

    @field_validator("name", "role", "phone", "email")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return _one_line(value, "contact")

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        return normalize_address(value) if value else value


class SourceFields(_Strict):
    """Where an imported release came from (``pressdispatch import``, ``[[sources]]``)."""

    url: str = Field(default="", max_length=2000)  # the page, when fetched from the web
    file: OneLine = ""  # the saved page or text, otherwise
    guid: str = Field(default="", max_length=2000)  # its feed entry's id, when polled
    fetched_at: AwareDatetime | None = None
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")  # of what was fetched

    @field_validator("url", "guid")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return _one_line(value, "source")


class MediaFields(_Strict):
    """One ``[[media]]`` entry: a file in the release's ``media/`` folder, described."""

    file: OneLine = Field(min_length=1)
    alt: dict[str, OneLine] = Field(default_factory=dict)  # language → text
    caption: dict[str, Annotated[str, Field(max_length=2000)]] = Field(default_factory=dict)
    credit: OneLine = ""
    license: OneLine = ""
    hero: bool = False

    @field_validator("file", "credit", "license")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return _one_line(value, "media entry")

    @field_validator("alt")
    @classmethod
    def _alt(cls, value: dict[str, str]) -> dict[str, str]:
        return {lang: _one_line(text, "alt text") for lang, text in value.items()}

    @field_validator("caption")
    @classmethod
    def _caption(cls, value: dict[str, str]) -> dict[str, str]:
        return {lang: _text(text, "caption").strip() for lang, text in value.items()}


class ReleaseFields(_Strict):
    publish_at: AwareDatetime
    embargo_send_at: AwareDatetime | None = None
    status: ReleaseStatus = ReleaseStatus.READY
    original_language: str | None = None
    regions: list[str] = Field(default_factory=lambda: ["world"])
    topics: list[str] = Field(default_factory=list)
    contacts: list[ContactFields] = Field(default_factory=list)
    source: SourceFields | None = None
    media: list[MediaFields] = Field(default_factory=list)

    @field_validator("publish_at", "embargo_send_at", mode="before")
    @classmethod
    def _toml_datetime(cls, value: object) -> object:
        # A quoted time or a number is almost always a mistake; TOML has real date-times.
        if value is not None and not isinstance(value, datetime):
            raise ValueError(
                "write a TOML date-time without quotes, "
                f"e.g. 2026-12-01T10:00:00+01:00 (got {value!r})"
            )
        return value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        for topic in value:
            if not TOPIC.match(topic):
                raise ValueError(
                    f"topic {topic!r} must be a slug: lowercase letters, digits, hyphens"
                )
        return list(dict.fromkeys(value))


class FrontMatter(_Strict):
    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(default="", max_length=2000)
    dateline: OneLine = ""

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = _one_line(value, "title (it becomes the email subject)")
        if not value:
            raise ValueError("the title is empty")
        return value

    @field_validator("dateline")
    @classmethod
    def _dateline(cls, value: str) -> str:
        return _one_line(value, "dateline")

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        return _text(value, "summary")
