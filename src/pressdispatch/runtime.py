"""The running parts, built once from Settings and the environment: store, renderer, transport.

``open_runtime`` builds them; the composition root (service.py) owns the result and
hands it to the pipeline, the press office's levers and the web app.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError

from pressdispatch.clock import Clock, utc_now
from pressdispatch.config import Settings
from pressdispatch.content.releases import ReleaseCache
from pressdispatch.content.topics import load_topic_names
from pressdispatch.credentials import Credentials
from pressdispatch.dispatch.engine import Engine, EngineSettings
from pressdispatch.dispatch.outbox import OutboxTransport
from pressdispatch.dispatch.transport import Transport
from pressdispatch.errors import PressDispatchError
from pressdispatch.model import DeliveryStatus, TopicNames
from pressdispatch.regions import RegionTree, load_regions
from pressdispatch.render import headers
from pressdispatch.render.email import EmailRenderer
from pressdispatch.store.catalog import Catalog
from pressdispatch.store.db import Database, open_database
from pressdispatch.store.embargo_views import EmbargoViews
from pressdispatch.store.journalists import Journalists
from pressdispatch.store.ledger import Ledger
from pressdispatch.store.migrate import upgrade
from pressdispatch.store.reports import Reports
from pressdispatch.store.returns import Returns
from pressdispatch.store.search import ReleaseSearch
from pressdispatch.store.workers import Workers
from pressdispatch.suppression import Rules
from pressdispatch.tokens import Signer
from pressdispatch.verp import ReturnPath


@dataclass
class Runtime:
    settings: Settings
    credentials: Credentials
    regions: RegionTree
    db: Database
    catalog: Catalog
    journalists: Journalists
    ledger: Ledger
    workers: Workers
    renderer: EmailRenderer
    transport: Transport  # the engine's, the test copies' and the confirmation emails'
    topics: TopicNames = field(default_factory=TopicNames)  # topics.toml, read at start
    releases: ReleaseCache = field(default_factory=ReleaseCache)  # parsed files, between scans

    def message_id(self, release_id: str, language: str, address: str) -> str:
        return headers.message_id(release_id, language, address, self._domain, self.renderer.signer)

    @functools.cached_property
    def embargo_views(self) -> EmbargoViews:
        """Who opened their embargoed links (web/embargoed.py, the console)."""
        return EmbargoViews(self.db)

    @functools.cached_property
    def search(self) -> ReleaseSearch:
        """Search of the public releases (web/search.py)."""
        return ReleaseSearch(self.db)

    @functools.cached_property
    def returns(self) -> Returns:
        """What came back after sending (bounces.py), under [bounces]'s rules."""
        b = self.settings.bounces
        rules = Rules(
            hard_days=b.hard_days,
            soft_limit=b.soft_limit,
            soft_decay=b.soft_decay,
            breaker_min_sent=b.breaker_min_sent,
            breaker_hard=b.breaker_hard,
            breaker_complaints=b.breaker_complaints,
        )
        return Returns(self.db, rules)

    @functools.cached_property
    def reports(self) -> Reports:
        """The distribution reports' figures and which went (reporting.py, reports.py)."""
        return Reports(self.db)

    @functools.cached_property
    def return_path(self) -> ReturnPath | None:
        b = self.settings.bounces
        return ReturnPath(b.return_path, b.delimiter) if b.enabled else None

    @functools.cached_property
    def _domain(self) -> str:
        return self.settings.newsroom.domain  # parsed from the From address: once

    def engine(
        self,
        *,
        kind: str = "service",
        clock: Clock = utc_now,
        on_result: Callable[[str, DeliveryStatus], None] | None = None,
    ) -> Engine:
        """The dispatch engine on this runtime's store and transport."""
        settings = dataclasses.replace(self.engine_settings(), kind=kind)
        return Engine(
            self.ledger,
            self.workers,
            self.catalog,
            self.transport,
            self.renderer,
            settings,
            clock=clock,
            on_result=on_result,
        )

    def engine_settings(self) -> EngineSettings:
        s = self.settings
        return EngineSettings(
            sender=s.newsroom.from_address,
            concurrency=s.smtp.connections,
            batch_size=s.scheduler.batch_size,
            lease=s.scheduler.lease,
            retry_initial=s.scheduler.retry_initial,
            retry_max=s.scheduler.retry_max,
            max_retry_age=s.smtp.max_retry_age,
            rate=s.smtp.overall_rate if s.transport.kind == "smtp" else 0,
            heartbeat=s.scheduler.heartbeat,
            return_path=self.return_path,
        )

    async def close(self) -> None:
        try:
            await self.transport.close()
        finally:
            await self.db.dispose()


def renderer_for(
    settings: Settings,
    regions: RegionTree,
    credentials: Credentials,
    topics: TopicNames | None = None,
) -> EmailRenderer:
    """The email renderer; without ``topics``, the names topics.toml gives now."""
    signer = Signer(credentials.signing_key)
    names = topics if topics is not None else load_topic_names(settings)
    return EmailRenderer(settings.newsroom, settings.paths.templates, signer, regions, names)


async def open_runtime(settings: Settings, *, transport: Transport | None = None) -> Runtime:
    """Migrate the database to the current schema, connect, and build every part once.

    ``transport`` replaces the configured one (a benchmark's counting wrapper, say).
    """
    credentials = Credentials.read(settings)
    await upgrade(settings.database.url)
    db = open_database(settings.database.url)
    regions = load_regions()
    topics = load_topic_names(settings)
    return Runtime(
        settings,
        credentials,
        regions,
        db,
        Catalog(db),
        Journalists(db),
        Ledger(db),
        Workers(db),
        renderer_for(settings, regions, credentials, topics),
        transport or make_transport(settings, credentials),
        topics,
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


def make_transport(settings: Settings, credentials: Credentials) -> Transport:
    # Each transport's library (aiosmtplib, dkimpy and its DNS resolver) is imported only
    # when configured: the commands that send nothing (feeds, status) start faster.
    transport: Transport
    if settings.transport.kind == "smtp" and settings.smtp.relays:
        from pressdispatch.dispatch.relays import relay_transport  # noqa: PLC0415

        transport = relay_transport(settings.smtp, credentials.relay_passwords)
    elif settings.transport.kind == "smtp":
        from pressdispatch.dispatch.smtp import SmtpTransport  # noqa: PLC0415

        transport = SmtpTransport(settings.smtp, credentials.smtp_password)
    else:
        transport = OutboxTransport(settings.paths.data / "outbox")
    if settings.dkim.enabled:
        from pressdispatch.dispatch.dkim import DkimSigner, SigningTransport  # noqa: PLC0415

        transport = SigningTransport(transport, DkimSigner(settings.dkim))
    return transport
