"""The composition root: every running part built once, and the ways to run them.

``Service.open`` reads the settings' secrets, migrates and opens the store, and
builds the renderer and the transport (runtime.py). Then one of:

- ``run``: the service. The scheduler scans the files (pipeline.tick) and wakes
  up at each send time; the engine sends; the newsroom web app serves, the
  inbound endpoint takes returned mail (``[bounces] listen``) and the mailbox of
  returned mail is polled (imap.py). Among several ``run`` processes on one
  database, only the one that leads (leadership.py) scans and polls; all send and
  serve. Without the scheduler, the web app, the endpoint and the poller, it is
  a ``worker``.
- ``run_once``: one scan, then send what is due now, and stop.
- ``serve_web``: the web app alone, with a scan of the files now and then.

A scan of ``run`` and ``run_once`` first polls the press office's feeds and
sitemaps that are due (polling.py), so that what they bring is taken in at once.

The command line calls these and prints; the web app and the press office's
levers get the parts (``Runtime``) from here, never building their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pressdispatch import pipeline, reports
from pressdispatch.clock import Clock, utc_now
from pressdispatch.config import Settings, local_url
from pressdispatch.dispatch.engine import Engine, RunStats
from pressdispatch.dispatch.transport import Transport
from pressdispatch.leadership import Leadership
from pressdispatch.model import DeliveryStatus
from pressdispatch.runtime import Runtime, open_runtime

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["OnceReport", "Service", "scan_and_send"]

log = logging.getLogger("pressdispatch")


@dataclass
class OnceReport:
    """What `run --once` did: the scan's report, the engine's outcomes, why it stopped."""

    scan: pipeline.TickReport
    stats: RunStats
    stopped: str | None  # the transport cannot work as configured: why


class Service:
    def __init__(self, rt: Runtime, *, clock: Clock = utc_now) -> None:
        self.rt = rt
        self.settings = rt.settings
        self.clock = clock

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Clock = utc_now, transport: Transport | None = None
    ) -> Service:
        return cls(await open_runtime(settings, transport=transport), clock=clock)

    async def close(self) -> None:
        await self.rt.close()

    async def run(
        self,
        stop: asyncio.Event,
        *,
        worker: bool = False,
        listening: Sequence[socket.socket] = (),
        inbound: Sequence[socket.socket] = (),
    ) -> RunStats:
        """Until ``stop``: scan and send on time, serve the newsroom on ``listening`` and
        take returned mail on ``inbound`` (web/server.py ``listen``), or (``worker``) only
        send what others queued."""
        rt, settings = self.rt, self.settings
        if not worker and not listening:
            raise ValueError("the service serves the newsroom: pass the sockets it listens on")
        if not worker and settings.bounces.listen_at and not inbound:
            raise ValueError("[bounces] listen is set: pass the sockets it listens on")
        engine = rt.engine(kind="worker" if worker else "service", clock=self.clock)
        if worker:
            log.info("pressdispatch worker started (%s transport)", settings.transport.kind)
            return await engine.run(stop)
        # The service's own parts, imported as it starts (see web_app): the scheduler
        # (APScheduler), the mailbox of returned mail (imap_tools), the web app's server
        # and the inbound endpoint. The commands that run once never load them.
        from pressdispatch import imap  # noqa: PLC0415
        from pressdispatch.schedule import Scheduler  # noqa: PLC0415
        from pressdispatch.web.inbound import serve_returns  # noqa: PLC0415
        from pressdispatch.web.server import serve_web  # noqa: PLC0415

        async def scan() -> datetime | None:
            if not leadership.leading:
                return None  # another `run` process scans; no timers kept here
            await self._poll_sources()  # a new folder is taken in by this scan
            # The next timer counts from the scan's own time: a send time reached while
            # the scan ran is still ahead of it, so its timer is set (in the past: it runs
            # at once) instead of being skipped until a later timer.
            now = self.clock()
            report = await pipeline.tick(rt, now, stop)
            await self._forget_returned()
            pipeline.log_problems(report)
            for due in report.late:
                log.warning(
                    "%s is overdue (%s copy): start it with `pressdispatch send %s`",
                    due.release_id,
                    due.tier.value,
                    due.release_id,
                )
            engine.wakeup.set()
            await reports.send_due(rt, self.clock())  # of tiers that finished since
            return await rt.catalog.next_time(now)

        scheduler = Scheduler(scan, settings.scheduler.scan_interval, self.clock)
        leadership = Leadership(
            rt.db, every=settings.scheduler.heartbeat, on_lead=scheduler.scan_now
        )
        scheduler.start()
        mailbox = asyncio.create_task(
            imap.keep_polling(rt, stop, self.clock, lambda: leadership.leading)
        )
        leading = asyncio.create_task(self._lead(leadership, engine, stop))
        log.info("pressdispatch service started (%s transport)", settings.transport.kind)
        returns: asyncio.Task[None] | None = None
        try:
            if inbound:
                returns = asyncio.create_task(serve_returns(rt, inbound, stop, clock=self.clock))
            web = asyncio.create_task(serve_web(self.web_app(), listening, stop))
            self._announce()
            stats = await engine.run(stop)
            await web
            if returns is not None:
                await returns
        finally:
            if returns is not None and not returns.done():
                returns.cancel()  # the engine failed: no more mail taken in
            mailbox.cancel()  # a poll cut short is read again at the next start
            await asyncio.gather(mailbox, return_exceptions=True)
            await scheduler.shutdown()
            leading.cancel()  # the engine failed, or stopped: the lead goes too
            await asyncio.gather(leading, return_exceptions=True)
        return stats

    @staticmethod
    async def _lead(leadership: Leadership, engine: Engine, stop: asyncio.Event) -> None:
        """Compete for the scheduler's lock under the engine's worker id, so that
        `status` names the process that leads among the workers."""
        joined = asyncio.create_task(engine.holdings.joined.wait())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait((joined, stopped), return_when=asyncio.FIRST_COMPLETED)
        for task in (joined, stopped):
            task.cancel()
        if engine.holdings.joined.is_set():
            await leadership.keep(engine.holdings.worker_id, stop)

    async def run_once(
        self,
        stop: asyncio.Event,
        *,
        on_scan: Callable[[pipeline.TickReport], Awaitable[None]] | None = None,
        on_result: Callable[[str, DeliveryStatus], None] | None = None,
    ) -> OnceReport:
        """One scan, then send what is due now (:func:`scan_and_send`). ``on_scan`` sees
        the scan's report once everything due is queued, and says its problems (without
        it they are logged); ``on_result`` hears of each delivery once, at its first
        outcome."""
        await self._poll_sources()

        async def scanned(report: pipeline.TickReport) -> None:
            await self._forget_returned()
            if on_scan is not None:
                await on_scan(report)
            else:
                pipeline.log_problems(report)

        engine = self.rt.engine(kind="once", clock=self.clock, on_result=on_result)
        report, stats = await scan_and_send(self.rt, engine, self.clock(), stop, scanned)
        if not stop.is_set():
            await reports.send_due(self.rt, self.clock())  # of tiers that finished
        return OnceReport(report, stats, engine.problem)

    async def serve_web(self, stop: asyncio.Event, listening: Sequence[socket.socket]) -> None:
        """Until ``stop``: the newsroom web app alone on ``listening`` (web/server.py
        ``listen``), reflecting the files (no sending)."""

        async def keep_in_sync() -> None:
            while not stop.is_set():
                report = pipeline.TickReport()
                try:
                    await pipeline.sync_files(self.rt, self.clock(), report, stop=stop)
                    pipeline.log_problems(report)
                except Exception:
                    log.exception("could not sync the files into the store")
                with contextlib.suppress(TimeoutError):
                    interval = self.settings.scheduler.scan_interval.total_seconds()
                    await asyncio.wait_for(stop.wait(), interval)

        from pressdispatch.web.server import serve_web  # noqa: PLC0415 - see web_app

        syncing = asyncio.create_task(keep_in_sync())
        self._announce()
        try:
            await serve_web(self.web_app(), listening, stop)
        finally:
            stop.set()
            await syncing

    async def _poll_sources(self) -> None:
        """Poll the press office's feeds and sitemaps that are due (polling.py). Without
        ``[[sources]]`` there is nothing to poll, and the poller (its HTTP client, the page
        readers) is not even imported."""
        if self.settings.sources:
            from pressdispatch import polling  # noqa: PLC0415

            await polling.poll_due(self.rt, self.clock)

    async def _forget_returned(self) -> None:
        """Empty the returned messages kept longer than [bounces] keep_messages (their
        lines in the list of returns stay)."""
        try:
            await self.rt.returns.forget_messages(
                self.clock() - self.settings.bounces.keep_messages
            )
        except Exception:  # housekeeping: the next scan tries again
            log.exception("could not empty the old returned messages")

    def _announce(self) -> None:
        # The settings are served_at where the commands listen (cli/dispatch.py).
        served = local_url(self.settings.web.host, self.settings.web.port)
        public = self.settings.newsroom.base_url
        links = "" if public == served else f" (links: {public})"
        log.info("newsroom at %s/%s", served, links)

    def web_app(self) -> FastAPI:
        # Imported here, as the servers above: the web app (FastAPI, the pages, the console)
        # is a fifth of a second to import, which the commands that serve nothing skip.
        from pressdispatch.web.app import create_app  # noqa: PLC0415

        return create_app(self.rt, clock=self.clock)


async def scan_and_send(
    rt: Runtime,
    engine: Engine,
    now: datetime,
    stop: asyncio.Event,
    scanned: Callable[[pipeline.TickReport], Awaitable[None]] | None = None,
) -> tuple[pipeline.TickReport, RunStats]:
    """`run --once`: sync the files, queue what is due at ``now``, and send it all.

    Sending starts with the first chunk queued, while the rest of the plan is made, as
    the long-running service does: the press office's first journalists do not wait
    for the 100,000th to be matched. Each chunk is in the ledger before it can be
    claimed, and planning again after a crash skips whoever is there already.
    ``scanned`` sees the report once the plan is made. If planning fails, sending
    stops (what it holds is given back) and the error is raised.
    """
    report = pipeline.TickReport()
    await pipeline.sync_files(rt, now, report, stop=stop)
    halt, planning = asyncio.Event(), asyncio.Event()
    relay = asyncio.create_task(_mirror(stop, halt))
    sending = asyncio.create_task(engine.run(halt, until_idle=True, planning=planning))
    try:
        if not stop.is_set():
            await pipeline.start_due(rt, now, report, on_queued=engine.wakeup.set)
        planning.set()
        engine.wakeup.set()
        if scanned is not None:
            await scanned(report)
        return report, await sending
    except BaseException:
        halt.set()
        planning.set()
        await asyncio.gather(sending, return_exceptions=True)
        raise
    finally:
        relay.cancel()


async def _mirror(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
