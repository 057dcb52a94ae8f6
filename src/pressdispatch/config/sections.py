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


Security = Literal["starttls", "tls", "none"]


class RelaySection(Section):
    """One of several relays (``[[smtp.relays]]``): where, how safely, as whom, how much."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Security = "starttls"
    username: str = ""
    password_env: str = "PRESSDISPATCH_SMTP_PASSWORD"  # noqa: S105 - a variable's name
    concurrency: int = Field(default=4, ge=1, le=256)
    rate: float = Field(default=0, ge=0, description="messages per second; 0 = unlimited")
    #: Its share of the messages against the others'; unset, its concurrency.
    weight: int | None = Field(default=None, ge=1, le=10_000)

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return env_name(value)

    @property
    def name(self) -> str:
        """host:port, as messages about this relay name it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def share(self) -> int:
        return self.weight or self.concurrency


# The keys of [smtp] that describe one relay; with [[smtp.relays]], each relay has its own.
_ONE_RELAY = ("host", "port", "security", "username", "password_env", "concurrency")


class SmtpSection(Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Security = "starttls"
    username: str = ""
    password_env: str = "PRESSDISPATCH_SMTP_PASSWORD"  # noqa: S105 - a variable's name
    concurrency: int = Field(default=4, ge=1, le=256)
    rate: float = Field(default=0, ge=0, description="messages per second overall; 0 = unlimited")
    per_domain_rate: float = Field(
        default=0, ge=0, description="per recipient domain; 0 = unlimited"
    )
    timeout: Duration = timedelta(seconds=60)
    max_retry_age: Duration = timedelta(days=3)
    #: Several relays, shared by weight (dispatch/relays.py); empty: the one above.
    relays: tuple[RelaySection, ...] = ()

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

    @field_validator("relays")
    @classmethod
    def _once_each(cls, value: tuple[RelaySection, ...]) -> tuple[RelaySection, ...]:
        # The same relay and account twice would only double its share: say so instead.
        seen: set[tuple[str, int, str]] = set()
        for relay in value:
            key = (relay.host.lower(), relay.port, relay.username)
            if key in seen:
                account = f" as {relay.username!r}" if relay.username else ""
                raise ValueError(f"{relay.name}{account} is listed twice (raise its weight)")
            seen.add(key)
        return value

    @model_validator(mode="after")
    def _one_or_several(self) -> SmtpSection:
        both = [key for key in _ONE_RELAY if key in self.model_fields_set]
        if self.relays and both:
            keys = ", ".join(f"smtp.{key}" for key in both)
            raise ValueError(
                f"{keys} and [[smtp.relays]] both describe the relay: "
                "with [[smtp.relays]], set these in each relay and leave them out of [smtp]"
            )
        return self

    @property
    def connections(self) -> int:
        """The most messages on their way at once: every relay's concurrency together."""
        return sum(r.concurrency for r in self.relays) if self.relays else self.concurrency

    @property
    def overall_rate(self) -> float:
        """Messages per second the relays allow together; 0 = unlimited."""
        if not self.relays:
            return self.rate
        rates = [r.rate for r in self.relays]
        together = sum(rates) if all(rates) else 0.0  # one unlimited relay: no limit
        return min(self.rate, together) if self.rate and together else self.rate or together

    def relay_settings(self) -> tuple[SmtpSection, ...]:
        """One [smtp] per relay, with the shared keys (timeout, ...) from this one.

        Overall limits stay with the caller: each relay's ``rate`` is its own, and
        ``per_domain_rate`` is not repeated for each (it is the domain's, whatever relay).
        """
        return tuple(
            self.model_copy(
                update={
                    "host": r.host,
                    "port": r.port,
                    "security": r.security,
                    "username": r.username,
                    "password_env": r.password_env,
                    "concurrency": r.concurrency,
                    "rate": r.rate,
                    "per_domain_rate": 0,
                    "relays": (),
                }
            )
            for r in self.relays
        )


#: The files ``[web] favicon`` may name, by suffix, with the media type they are served as.
ICON_TYPES: dict[str, str] = {
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
}


class WebSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)  # 0: any free port
    signing_key_env: str = "PRESSDISPATCH_SIGNING_KEY"
    admin_token_env: str = "PRESSDISPATCH_ADMIN_TOKEN"  # noqa: S105 - a variable's name
    api_token_env: str = "PRESSDISPATCH_API_TOKEN"  # noqa: S105 - a variable's name
    #: The reverse proxies whose X-Forwarded-For and -Proto are believed (web/proxies.py).
    trusted_proxies: tuple[Network, ...] = ()
    #: The newsroom's icon (/favicon.ico); unset, the one shipped with pressdispatch.
    favicon: Path = Path()

    @field_validator("favicon")
    @classmethod
    def _icon(cls, value: Path) -> Path:
        if value != Path() and value.suffix.lower() not in ICON_TYPES:
            raise ValueError(f"expected a {', '.join(ICON_TYPES)} file, got {str(value)!r}")
        return value

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
    max_media_size: Size = 25 * MiB  # each file of a release's media/ folder

    @field_validator("max_body_size", "max_media_size")
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
