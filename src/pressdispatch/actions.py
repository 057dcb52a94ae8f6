"""The press office's levers, shared by the command line and the console.

Each function checks what the office asked for and does it, or raises ``Refused``
with a stable reason (the console shows a fixed text per reason, the command line
the message), so both say no to the same things.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pressdispatch import pipeline
from pressdispatch.config import NewsroomSection, Settings
from pressdispatch.content.journalists import Wrong, check_address
from pressdispatch.dispatch.transport import Envelope
from pressdispatch.errors import PressDispatchError, Refused
from pressdispatch.model import Release, ReleaseStatus, Tier, Variant
from pressdispatch.render.email import EmailRenderer, Recipient
from pressdispatch.runtime import Runtime
from pressdispatch.status import ReleaseReport, published, report
from pressdispatch.store.catalog import ReleaseRecord, Withdrawn
from pressdispatch.vocabulary import normalize_language

MAX_REASON = 1000  # characters: a sentence or two, shown on the page and in the notice


async def request_send(rt: Runtime, release_id: str, now: datetime) -> bool:
    """Start a release whose time has come but which was not sent (late, or missed), or
    resume one the circuit breaker paused (True then)."""
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
    resumed = await rt.returns.resume(release_id)
    await rt.catalog.request_send(release_id, now)
    return resumed


async def cancel(rt: Runtime, release_id: str, now: datetime) -> int:
    """Stop everything not yet sent; how many deliveries stopped.

    What was sent stays sent, and a release already on the newsroom stays there: taking
    it off is ``withdraw``. A release that has gone out in full has nothing to cancel.
    """
    row, r = await _state(rt, release_id, now, sync=True)
    if r.state == "withdrawn":
        raise Refused("withdrawn", _withdrawn_already(rt.settings.newsroom, row))
    if r.state == "done":
        raise Refused(
            "done",
            f"{release_id} has gone out in full: nothing to cancel (to take it off the "
            f'newsroom: pressdispatch withdraw {release_id} --reason "...")',
        )
    return await rt.catalog.cancel(release_id, now)


async def check_withdraw(rt: Runtime, release_id: str, reason: str, now: datetime) -> str:
    """Refuse what ``withdraw`` would refuse, changing nothing; the reason as it is kept."""
    reason = " ".join(reason.split())
    if not reason:
        raise Refused("no-reason", "say why it is withdrawn: the reason is shown on its page")
    if len(reason) > MAX_REASON:
        raise Refused("long-reason", f"the reason is longer than {MAX_REASON} characters")
    row, r = await _state(rt, release_id, now, sync=False)
    if r.state == "withdrawn":
        raise Refused("withdrawn", _withdrawn_already(rt.settings.newsroom, row))
    if not published(row, r.by_status, now):
        raise Refused(
            "not-published",
            f"{release_id} is {r.state}: it is not on the newsroom, so there is nothing to "
            f"withdraw (to stop it: pressdispatch cancel {release_id})",
        )
    return reason


async def withdraw(
    rt: Runtime, release_id: str, reason: str, now: datetime, *, notify: bool
) -> Withdrawn:
    """Take a published release off the newsroom (its pages answer 410 Gone with
    ``reason``) and stop what is unsent; with ``notify``, queue a short notice to every
    journalist who received it, which the engine sends once each."""
    reason = await check_withdraw(rt, release_id, reason, now)
    notices = _notice_id(rt) if notify else None
    done = await rt.catalog.withdraw(release_id, reason, now, notify=notices)
    if done is None:  # withdrawn by someone else meanwhile
        row = (await rt.catalog.rows(release_id))[0]
        raise Refused("withdrawn", _withdrawn_already(rt.settings.newsroom, row))
    return done


def _notice_id(rt: Runtime) -> Callable[[str, str, str], str]:
    """Message-IDs for withdrawal notices: like the release's, never the same."""
    return lambda release_id, language, address: rt.message_id(
        f"{release_id}.withdrawn", language, address
    )


async def _state(
    rt: Runtime, release_id: str, now: datetime, *, sync: bool
) -> tuple[ReleaseRecord, ReleaseReport]:
    rows = await rt.catalog.rows(release_id)
    if not rows and sync:
        await pipeline.sync_files(rt, now, pipeline.TickReport(), lists=False)  # written just now
        rows = await rt.catalog.rows(release_id)
    if not rows:
        raise Refused("unknown", f"no release {release_id!r}")
    counts = await rt.ledger.counts(release_id)
    return rows[0], report(rows[0], counts, (), now, rt.settings.scheduler.max_lateness)


def _withdrawn_already(newsroom: NewsroomSection, row: ReleaseRecord) -> str:
    assert row.withdrawn_at is not None
    local = row.withdrawn_at.astimezone(newsroom.zone)
    return (
        f"{row.id} was withdrawn already, on {local:%Y-%m-%d %H:%M} {local.tzname()} "
        f"({row.withdrawal_reason})"
    )


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
