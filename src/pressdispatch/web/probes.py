"""For the operator's tooling: a health check and Prometheus metrics.

``/healthz`` answers 200 only after a query to the store succeeded, 503 otherwise.
``/metrics`` is the Prometheus text exposition format, version 0.0.4.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from pressdispatch.model import UNFINISHED, DeliveryStatus
from pressdispatch.web import feeds
from pressdispatch.web.deps import web_state

__all__ = ["CONTENT_TYPE", "FEED_FORMATS", "router"]

log = logging.getLogger(__name__)

router = APIRouter()

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FEED_FORMATS = ("atom", "rss", "opml")
_NO_STORE = {"Cache-Control": "no-store"}


@router.api_route("/healthz", methods=["GET", "HEAD"])
async def healthz(request: Request) -> Response:
    state = web_state(request)
    try:
        await state.runtime.catalog.next_publication(state.clock())
    except Exception:
        log.exception("health check: the store does not answer")
        return JSONResponse({"status": "unavailable"}, status_code=503, headers=_NO_STORE)
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


@router.api_route("/metrics", methods=["GET", "HEAD"])
async def metrics(request: Request) -> Response:
    state = web_state(request)
    try:
        counts = await state.runtime.ledger.counts()
        snapshot = await state.public.current()
    except Exception:
        log.exception("metrics: the store does not answer")
        return PlainTextResponse(
            "# the store does not answer\n", status_code=503, headers=_NO_STORE
        )
    by_status: dict[str, int] = dict.fromkeys(DeliveryStatus, 0)
    for group, count in counts.items():
        by_status[group.status] += count
    lines = [
        *_family(
            "pressdispatch_deliveries",
            "gauge",
            "Deliveries in the ledger, by status.",
            ((f'status="{status}"', count) for status, count in by_status.items()),
        ),
        *_family(
            "pressdispatch_queue_depth",
            "gauge",
            "Deliveries not yet done: queued, deferred or being sent.",
            [("", sum(by_status.get(status, 0) for status in UNFINISHED))],
        ),
        *_family(
            "pressdispatch_feed_requests_total",
            "counter",
            "Feed requests served since the process started, by format.",
            _by_format(feeds.FEED_REQUESTS),
        ),
        *_family(
            "pressdispatch_feed_not_modified_total",
            "counter",
            "Feed requests answered 304 Not Modified since the process started, by format.",
            _by_format(feeds.FEED_NOT_MODIFIED),
        ),
        *_family(
            "pressdispatch_feed_builds_total",
            "counter",
            "Feed documents built since the process started, by format (a 304 builds none).",
            _by_format(feeds.FEED_BUILDS),
        ),
        *_family(
            "pressdispatch_public_releases",
            "gauge",
            "Releases the public can see now.",
            [("", len(snapshot.releases))],
        ),
    ]
    return Response("\n".join(lines) + "\n", media_type=CONTENT_TYPE, headers=_NO_STORE)


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, int]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [
        f"{name}{{{labels}}} {value}" if labels else f"{name} {value}" for labels, value in samples
    ]
    return lines


def _by_format(counter: Mapping[str, int]) -> list[tuple[str, int]]:
    formats = [*FEED_FORMATS, *sorted(set(counter) - set(FEED_FORMATS))]
    return [(f'format="{_label(fmt)}"', int(counter.get(fmt, 0))) for fmt in formats]


def _label(value: str) -> str:
    """A label value as the exposition format writes it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
