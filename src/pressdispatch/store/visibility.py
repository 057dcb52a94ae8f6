"""Which releases the newsroom may show: one rule for pages, feeds, the API and search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_

from pressdispatch.model import ReleaseStatus
from pressdispatch.store.schema import releases

__all__ = ["on_file", "public_at", "readable"]


def on_file() -> tuple[Any, ...]:
    """A release the newsroom may show: ready, its text on file or frozen, not withdrawn."""
    r = releases.c
    return (
        r.status == ReleaseStatus.READY.value,
        r.withdrawn_at.is_(None),
        or_(r.present.is_(True), r.frozen_hash.is_not(None)),
    )


def readable() -> tuple[Any, ...]:
    """What makes a release readable under embargo by a cleared journalist's link: a
    release cancelled before its publication closes them."""
    return (*on_file(), releases.c.cancelled_at.is_(None))


def public_at(now: datetime) -> tuple[Any, ...]:
    """What makes a release public at ``now``: the one rule pages, feeds and the API share.

    Cancelling never unpublishes: a release cancelled once its public copies started, or
    after its publication time, stays public. One cancelled before it was published (even
    with its embargoed copies sent) is not published. Only a withdrawal takes a release off.
    """
    r = releases.c
    return (
        *on_file(),
        r.publish_at <= now,
        or_(
            r.cancelled_at.is_(None),
            r.public_started_at.is_not(None),
            r.cancelled_at >= r.publish_at,
        ),
    )
