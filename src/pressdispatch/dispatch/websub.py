"""WebSub: tell a hub that feeds changed, so subscribed readers learn of a release at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["PING_BATCH", "ping_hub"]

log = logging.getLogger(__name__)

PING_BATCH = 100  # hub.url values per request


async def ping_hub(
    hub: str,
    topic_urls: list[str],
    *,
    client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> int:
    """Tell a WebSub hub that these feeds changed; returns how many URLs it accepted.

    A form POST of ``hub.mode=publish`` with one ``hub.url`` per feed, in
    batches of :data:`PING_BATCH`. Failures are logged, never raised: a hub
    that is down must not hold up a publication. Call it when a release
    becomes public, with :func:`pressdispatch.render.feeds.feed_urls_for`.
    """
    if not hub or not topic_urls:
        return 0
    # Imported here: the scans of a newsroom without a hub, and `feeds --out`, never load
    # the HTTP client.
    import httpx  # noqa: PLC0415

    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout)
    accepted = 0
    try:
        for start in range(0, len(topic_urls), PING_BATCH):
            batch = topic_urls[start : start + PING_BATCH]
            form = {"hub.mode": "publish", "hub.url": batch}
            try:
                response = await http.post(hub, data=form)
            except httpx.HTTPError as exc:
                log.warning("WebSub hub %s: ping failed: %s", hub, exc)
                continue
            if response.is_success:
                accepted += len(batch)
            else:
                log.warning(
                    "WebSub hub %s: ping refused: %s %s",
                    hub,
                    response.status_code,
                    response.text[:200],
                )
    except Exception:  # never raise into the scheduler
        log.exception("WebSub hub %s: ping failed", hub)
    finally:
        if own:
            await http.aclose()
    return accepted
