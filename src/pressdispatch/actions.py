"""The press office's levers, shared by the command line and the console.

Each function checks what the office asked for and does it, or raises ``Refused``
with a stable reason (the console shows a fixed text per reason, the command line
the message), so both say no to the same things.
"""

from __future__ import annotations

from datetime import datetime

from pressdispatch import pipeline
from pressdispatch.config import Settings
from pressdispatch.content.journalists import Wrong, check_address
from pressdispatch.dispatch.transport import Envelope
from pressdispatch.errors import PressDispatchError, Refused
from pressdispatch.model import Release, ReleaseStatus, Tier, Variant
from pressdispatch.render.email import EmailRenderer, Recipient
from pressdispatch.runtime import Runtime
from pressdispatch.vocabulary import normalize_language


async def request_send(rt: Runtime, release_id: str, now: datetime) -> None:
    """Start a release whose time has come but which was not sent (late, or missed)."""
    await pipeline.sync_files(rt, now, pipeline.TickReport(), lists=False)
    rows = await rt.catalog.rows(release_id)
    if not rows:
        raise Refused("unknown", f"no release {release_id!r}")
    row = rows[0]
    if row.cancelled_at is not None or row.status is not ReleaseStatus.READY:
        state = "cancelled" if row.cancelled_at is not None else row.status
        raise Refused("not-ready", f"{release_id} is {state}")
    if not row.present and row.frozen_hash is None:
        raise Refused(
            "missing", f"{release_id}: its files are missing or broken (see `pressdispatch check`)"
        )
    first = row.embargo_send_at or row.publish_at
    if first > now:
        raise Refused(
            "not-due",
            f"{release_id} is scheduled for {first.isoformat()}: it starts by itself then "
            "(edit publish_at to send it earlier)",
        )
    await rt.catalog.request_send(release_id, now)


async def cancel(rt: Runtime, release_id: str, now: datetime) -> int:
    """Stop everything not yet sent (what was sent stays sent); how many deliveries stopped."""
    if not await rt.catalog.rows(release_id):
        await pipeline.sync_files(rt, now, pipeline.TickReport(), lists=False)  # written just now
        if not await rt.catalog.rows(release_id):
            raise Refused("unknown", f"no release {release_id!r}")
    return await rt.catalog.cancel(release_id, now)


async def retry(rt: Runtime, release_id: str, now: datetime) -> int:
    """Failed and deferred deliveries back in the queue, due now; how many."""
    if not await rt.catalog.rows(release_id):
        raise Refused("unknown", f"no release {release_id!r}")
    return await rt.ledger.retry(release_id, now)


def test_copy(
    settings: Settings,
    renderer: EmailRenderer,
    release: Release,
    to: str,
    lang: str | None,
    *,
    embargo: bool,
    now: datetime,
) -> Envelope:
    """One copy of ``release`` for ``to``, outside the ledger (it does not count as sent),
    marked as a test in its subject and at the top of its body."""
    address = check_address(to)  # as any journalist's address is checked
    if isinstance(address, Wrong):
        raise Refused("bad-address", address.message)
    try:
        language = normalize_language(lang) if lang else release.original_language
    except PressDispatchError as exc:
        raise Refused("bad-language", str(exc)) from None
    if language not in release.translations:
        raise Refused("no-language", f"{release.id} has no {language!r} version")
    if embargo and release.embargo_send_at is None:
        raise Refused("no-embargo", f"{release.id} has no embargoed copy")
    prepared = renderer.prepare_test(
        release, Variant(language, Tier.EMBARGOED if embargo else Tier.PUBLIC)
    )
    message = prepared.personalise(Recipient(address), date=now)
    sender = settings.newsroom.from_address
    return Envelope(sender, address, message, prepared.message_id(address), "send-test")
