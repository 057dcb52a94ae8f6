"""config.toml → a typed, immutable :class:`Settings`, built once and passed explicitly.

Relative paths are resolved against the folder holding config.toml, so the
service behaves the same whatever directory it is started from. Secrets are
never stored here: the config names the environment variable that holds each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import PrivateAttr, ValidationError, field_validator

from pressdispatch.config.base import Duration, Network, Section, Size
from pressdispatch.config.bounces import BouncesSection, ReportsSection
from pressdispatch.config.sections import (
    ICON_TYPES,
    ContentSection,
    DatabaseSection,
    DkimSection,
    FeedsSection,
    NewsroomSection,
    PathsSection,
    RelaySection,
    SchedulerSection,
    SmtpSection,
    TransportSection,
    WebSection,
)
from pressdispatch.config.sources import SourceSection
from pressdispatch.errors import ConfigError, ContentError
from pressdispatch.textfiles import parse_toml, read_text
from pressdispatch.validation import validation_problems

__all__ = [
    "ICON_TYPES",
    "BouncesSection",
    "ContentSection",
    "DatabaseSection",
    "DkimSection",
    "Duration",
    "FeedsSection",
    "Network",
    "NewsroomSection",
    "PathsSection",
    "RelaySection",
    "ReportsSection",
    "SchedulerSection",
    "Settings",
    "Size",
    "SmtpSection",
    "SourceSection",
    "TransportSection",
    "WebSection",
    "load_settings",
    "local_url",
]


class Settings(Section):
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
    web = settings.web
    if web.favicon != Path():
        icon = absolute(web.favicon)
        if not icon.is_file():
            raise ConfigError(f"{config_path}: web.favicon: no such file: {icon}")
        web = web.model_copy(update={"favicon": icon})
    dkim = settings.dkim
    if dkim.enabled:
        dkim = dkim.model_copy(update={"private_key_file": absolute(dkim.private_key_file)})
    resolved = settings.model_copy(
        update={
            "paths": paths,
            "database": database,
            "web": web,
            "dkim": dkim,
            "config_path": config_path,
        }
    )
    resolved._base_url_set = "base_url" in settings.newsroom.model_fields_set
    return resolved.served_at(web.host, web.port)


def _resolve_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(base / url[len(prefix) :])
    return url
