"""Build the running parts from Settings: store, renderer, transport. Used by the CLI."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError

from pressdispatch.clock import Clock, utc_now
from pressdispatch.config import Settings
from pressdispatch.content.releases import ReleaseCache
from pressdispatch.dispatch.dkim import DkimSigner, SigningTransport
from pressdispatch.dispatch.engine import Engine, EngineSettings
from pressdispatch.dispatch.outbox import OutboxTransport
from pressdispatch.dispatch.smtp import SmtpTransport
from pressdispatch.dispatch.transport import Transport
from pressdispatch.errors import PressDispatchError
from pressdispatch.regions import RegionTree, load_regions
from pressdispatch.render import headers
from pressdispatch.render.email import EmailRenderer
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.db import Database, open_database
from pressdispatch.store.directory import Directory
from pressdispatch.store.ledger import Ledger
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.workers import Workers
from pressdispatch.tokens import Signer, load_signing_key


@dataclass
class Runtime:
    settings: Settings
    regions: RegionTree
    db: Database
    catalog: Catalog
    directory: Directory
    ledger: Ledger
    workers: Workers
    renderer: EmailRenderer
    releases: ReleaseCache = field(default_factory=ReleaseCache)  # parsed files, between scans

    def message_id(self, release_id: str, language: str, address: str) -> str:
        return headers.message_id(release_id, language, address, self._domain)

    @functools.cached_property
    def _domain(self) -> str:
        return self.settings.newsroom.domain  # parsed from the From address: once

    def engine(
        self,
        transport: Transport,
        *,
        kind: str = "service",
        clock: Clock = utc_now,
        on_result: Callable[[str, str], None] | None = None,
    ) -> Engine:
        """The dispatch engine on this runtime's store, sending through ``transport``."""
        settings = dataclasses.replace(self.engine_settings(), kind=kind)
        return Engine(
            self.ledger,
            self.workers,
            self.catalog,
            transport,
            self.renderer,
            settings,
            clock=clock,
            on_result=on_result,
        )

    def engine_settings(self) -> EngineSettings:
        s = self.settings
        return EngineSettings(
            sender=s.newsroom.from_address,
            concurrency=s.smtp.concurrency,
            batch_size=s.scheduler.batch_size,
            lease=s.scheduler.lease,
            retry_initial=s.scheduler.retry_initial,
            retry_max=s.scheduler.retry_max,
            max_retry_age=s.smtp.max_retry_age,
            rate=s.smtp.rate if s.transport.kind == "smtp" else 0,
            heartbeat=s.scheduler.heartbeat,
        )

    async def close(self) -> None:
        await self.db.dispose()


def renderer_for(settings: Settings, regions: RegionTree) -> EmailRenderer:
    key = load_signing_key(settings.secret(settings.web.signing_key_env), settings.paths.data)
    return EmailRenderer(settings.newsroom, settings.paths.templates, Signer(key), regions)


async def open_runtime(settings: Settings) -> Runtime:
    """Migrate the database to the current schema, then connect."""
    await upgrade(settings.database.url)
    db = open_database(settings.database.url)
    regions = load_regions()
    return Runtime(
        settings,
        regions,
        db,
        Catalog(db),
        Directory(db),
        Ledger(db),
        Workers(db),
        renderer_for(settings, regions),
    )


def database_error(settings: Settings, exc: BaseException) -> str:
    """One line for a database error: which setting, and what the driver said.

    A value the database refused (a NUL byte in a text column, say) is a problem with
    the data, not with ``database.url``: the database was reached and answered.
    """
    if isinstance(exc, PressDispatchError):
        return str(exc)
    reason = driver_reason(exc)
    if isinstance(exc, DataError | IntegrityError):
        return f"the database refused a value ({reason}); database.url is fine"
    return f"database.url: cannot open {settings.database.url!r}: {reason}"


def driver_reason(exc: BaseException) -> str:
    """The first line of what the database driver said."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def make_transport(settings: Settings) -> Transport:
    transport: Transport
    if settings.transport.kind == "smtp":
        password = settings.secret(settings.smtp.password_env)
        transport = SmtpTransport(settings.smtp, password)
    else:
        transport = OutboxTransport(settings.paths.data / "outbox")
    if settings.dkim.enabled:
        transport = SigningTransport(transport, DkimSigner(settings.dkim))
    return transport
