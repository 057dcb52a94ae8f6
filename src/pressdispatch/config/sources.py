"""[[sources]]: the press office's feeds and sitemaps that `run` polls for new releases."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import (
    field_validator,
)

from pressdispatch.config.base import (
    Duration,
    Section,
)
from pressdispatch.regions import load_regions
from pressdispatch.vocabulary import check_topic


class SourceSection(Section):
    """A feed or sitemap of the press office's website, polled for new releases
    (``[[sources]]``, docs/sources.md)."""

    url: str
    status: Literal["draft", "ready"] = "draft"
    hold: Duration = timedelta(hours=1)  # publish_at is at least this long after the import
    regions: tuple[str, ...] = ()  # when the text names no country
    topics: tuple[str, ...] = ()
    interval: Duration | None = None  # unset: every scheduler.scan_interval

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+\S*$", value):
            raise ValueError("expected the http:// or https:// URL of a feed or a sitemap")
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(load_regions().resolve(token) for token in value)  # UnknownRegion says why

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_topic(topic) for topic in value)

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value
