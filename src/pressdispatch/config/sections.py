"""The sections of config.toml for the newsroom, its files and store, sending and serving."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from pressdispatch.config.base import (
    Duration,
    Network,
    Section,
    Size,
    check_address,
    env_name,
    language_or_error,
    parse_network,
)
from pressdispatch.sizes import MiB


class NewsroomSection(Section):
    name: str = Field(min_length=1)
    #: Unless config.toml sets it, where the web app listens (Settings.served_at).
    base_url: str = "http://127.0.0.1:8000"
    default_language: str = "en"
    timezone: str = "UTC"
    from_: str = Field(alias="from")
    reply_to: str = ""
    languages: tuple[str, ...] = ("en",)
    unsubscribe_email: str = ""

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("line breaks are not allowed (the name appears in mail headers)")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Paris')") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        return language_or_error(value)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("offer at least one language")
        return tuple(dict.fromkeys(language_or_error(v) for v in value))

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str) -> str:
        return check_address(value, display_name_allowed=True)

    @field_validator("reply_to", "unsubscribe_email")
    @classmethod
    def _optional_address(cls, value: str) -> str:
        return check_address(value, display_name_allowed=True) if value else value

    @model_validator(mode="after")
    def _default_offered(self) -> NewsroomSection:
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language {self.default_language!r} "
                f"is not in languages {list(self.languages)}"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def from_address(self) -> str:
        return parseaddr(self.from_)[1]

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2].lower()


class PathsSection(Section):
    releases: Path = Path("releases")
    subscribers: Path = Path("subscribers")
    templates: Path = Path("templates")
    data: Path = Path("var")
    topics: Path = Path("topics.toml")  # display names of the topics; optional


class DatabaseSection(Section):
    url: str = "sqlite:///var/pressdispatch.db"


class TransportSection(Section):
    kind: Literal["outbox", "smtp"] = "outbox"


class SmtpSection(Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password_env: str = "PRESSDISPATCH_SMTP_PASSWORD"  # noqa: S105 - a variable's name
    concurrency: int = Field(default=4, ge=1, le=256)
    rate: float = Field(default=0, ge=0, description="messages per second overall; 0 = unlimited")
    per_domain_rate: float = Field(
        default=0, ge=0, description="per recipient domain; 0 = unlimited"
    )
    timeout: Duration = timedelta(seconds=60)
    max_retry_age: Duration = timedelta(days=3)

    @field_validator("timeout", "max_retry_age")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return env_name(value)


class WebSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)  # 0: any free port
    signing_key_env: str = "PRESSDISPATCH_SIGNING_KEY"
    admin_token_env: str = "PRESSDISPATCH_ADMIN_TOKEN"  # noqa: S105 - a variable's name
    api_token_env: str = "PRESSDISPATCH_API_TOKEN"  # noqa: S105 - a variable's name
    #: The reverse proxies whose X-Forwarded-For and -Proto are believed (web/proxies.py).
    trusted_proxies: tuple[Network, ...] = ()

    @field_validator("signing_key_env", "admin_token_env", "api_token_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return env_name(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> tuple[Network, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError(
                'expected a list of IP addresses or networks: ["10.0.0.2", "fd00::/8"]'
            )
        return tuple(parse_network(item) for item in value)


class SchedulerSection(Section):
    scan_interval: Duration = timedelta(seconds=15)
    max_lateness: Duration = timedelta(hours=24)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    lease: Duration = timedelta(minutes=5)
    heartbeat: Duration = timedelta(seconds=5)
    retry_initial: Duration = timedelta(minutes=1)
    retry_max: Duration = timedelta(hours=1)

    @field_validator("scan_interval", "lease", "heartbeat", "retry_initial", "retry_max")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


class DkimSection(Section):
    """DKIM signing; off unless ``domain`` is set."""

    domain: str = ""
    selector: str = ""
    private_key_file: Path = Path()
    headers: tuple[str, ...] = (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "Content-Type",
        "MIME-Version",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    )

    @model_validator(mode="after")
    def _complete(self) -> DkimSection:
        if self.domain and (not self.selector or self.private_key_file == Path()):
            raise ValueError("with domain set, selector and private_key_file are required")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.domain)


class ContentSection(Section):
    """Limits on what the newsroom's files and the API may hold."""

    max_body_size: Size = MiB

    @field_validator("max_body_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1024:
            raise ValueError("must be at least 1KiB")
        return value


class FeedsSection(Section):
    """Atom and RSS feeds, the OPML list of them, and the optional WebSub hub."""

    max_entries: int = Field(default=50, ge=1, le=1000)
    max_age: Duration = timedelta(minutes=5)
    websub_hub: str = ""

    @field_validator("websub_hub")
    @classmethod
    def _hub(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+\S*$", value):
            raise ValueError("expected an http:// or https:// URL")
        return value
