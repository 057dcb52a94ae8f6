"""config.toml → a typed, immutable :class:`Settings`, built once and passed explicitly.

Relative paths are resolved against the folder holding config.toml, so the
service behaves the same whatever directory it is started from. Secrets are
never stored here: the config names the environment variable that holds each.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from pressdispatch.characters import bad_character
from pressdispatch.durations import parse_duration
from pressdispatch.errors import ConfigError, ContentError, UnknownLanguage
from pressdispatch.regions import load_regions
from pressdispatch.sizes import MiB, parse_size
from pressdispatch.textfiles import parse_toml, read_text
from pressdispatch.validation import validation_problems
from pressdispatch.verp import MAX_TOKEN
from pressdispatch.vocabulary import check_topic, normalize_address, normalize_language

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Size = Annotated[int, BeforeValidator(parse_size)]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _single_line(cls, value: object) -> object:
        # Every value of config.toml is one line: names and addresses reach mail
        # headers, paths and URLs the system. No line break, no control character.
        for item in value if isinstance(value, list | tuple) else (value,):
            bad = bad_character(item) if isinstance(item, str) else None
            if bad is not None:
                raise ValueError(bad.message())
        return value


def _check_address(value: str, *, display_name_allowed: bool) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("line breaks are not allowed in an address")
    name, address = parseaddr(value)
    if name and not display_name_allowed:
        raise ValueError("expected a bare address")
    try:
        normalize_address(address)
    except ValueError as exc:
        raise ValueError(f"not a valid address: {value!r} ({exc})") from None
    return value.strip()


class NewsroomSection(_Section):
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
        return _language_or_error(value)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("offer at least one language")
        return tuple(dict.fromkeys(_language_or_error(v) for v in value))

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str) -> str:
        return _check_address(value, display_name_allowed=True)

    @field_validator("reply_to", "unsubscribe_email")
    @classmethod
    def _optional_address(cls, value: str) -> str:
        return _check_address(value, display_name_allowed=True) if value else value

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


def _language_or_error(value: str) -> str:
    try:
        return normalize_language(value)
    except UnknownLanguage as exc:
        raise ValueError(str(exc)) from None


class PathsSection(_Section):
    releases: Path = Path("releases")
    subscribers: Path = Path("subscribers")
    templates: Path = Path("templates")
    data: Path = Path("var")
    topics: Path = Path("topics.toml")  # display names of the topics; optional


class DatabaseSection(_Section):
    url: str = "sqlite:///var/pressdispatch.db"


class TransportSection(_Section):
    kind: Literal["outbox", "smtp"] = "outbox"


class SmtpSection(_Section):
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
        return _env_name(value)


class WebSection(_Section):
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
        return _env_name(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> tuple[Network, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError(
                'expected a list of IP addresses or networks: ["10.0.0.2", "fd00::/8"]'
            )
        return tuple(_network(item) for item in value)


class SchedulerSection(_Section):
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


class DkimSection(_Section):
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


class ContentSection(_Section):
    """Limits on what the newsroom's files and the API may hold."""

    max_body_size: Size = MiB

    @field_validator("max_body_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1024:
            raise ValueError("must be at least 1KiB")
        return value


class FeedsSection(_Section):
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


class BouncesSection(_Section):
    """What comes back after sending (docs/bounces.md); off while ``return_path`` is empty."""

    return_path: str = ""  # bounces@example.org: each delivery's MAIL FROM is bounces+<token>@…
    delimiter: str = "+"
    listen: str = ""  # host:port of the inbound SMTP/LMTP endpoint `run` starts; empty: none
    protocol: Literal["smtp", "lmtp"] = "smtp"
    imap_url: str = ""  # imaps://user@host[:port]/folder, polled by `run`; empty: none
    imap_password_env: str = "PRESSDISPATCH_IMAP_PASSWORD"  # noqa: S105 - a variable's name
    imap_interval: Duration = timedelta(minutes=1)
    hard_days: int = Field(default=2, ge=1, le=30)  # hard bounces, on different days
    soft_limit: int = Field(default=3, ge=1, le=100)  # soft score that makes an address bounced
    soft_decay: Duration = timedelta(days=14)  # a quiet address's soft score starts over
    breaker_min_sent: int = Field(default=200, ge=1)
    breaker_hard: float = Field(default=0.05, gt=0, le=1)  # of what was sent: pause the release
    breaker_complaints: float = Field(default=0.003, gt=0, le=1)
    keep_messages: Duration = timedelta(days=90)  # raw returned messages, for checking

    @field_validator("return_path")
    @classmethod
    def _return_path(cls, value: str) -> str:
        if not value:
            return value
        _check_address(value, display_name_allowed=False)
        if len(value.rpartition("@")[0]) + 3 + MAX_TOKEN > 64:
            raise ValueError(
                f"the local part must leave room for a {MAX_TOKEN}-character token "
                "within 64 characters (RFC 5321): keep it under 36"
            )
        return value.strip()

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if not re.fullmatch(r"[+\-=_.]{1,3}", value):
            raise ValueError("expected one to three of the characters + - = _ .")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if value and _host_port(value) is None:
            raise ValueError("expected host:port, e.g. '127.0.0.1:2525' or '[::1]:2525'")
        return value

    @field_validator("imap_url")
    @classmethod
    def _imap(cls, value: str) -> str:
        if value and not re.match(r"^imaps?://[^\s/@]+@[^\s/]+", value):
            raise ValueError("expected imaps://user@host[:port][/folder]")
        return value

    @field_validator("imap_password_env")
    @classmethod
    def _env(cls, value: str) -> str:
        return _env_name(value)

    @model_validator(mode="after")
    def _needs_return_path(self) -> BouncesSection:
        if (self.listen or self.imap_url) and not self.return_path:
            raise ValueError("listen and imap_url read what comes back to return_path: set it")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.return_path)

    @property
    def listen_at(self) -> tuple[str, int] | None:
        return _host_port(self.listen) if self.listen else None


class ReportsSection(_Section):
    """The distribution report, emailed when a tier finishes and again a day later."""

    to: str = ""  # empty: newsroom.reply_to; neither: no report by email
    follow_up: Duration = timedelta(hours=24)
    email: bool = True  # false: no report by email, whatever reply_to says

    @field_validator("to")
    @classmethod
    def _to(cls, value: str) -> str:
        return _check_address(value, display_name_allowed=True) if value else value


class SourceSection(_Section):
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


def _host_port(value: str) -> tuple[str, int] | None:
    found = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^\s:\[\]]+):(\d{1,5})", value.strip())
    if found is None:
        return None
    host = found.group(1) or found.group(3)
    port = int(found.group(2) or found.group(4))
    return (host, port) if 0 <= port <= 65535 else None


def _network(item: object) -> Network:
    """An address (a network of one) or a CIDR network, IPv4 or IPv6."""
    text = item.strip() if isinstance(item, str) else ""
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    try:  # an address with a prefix, such as 10.0.0.1/8: say which network it is in
        meant = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{item!r} is not an IP address or a CIDR network such as '10.0.0.0/8'"
        ) from None
    raise ValueError(f"{item!r} has host bits set: write the network, {str(meant)!r}")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"expected the name of an environment variable, got {value!r}")
    return value


class Settings(_Section):
    """Everything config.toml says, with paths made absolute."""

    newsroom: NewsroomSection
    paths: PathsSection = PathsSection()
    database: DatabaseSection = DatabaseSection()
    transport: TransportSection = TransportSection()
    smtp: SmtpSection = SmtpSection()
    web: WebSection = WebSection()
    scheduler: SchedulerSection = SchedulerSection()
    dkim: DkimSection = DkimSection()
    feeds: FeedsSection = FeedsSection()
    content: ContentSection = ContentSection()
    bounces: BouncesSection = BouncesSection()
    reports: ReportsSection = ReportsSection()
    sources: tuple[SourceSection, ...] = ()
    config_path: Path = Path("config.toml")
    # Whether config.toml sets newsroom.base_url; if not, it follows [web] (served_at).
    _base_url_set: bool = PrivateAttr(default=False)

    @field_validator("sources")
    @classmethod
    def _once_each(cls, value: tuple[SourceSection, ...]) -> tuple[SourceSection, ...]:
        urls = [source.url for source in value]
        if twice := sorted({url for url in urls if urls.count(url) > 1}):
            raise ValueError(f"listed twice: {', '.join(twice)}")
        return value

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a web app listening on ``host``:``port``: the links follow
        it, unless config.toml sets base_url (a site behind a proxy or a CDN)."""
        update: dict[str, Any] = {"web": self.web.model_copy(update={"host": host, "port": port})}
        if not self._base_url_set:
            url = local_url(host, port)
            update["newsroom"] = self.newsroom.model_copy(update={"base_url": url})
        return self.model_copy(update=update)


def local_url(host: str, port: int) -> str:
    """The address of a web app listening on ``host``:``port``, to put in links. Listening
    on every interface, it answers on the loopback one; other machines need base_url."""
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def load_settings(path: Path) -> Settings:
    """Read and validate config.toml; every problem is reported with its key and line."""
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"{path}: no such file (pass --config PATH)")
    try:
        text = read_text(path)
        raw = parse_toml(text, path)
    except ContentError as exc:
        raise ConfigError(str(exc.problem)) from None
    raw.pop("config_path", None)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = validation_problems(exc, path, text)
        raise ConfigError("\n".join(str(p) for p in problems)) from None
    return _resolve(settings, path.resolve())


def _resolve(settings: Settings, config_path: Path) -> Settings:
    base = config_path.parent

    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    paths = PathsSection(
        releases=absolute(settings.paths.releases),
        subscribers=absolute(settings.paths.subscribers),
        templates=absolute(settings.paths.templates),
        data=absolute(settings.paths.data),
        topics=absolute(settings.paths.topics),
    )
    database = DatabaseSection(url=_resolve_sqlite(settings.database.url, base))
    dkim = settings.dkim
    if dkim.enabled:
        dkim = dkim.model_copy(update={"private_key_file": absolute(dkim.private_key_file)})
    resolved = settings.model_copy(
        update={"paths": paths, "database": database, "dkim": dkim, "config_path": config_path}
    )
    resolved._base_url_set = "base_url" in settings.newsroom.model_fields_set
    return resolved.served_at(settings.web.host, settings.web.port)


def _resolve_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(base / url[len(prefix) :])
    return url
